# One entry point for people and CI. Everything it needs is installed into .venv by itself.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install run test lint typecheck template-lint unit clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)  ## start the local stack (moto on :4566, API on :3000)
	$(BIN)/oms-webhooks local

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy
	for fn in functions/*/; do $(BIN)/mypy --config-file pyproject.toml $$fn/app.py || exit 1; done

template-lint: $(STAMP)
	$(BIN)/cfn-lint template.yaml

test: lint typecheck template-lint
	$(BIN)/pytest -q

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .aws-sam
