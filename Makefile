# The documented entry to every task. `make up` runs the platform, `make test` runs the tests.
SHELL := /bin/bash
export UV_PYTHON_DOWNLOADS := never
VENV := .venv/bin
PYTEST_ARGS ?=
BENCH_ARGS ?=

.PHONY: bootstrap up down clean status logs test unit integration e2e browser smoke lint format bench schemas asyncapi clients

bootstrap:
	@bash scripts/bootstrap.sh

up: bootstrap
	@$(VENV)/securact-dev up

down:
	@if [ -x $(VENV)/securact-dev ]; then $(VENV)/securact-dev down; fi

clean:
	@if [ -x $(VENV)/securact-dev ]; then $(VENV)/securact-dev clean; else rm -rf var; fi

status:
	@$(VENV)/securact-dev status

logs:
	@$(VENV)/securact-dev logs

test: bootstrap
	@bash scripts/ensure-promtool.sh || true
	@bash scripts/ensure-chromium.sh || true
	@bash scripts/ensure-axe.sh || true
	@bash scripts/ensure-clamav.sh || true
	@$(VENV)/pytest $(PYTEST_ARGS)

unit: bootstrap
	@bash scripts/ensure-promtool.sh || true
	@$(VENV)/pytest tests/unit $(PYTEST_ARGS)

integration: bootstrap
	@bash scripts/ensure-clamav.sh || true
	@$(VENV)/pytest tests/integration $(PYTEST_ARGS)

e2e: bootstrap
	@$(VENV)/pytest tests/e2e $(PYTEST_ARGS)

browser: bootstrap
	@bash scripts/ensure-chromium.sh
	@bash scripts/ensure-axe.sh
	@$(VENV)/pytest tests/browser $(PYTEST_ARGS)

smoke: bootstrap
	@$(VENV)/pytest tests/e2e/test_smoke.py $(PYTEST_ARGS)

lint:
	@$(VENV)/ruff check .
	@$(VENV)/ruff format --check .
	@$(VENV)/mypy shared/src services tools/devstack/src tools/witness/src

format:
	@$(VENV)/ruff format .
	@$(VENV)/ruff check --fix .

bench: bootstrap
	@$(VENV)/python -m bench $(BENCH_ARGS)

schemas:
	@$(VENV)/python -m shared.contracts.snapshots --write
	@$(VENV)/python -m shared.messaging.platform_queues --write
	@$(VENV)/python -m shared.contracts.asyncapi --write

asyncapi:
	@$(VENV)/python -m shared.contracts.asyncapi --write

clients:
	@$(VENV)/python clients/generate.py
