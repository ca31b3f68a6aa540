# IAM Guard - every command a developer or CI needs. `make test` installs what it needs (pip + npm only).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
ENGINE := tests/engine

.PHONY: help install test unit lint format pytest demo bench docs clean duplicates

help:
	@echo "make demo    - the whole product on an embedded AWS emulator (no account needed)"
	@echo "make test    - install, lint (ruff, mypy), template checks and the full test suite"
	@echo "make lint    - ruff (lint + format check) and mypy"
	@echo "make bench   - API-call and timing figures (printed, never pass/fail)"
	@echo "make docs    - build the documentation site (docs/, mkdocs build --strict) into site/"

$(BIN)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

$(ENGINE)/node_modules/.installed: $(ENGINE)/package.json $(ENGINE)/package-lock.json
	npm ci --prefix $(ENGINE) --no-audit --no-fund --loglevel=error
	touch $@

install: $(BIN)/.installed $(ENGINE)/node_modules/.installed

lint: $(BIN)/.installed
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy

format: $(BIN)/.installed
	$(BIN)/ruff format src tests bench
	$(BIN)/ruff check --fix src tests bench

# The least-privilege recorder (tests/template/call_recorder.py) needs the npm IAM engine, which `install`
# provides. IAM_GUARD_REQUIRE_ENGINE=1: here (and in CI, which runs `make test`) a missing engine fails
# the run; a pytest run started by hand only reports the check as not done, with how to install it.
pytest: install
	IAM_GUARD_REQUIRE_ENGINE=1 $(BIN)/python -m pytest -n 2 -q

# The fast loop while editing: pure logic and in-process moto only (tests/conftest.py marks them).
unit: $(BIN)/.installed
	$(BIN)/python -m pytest -n 2 -q -m unit

# The documentation site: broken links, missing anchors or pages outside the nav fail the build.
# NO_MKDOCS_2_WARNING silences Material's end-of-life banner (it is not a build warning). No --quiet:
# it hides the warnings from strict mode too, and a broken link would pass.
docs: $(BIN)/.installed
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

# Area makefiles add their checks to TEST_EXTRA (template checks, ...).
TEST_EXTRA := docs
-include mk/*.mk

test: lint $(TEST_EXTRA) pytest

# The demo needs neither the development toolchain nor node: without an installed .venv it gets a venv of its
# own with only the package and its `demo` extra (about 25 s on a fresh clone); with one it uses .venv.
DEMO_VENV := .venv-demo
$(DEMO_VENV)/.installed: pyproject.toml
	test -x $(DEMO_VENV)/bin/python || $(PYTHON) -m venv $(DEMO_VENV)
	$(DEMO_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -e '.[demo]'
	touch $@

demo:
	@if [ -f $(BIN)/.installed ]; then \
	  $(MAKE) --no-print-directory $(BIN)/.installed && $(BIN)/iam-guard demo; \
	else \
	  $(MAKE) --no-print-directory $(DEMO_VENV)/.installed && $(DEMO_VENV)/bin/iam-guard demo; \
	fi

# Cloud Custodian, for the sweep comparison only: it pins its own boto3, so it gets a throwaway venv.
C7N_VERSION := 0.9.53
.venv-c7n/.installed:
	test -x .venv-c7n/bin/python || $(PYTHON) -m venv .venv-c7n
	.venv-c7n/bin/python -m pip install --quiet --disable-pip-version-check 'c7n==$(C7N_VERSION)'
	touch $@

# Prowler, for the same comparison: its own venv too (about 2 GB and a few minutes to install, once).
PROWLER_VERSION := 5.46.0
.venv-prowler/.installed:
	test -x .venv-prowler/bin/python || $(PYTHON) -m venv .venv-prowler
	.venv-prowler/bin/python -m pip install --quiet --disable-pip-version-check 'prowler==$(PROWLER_VERSION)'
	touch $@

bench: $(BIN)/.installed .venv-c7n/.installed .venv-prowler/.installed
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .venv-* $(ENGINE)/node_modules .aws-sam .pytest_cache .mypy_cache .ruff_cache site
