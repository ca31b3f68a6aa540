# Repeated code (issue 20): pylint's duplicate-code check, pinned, in its own venv (pylint pins its own
# astroid). A "pair" is two places with MIN_SIMILAR_LINES or more equal lines, imports, docstrings,
# comments and signatures ignored. More than DUPLICATE_PAIRS_ALLOWED pairs fails `make test`; the ones
# left are deliberate (docs/development.md#repeated-code says which).
PYLINT_VERSION := 4.0.5
MIN_SIMILAR_LINES := 6
DUPLICATE_PAIRS_ALLOWED := 12

.venv-pylint/.installed:
	test -x .venv-pylint/bin/python || $(PYTHON) -m venv .venv-pylint
	.venv-pylint/bin/python -m pip install --quiet --disable-pip-version-check 'pylint==$(PYLINT_VERSION)'
	touch $@

duplicates: .venv-pylint/.installed
	@report="$$(.venv-pylint/bin/pylint --disable=all --enable=duplicate-code --score=n \
		--min-similarity-lines=$(MIN_SIMILAR_LINES) --ignore-imports=y --ignore-docstrings=y \
		--ignore-comments=y --ignore-signatures=y src)"; \
	pairs=$$(printf '%s\n' "$$report" | grep -c 'R0801' || true); \
	printf '%s\n' "$$report" | grep -v '^\*\*\*' | sed '/^$$/d'; \
	echo "duplicate code: $$pairs pair(s) of $(MIN_SIMILAR_LINES)+ similar lines in src/ (at most $(DUPLICATE_PAIRS_ALLOWED) allowed)"; \
	test "$$pairs" -le $(DUPLICATE_PAIRS_ALLOWED)

TEST_EXTRA += duplicates
