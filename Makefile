# spendstream — every target creates the environment when it is missing.
# CI runs exactly `make test` (see .ci/run).
.DEFAULT_GOAL := help
SHELL := /bin/bash

UV_VERSION := 0.13.9
UV := $(shell command -v uv 2>/dev/null || echo .tools/bin/uv)
RUN := $(UV) run --frozen
ENV_STAMP := .venv/.synced

.PHONY: help env demo test lint fmt bench soak lock schemas dev-up dev-down clean

help: ## Show this help
	@grep -hE '^[a-zA-Z_%-]+:.*?## ' $(MAKEFILE_LIST) | sort | \
	  awk 'BEGIN {FS = ":.*?## "}; {printf "  \033[36m%-18s\033[0m %s\n", $$1, $$2}'

.tools/bin/uv:
	python3 -m venv .tools
	.tools/bin/pip install --quiet "uv==$(UV_VERSION)"

$(ENV_STAMP): pyproject.toml uv.lock | $(if $(findstring .tools,$(UV)),.tools/bin/uv)
	$(UV) sync --frozen
	@touch $@

env: $(ENV_STAMP) ## Create or update the virtual environment from uv.lock

demo: $(ENV_STAMP) ## Start the embedded stack, run every service on simulated data, show results
	$(RUN) spendstream demo

# Test files run on this many pytest-xdist workers (0 = in this process); a file's
# tests stay on one worker so its module fixtures are built once.
PYTEST_WORKERS ?= 2

test: $(ENV_STAMP) ## Run the whole test suite (unit, integration on real broker + PostgreSQL, e2e)
	$(RUN) pytest -n $(PYTEST_WORKERS) --dist loadfile

lint: $(ENV_STAMP) ## ruff lint + format check, mypy on shared/
	$(RUN) ruff check .
	$(RUN) ruff format --check .
	$(RUN) mypy shared

fmt: $(ENV_STAMP) ## Format and auto-fix with ruff
	$(RUN) ruff format .
	$(RUN) ruff check --fix .

lock: | $(if $(findstring .tools,$(UV)),.tools/bin/uv) ## Re-lock (uv.lock) and export pip constraint files
	$(UV) lock
	$(UV) export --frozen --no-hashes --no-dev -o requirements.lock
	$(UV) export --frozen --no-hashes --all-groups -o requirements-dev.lock

schemas: $(ENV_STAMP) ## Regenerate JSON Schemas under shared/schemas/
	$(RUN) spendstream schemas

dev-up: $(ENV_STAMP) ## Start the embedded broker + PostgreSQL
	$(RUN) spendstream dev up

dev-down: $(ENV_STAMP) ## Stop the embedded stack
	$(RUN) spendstream dev down

bench: $(ENV_STAMP) ## Run every benchmark under bench/ (prints ratios against in-run baselines)
	@for m in bench/bench_*.py; do n=$$(basename $$m .py); echo "== $$n"; $(RUN) python -m bench.$$n || exit 1; done

bench-%: $(ENV_STAMP) ## bench-ingest, bench-anomaly, ...: one benchmark (bench/bench_<name>.py)
	$(RUN) python -m bench.bench_$(subst -,_,$*)

soak: $(ENV_STAMP) ## Whole system at a steady rate for 30 min: flat memory, bounded lag (not in make test)
	$(RUN) python -m bench.soak $(SOAK_ARGS)

eval-%: $(ENV_STAMP) ## eval-anomaly, eval-rightsizing, eval-forecast: write a report under docs/
	$(RUN) python -m evals.eval_$(subst -,_,$*)

clean: ## Stop the dev stack; remove the environment, local state and PostgreSQL's copy under /var/tmp
	-@[ -x .venv/bin/spendstream ] && .venv/bin/spendstream dev down
	-@[ -x .venv/bin/python ] && .venv/bin/python -c "from devstack.pg_install import \
	  remove_checkout_runtime as r; d = r(); d and print('removed', d)"
	rm -rf .venv .tools .spendstream
