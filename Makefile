# One entry point for people and CI. Everything it needs is installed into .venv by itself.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install run test lint typecheck template-lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev,bench]'
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

bench: $(STAMP)  ## the benchmark suite: a table, bench/RESULTS.md and bench/fanout.png (several minutes)
	$(BIN)/python -m bench.run

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .aws-sam

.PHONY: openapi
openapi: $(STAMP)  ## regenerate docs/openapi.json from the API's routes and models
	$(BIN)/python -m oms_webhooks_cli.openapi > docs/openapi.json.tmp && mv docs/openapi.json.tmp docs/openapi.json
