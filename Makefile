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

.PHONY: help setup chromium demo test lint format ui bench screenshots clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"

.venv/.synced: pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen --compile-bytecode --python $(PYTHON)
	@touch $@

# The project's own modules are byte-compiled too: this machine sets PYTHONDONTWRITEBYTECODE,
# so each oemkpi process (the run and its two helpers) otherwise compiles ~120 files first
# (~0.2 s of CPU). A file edited since is compiled from source again, as before.
setup: .venv/.synced ## install uv and the locked environment, byte-compile the project's code
	@$(RUN) python -m compileall -q oemkpi pipelines assets

demo: setup ## write the sample data home in ./data and run all 36 months
	$(RUN) oemkpi demo

# Test files run side by side, one process per core (at most four; pytest-xdist), each file
# whole in one process so its module fixtures are built once: ~7 min on CI's 2 cores
# against ~12 serially.
test: setup chromium ## run the test suite
	$(RUN) pytest --numprocesses auto --maxprocesses 4 --dist loadfile

# The printed-report test (tests/test_update_sample.py) prints the largest partner's update
# with headless Chromium. Installed from Debian's packages when missing and this is root with
# apt-get; otherwise that test skips and says why (and fails under CI=true).
chromium: ## install Debian's chromium for the printed-report test, when missing and possible
	@if command -v chromium >/dev/null 2>&1; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "Installing Debian's chromium for the printed-report test ..."; \
		( apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
			--no-install-recommends chromium fonts-liberation ) >/dev/null \
			|| echo "chromium could not be installed: the printed-report test will say so."; \
	else \
		echo "No chromium, and no root with apt-get to install it: the printed-report test skips."; \
	fi

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

bench: setup ## time one month at several sizes against DuckDB alone, pandas and the pandas + GX peer, then embedded beside scale-out (bench/out/)
	$(RUN) python bench/run.py
	$(RUN) python bench/scaleout.py

screenshots: setup ## PNG and PDF of the latest month's reports in ./data (needs chromium)
	$(RUN) python bench/screenshots.py

clean: ## remove the environments and the sample data home
	rm -rf .venv $(TOOLS) data
