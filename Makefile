# One entry point for people and CI. Everything it needs is installed into .venv by itself.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install run test lint typecheck template-lint template-scan sam-check deploy-local bench soak soak-profile clean

# aws-sam-cli pins its own versions of boto3, cfn-lint, pydantic... so it lives in a venv of its own.
SAM_CLI_VERSION := 1.170.0
SAM_VENV        := .venv-sam
SAM_STAMP       := $(SAM_VENV)/.installed-$(SAM_CLI_VERSION)
SAM             := SAM_CLI_TELEMETRY=0 AWS_DEFAULT_REGION=us-east-1 $(SAM_VENV)/bin/sam

# checkov (the security scanner operators run on templates) pins networkx, boto3, pydantic... of its own: its own venv.
CHECKOV_VERSION := 3.3.30
CHECKOV_VENV    := .venv-checkov
CHECKOV_STAMP   := $(CHECKOV_VENV)/.installed-$(CHECKOV_VERSION)

# MiniStack, the AWS emulator `make deploy-local` deploys the built template onto (no Docker: Python Lambdas run
# as its subprocesses, with this venv's python3.11). aws-sam-translator does the SAM transform for its
# CloudFormation; boto3 is what the Lambda runtime provides to functions (the layer does not ship it).
MINISTACK_VERSION := 1.5.33
MINISTACK_VENV    := .venv-ministack
MINISTACK_STAMP   := $(MINISTACK_VENV)/.installed-$(MINISTACK_VERSION)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev,bench]'
	touch $(STAMP)

# axe-core, which the console's browser tests run in the page (tests/browser/accessibility.py): from the npm
# registry as package-lock.json pins it, with the machine's npm (Debian's, installed here as root when missing).
NODE_STAMP := node_modules/.installed

$(NODE_STAMP): package.json package-lock.json
	@command -v npm >/dev/null 2>&1 \
	  || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 \
	       && apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm >/dev/null; } \
	  || { echo "make install needs npm for axe-core (the browser tests' accessibility checks): apt-get install -y npm" >&2; exit 1; }
	npm ci --no-audit --no-fund --silent
	touch $(NODE_STAMP)

install: $(STAMP) $(NODE_STAMP)

$(SAM_STAMP):
	rm -rf $(SAM_VENV)
	$(PYTHON) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/pip install --quiet --upgrade pip
	$(SAM_VENV)/bin/pip install --quiet 'aws-sam-cli==$(SAM_CLI_VERSION)'
	touch $(SAM_STAMP)

$(CHECKOV_STAMP):
	rm -rf $(CHECKOV_VENV)
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install --quiet --upgrade pip
	$(CHECKOV_VENV)/bin/pip install --quiet 'checkov==$(CHECKOV_VERSION)'
	touch $(CHECKOV_STAMP)

$(MINISTACK_STAMP):
	rm -rf $(MINISTACK_VENV)
	$(PYTHON) -m venv $(MINISTACK_VENV)
	$(MINISTACK_VENV)/bin/pip install --quiet --upgrade pip
	$(MINISTACK_VENV)/bin/pip install --quiet 'ministack==$(MINISTACK_VERSION)' 'aws-sam-translator==1.115.0' \
	  'boto3==1.43.106'
	touch $(MINISTACK_STAMP)

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

# checkov on template.yaml, offline: every finding is fixed or skipped in the template itself with its reason
# (Metadata: checkov: skip), so any new failure fails the build. checkov exits 0 on a template it cannot parse,
# so that is refused here.
template-scan: $(CHECKOV_STAMP)
	@out=$$($(CHECKOV_VENV)/bin/checkov --quiet --compact --skip-download --framework cloudformation \
	    --file template.yaml 2>&1); status=$$?; echo "$$out"; \
	  if echo "$$out" | grep -q "Parsing errors"; then echo "checkov could not parse template.yaml" >&2; exit 1; fi; \
	  exit $$status

# `sam validate --lint` (SAM's own cfn-lint run on the transformed template) and `sam build` with the local
# python3.11 (no container): the layer is built from layers/common/requirements.txt, fetched from PyPI.
sam-check: $(SAM_STAMP)
	$(SAM) validate --lint --template template.yaml
	$(SAM) build --template template.yaml --build-dir .aws-sam/build

# `sam deploy` of the built template onto MiniStack on a free port of 127.0.0.1, then the README walk-through
# against the deployed stack through `oms-webhooks --stack-name` (tests/deploy). Stops what it starts.
deploy-local: $(STAMP) sam-check $(MINISTACK_STAMP)
	OMS_WEBHOOKS_DEPLOY_TESTS=required $(BIN)/pytest -q -m deploy tests/deploy

test: $(NODE_STAMP) lint typecheck template-lint template-scan sam-check $(MINISTACK_STAMP)
# Two pytest processes (pytest-xdist), each module's tests in one of them (--dist loadscope: a module's fixtures, and
# the order its tests rely on, stay together); each process starts its own moto, local stack and browser, on free
# ports. Much of a test's time is waiting (receivers, queues, polls), so two overlap well even on two busy cores.
# Modules are handed out in collection order (--no-loadscope-reorder), not largest first: each process then runs a
# suite's modules one after another, so the browser suite's stack and Chromium start once per process, and the
# small unit modules come last, evening out the two processes' ends.
# --durations lists the slowest twenty, to keep the run under 20 minutes.
	OMS_WEBHOOKS_DEPLOY_TESTS=required $(BIN)/pytest -q -n 2 --dist loadscope --no-loadscope-reorder --durations=20

soak: $(STAMP)  ## load test: 50 events/s to 20 hooks for 60 s on a local stack, every delivery counted
	$(BIN)/python -m tests.load.soak

.PHONY: test-under-load
test-under-load:  ## make test on a fresh clone of HEAD while two CPU hogs keep both cores busy (about 22 min)
	tests/load/under_load.sh

.PHONY: soak-profile
soak-profile: $(STAMP)  ## where a soak's time goes: CPU per process, and py-spy's top functions of the stack and moto
	$(BIN)/python -m tests.load.profile --rate 50 --hooks 20 --seconds 30

.PHONY: soak-backlog
soak-backlog: $(STAMP)  ## a day of the local stack, compressed: dead hooks' retries pending, a fresh fan-out timed, memory and CPU of every process, then make soak's stream
	$(BIN)/python -m tests.load.backlog --dead-hooks 200 --events 25 --soak-seconds 60

bench: $(STAMP) $(SAM_STAMP)  ## the benchmark suite: a table, bench/RESULTS.md and bench/fanout.png (several minutes)
	$(BIN)/python -m bench.run

clean:
	rm -rf node_modules $(VENV) $(SAM_VENV) $(CHECKOV_VENV) $(MINISTACK_VENV) .pytest_cache .mypy_cache .ruff_cache .aws-sam

.PHONY: openapi
openapi: $(STAMP)  ## regenerate docs/openapi.json from the API's routes and models
	$(BIN)/python -m oms_webhooks_cli.openapi > docs/openapi.json.tmp && mv docs/openapi.json.tmp docs/openapi.json

.PHONY: events
events: $(STAMP)  ## rewrite events/api and events/authorizer from tests/events.py (a test fails when they differ)
	$(BIN)/python -m tests.events

# ---- Delivery console (issue 13): the browser its tests drive, and the screenshots in the README.
# Debian's chromium, driven by Playwright through executable_path: no browser is downloaded. `make test` runs
# this first; on a machine where it cannot install (not root, not Debian) it stops with one line saying what to do.
.PHONY: install-browser screenshots
test: install-browser

install-browser:
	@command -v chromium >/dev/null 2>&1 \
	  || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 \
	       && apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } \
	  || { echo "make test needs Chromium for the console's browser tests: install Debian's 'chromium' package (apt-get install -y chromium) and run again" >&2; exit 1; }

screenshots: $(STAMP) $(NODE_STAMP) install-browser  ## PNGs of each console page at 1280 and 390 px, from the browser tests
	rm -f docs/screenshots/*.png
	CONSOLE_SCREENSHOTS=docs/screenshots $(BIN)/pytest -q tests/browser
