# Template checks (issue 6): cfn-lint, sam validate --lint, sam build, checkov. Added to `make test`.
# SAM CLI and checkov pin their own boto3/botocore and other libraries, so each lives in its own tool
# venv instead of .venv (installing them there makes pip backtrack for minutes).
SAM_VENV := .venv-sam
CHECKOV_VENV := .venv-checkov
SAM_CLI_VERSION := 1.170.0
CHECKOV_VERSION := 3.3.30
TOOL_PIP := --quiet --disable-pip-version-check
export SAM_CLI_TELEMETRY := 0

.PHONY: template-check cfn-lint sam-validate sam-build checkov

$(SAM_VENV)/.installed: mk/template.mk
	test -x $(SAM_VENV)/bin/python || $(PYTHON) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/python -m pip install $(TOOL_PIP) 'aws-sam-cli==$(SAM_CLI_VERSION)'
	touch $@

$(CHECKOV_VENV)/.installed: mk/template.mk
	test -x $(CHECKOV_VENV)/bin/python || $(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install $(TOOL_PIP) 'checkov==$(CHECKOV_VERSION)'
	touch $@

cfn-lint: $(BIN)/.installed
	$(BIN)/cfn-lint template.yaml org/spoke.yaml

sam-validate: $(SAM_VENV)/.installed
	$(SAM_VENV)/bin/sam validate --lint --region us-east-1 --template-file template.yaml

# No Docker, no local python3.13: every resource uses BuildMethod: makefile (src/Makefile, layer/Makefile);
# the layer's pip downloads wheels for Python 3.13 on arm64. The makefiles compile the bytecode with the
# working Python 3.13 mk/py313.mk finds (a bare `sam build` uses python3.13 from PATH).
sam-build: $(SAM_VENV)/.installed
	py="$(call find_py313)"; LAMBDA_PYTHON="$${py:-python3.13}" \
		$(SAM_VENV)/bin/sam build --template-file template.yaml --parallel
	test -f .aws-sam/build/EnforcerFunction/handlers/enforcer.py
	test -f .aws-sam/build/PolicyResourceFunction/core/guardrail/state.py
	test -d .aws-sam/build/DependencyLayer/python/aws_lambda_powertools
	test ! -e .aws-sam/build/DependencyLayer/python/pydantic  # no validation library: core.model.validation

# Every finding must be fixed or skipped in template.yaml's Metadata with a written reason (.checkov.yaml).
checkov: $(CHECKOV_VENV)/.installed
	$(CHECKOV_VENV)/bin/checkov --config-file .checkov.yaml --file template.yaml
	$(CHECKOV_VENV)/bin/checkov --config-file .checkov.yaml --file org/spoke.yaml

template-check: cfn-lint sam-validate sam-build checkov

TEST_EXTRA += template-check
