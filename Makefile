# oemkpi — every target bootstraps what it needs on a machine with only Python 3.11, pip and git:
# uv is installed into .tools/ (pinned), the project environment into .venv/ from uv.lock,
# byte-compiled at install (imports of dagster and GX are then ~2x faster in every process,
# also where PYTHONDONTWRITEBYTECODE is set).
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
UV_VERSION := 0.13.9
TOOLS := .tools
UV := $(TOOLS)/bin/uv
RUN := $(UV) run --frozen --no-sync

export OEMKPI_HOME ?= $(CURDIR)/data
export UV_PYTHON_DOWNLOADS := never

.PHONY: help setup demo test lint format ui bench screenshots clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"

.venv/.synced: pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen --compile-bytecode --python $(PYTHON)
	@touch $@

setup: .venv/.synced ## install uv and the locked environment

demo: setup ## write the sample data home in ./data and run all 36 months
	$(RUN) oemkpi demo

test: setup ## run the test suite
	$(RUN) pytest

lint: setup ## ruff check, ruff format --check, mypy on the domain package, sqlfluff on sql/
	$(RUN) ruff check .
	$(RUN) ruff format --check .
	$(RUN) mypy
	$(RUN) sqlfluff lint sql

format: setup ## apply ruff's and sqlfluff's fixes and formatting
	$(RUN) ruff check --fix .
	$(RUN) ruff format .
	$(RUN) sqlfluff fix sql

ui: setup ## the Dagster UI on http://127.0.0.1:3000 for ./data
	$(RUN) oemkpi ui

bench: setup ## time one month at several sizes against DuckDB alone and pandas, then embedded beside scale-out (bench/out/)
	$(RUN) python bench/run.py
	$(RUN) python bench/scaleout.py

screenshots: setup ## PNG and PDF of the latest month's reports in ./data (needs chromium)
	$(RUN) python bench/screenshots.py

clean: ## remove the environments and the sample data home
	rm -rf .venv $(TOOLS) data
