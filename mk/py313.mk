# Python 3.13 (issue 12): the Lambda runtime is python3.13, the suite runs on $(PYTHON). Where a working
# 3.13 interpreter exists, `make test` also runs a fast, pure subset (the model and adapter tests, the policy and
# settings models) with it, in its own venv .venv-py313; where none works it says so in one line and goes
# on. Candidates, each run to know it works (a version manager's shim may exist and fail): python3.13 on
# PATH, then $(pyenv root)/versions/3.13*/bin/python3.13.
PY313_VENV := .venv-py313
PY313_TESTS := tests/model tests/aws tests/architecture/test_layers.py tests/policy/test_policy_unit.py tests/policy/test_settings.py tests/policy/test_compare.py
PY313_PROBE := import sys; assert sys.version_info[:2] == (3, 13)

.PHONY: test-py313

# The interpreter found, or nothing (evaluated when a recipe uses it, not when make reads this file).
find_py313 = $(shell for c in "$$(command -v python3.13)" \
	$$(command -v pyenv >/dev/null 2>&1 && ls -d "$$(pyenv root)"/versions/3.13*/bin/python3.13 2>/dev/null); do \
	[ -n "$$c" ] && "$$c" -c '$(PY313_PROBE)' >/dev/null 2>&1 && { echo "$$c"; break; }; done)

$(PY313_VENV)/.installed: pyproject.toml
	test -x $(PY313_VENV)/bin/python || $(PY313) -m venv $(PY313_VENV)
	$(PY313_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $@

test-py313: $(ENGINE)/node_modules/.installed
	@py="$(call find_py313)"; \
	if [ -z "$$py" ]; then \
		echo "Python 3.13 (the Lambda runtime): no working python3.13 on this machine; its unit tests were not run"; \
	else \
		echo "Python 3.13 (the Lambda runtime): $$py"; \
		$(MAKE) --no-print-directory PY313="$$py" $(PY313_VENV)/.installed && \
		IAM_GUARD_REQUIRE_ENGINE=1 $(PY313_VENV)/bin/python -m pytest -q -p no:cacheprovider $(PY313_TESTS); \
	fi

TEST_EXTRA += test-py313
