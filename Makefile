# Comptoir — `make help` lists the targets.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
FLASK := $(BIN)/flask --app store_api
export PIP_DISABLE_PIP_VERSION_CHECK := 1
# Processes print as they go (honcho and systemd read pipes, which Python would buffer).
export PYTHONUNBUFFERED := 1
# Exact versions and hashes of every dependency, from pyproject.toml (make lock).
LOCK := requirements.lock
DEV_LOCK := requirements-dev.lock
LOCK_FLAGS := --universal --python-version 3.11 --generate-hashes --quiet --custom-compile-command 'make lock'
# Procfile processes that belong to the demo shop only: make run-shop leaves them out.
DEMO_PROCESSES := simulator
SHOP_PROCESSES := $(filter-out $(DEMO_PROCESSES),$(shell sed -n 's/^\([A-Za-z0-9_-]*\):.*/\1/p' Procfile))
# honcho reads .env (ENV_FILE) and lets it override the environment.
ENV_FILE ?= .env
HONCHO := PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/honcho start -f Procfile -e $(ENV_FILE)

.DEFAULT_GOAL := help

.PHONY: help
help: ## List the targets
	@grep -E '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  \033[36m%-14s\033[0m %s\n", $$1, $$2}'

$(STAMP): pyproject.toml $(LOCK) $(DEV_LOCK)
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "Python 3.11+ is needed (found $$($(PYTHON) --version))"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --require-hashes -r $(DEV_LOCK)
	$(BIN)/python -m pip install --quiet --no-deps -e .
	$(BIN)/python scripts/check_lock.py
	touch $(STAMP)

.PHONY: install
install: $(STAMP) ## Create the virtual environment and install the locked dependencies, Comptoir and its dev tools

.PHONY: lock
lock: ## Update the lock files from pyproject.toml, keeping the other pins (UPGRADE=1: newest of everything)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet "$$(grep -m1 -o '^uv==[^ ;]*' $(DEV_LOCK) 2>/dev/null || echo uv)"
	$(BIN)/uv pip compile pyproject.toml $(LOCK_FLAGS) $(if $(UPGRADE),--upgrade) -o $(LOCK)
	$(BIN)/uv pip compile pyproject.toml --extra dev --constraint $(LOCK) $(LOCK_FLAGS) $(if $(UPGRADE),--upgrade) -o $(DEV_LOCK)
	@echo "$(LOCK) and $(DEV_LOCK) updated: commit them (make install installs from them)."

.PHONY: migrate
migrate: $(STAMP) ## Apply the database migrations (COMPTOIR_DATABASE_URL, default SQLite)
	$(FLASK) db upgrade

.PHONY: seed
seed: migrate ## Load the demo shop, its sales history, webshop browsing and shelf planogram (once), train the recommender, print fresh demo API keys and a tablet pairing code
	$(FLASK) seed --no-keys
	$(FLASK) seed-sales
	$(FLASK) seed-browsing
	$(FLASK) seed-planogram
	$(FLASK) recommender train
	$(FLASK) keys demo
	$(FLASK) tablets pair-code

.PHONY: run
run: seed ## Install, migrate, seed and serve the demo shop on http://127.0.0.1:8000 (Ctrl-C stops all; pair a tablet with the printed URL)
	@echo "Serving Comptoir on http://$${COMPTOIR_BIND:-127.0.0.1:8000}  (API docs: /api/docs)"
	$(HONCHO)

.PHONY: run-shop
run-shop: migrate ## Serve a real shop: migrate, then every process but the demo's (no demo data, no simulator)
	@echo "Serving the shop of $${COMPTOIR_INSTANCE_PATH:-instance/} on http://$${COMPTOIR_BIND:-127.0.0.1:8000}  (README: Running a real shop)"
	$(HONCHO) $(SHOP_PROCESSES)

.PHONY: test
test: $(STAMP) lint ## Install what tests need and run the whole suite on SQLite and on PostgreSQL
	scripts/ensure-system-packages.sh postgresql mosquitto chromium nginx systemd openssl
	COMPTOIR_TEST_DB=sqlite $(BIN)/pytest
	COMPTOIR_TEST_DB=postgresql $(BIN)/pytest

.PHONY: test-sqlite
test-sqlite: $(STAMP) ## Run the suite on SQLite only (quick)
	COMPTOIR_TEST_DB=sqlite $(BIN)/pytest

.PHONY: lint
lint: $(STAMP) ## ruff (lint and format check) and mypy
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

.PHONY: format
format: $(STAMP) ## Format the code with ruff
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

.PHONY: bench
bench: $(STAMP) ## Benchmarks: throughput vs a no-op endpoint and SQL statements, SQLite and PostgreSQL
	scripts/ensure-system-packages.sh postgresql mosquitto chromium npm
	$(BIN)/python -m bench.stock_http
	$(BIN)/python -m bench.events_latency
	$(BIN)/python -m bench.outbox
	$(BIN)/python -m bench.recommendations
	$(BIN)/python -m bench.mqtt_ingest --backend sqlite
	$(BIN)/python -m bench.mqtt_ingest --backend postgresql
	$(BIN)/python -m bench.analytics
	$(BIN)/python -m bench.search
	$(BIN)/python -m bench.tablet_app
	$(BIN)/python -m bench.tablet_hold
	$(BIN)/python -m bench.feeds

.PHONY: openapi
openapi: $(STAMP) ## Write the OpenAPI document to openapi.json
	$(FLASK) openapi write openapi.json

.PHONY: translations
translations: $(STAMP) ## Extract the texts people read, update the French catalogues (.po) and compile them (.mo)
	$(BIN)/python scripts/translations.py

.PHONY: clean
clean: ## Remove the virtual environment and caches (keeps instance/ data)
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache *.egg-info
