"""What a fresh process loads when a function or the CLI starts (behaviour: which modules, never timing).

Each start runs in its own interpreter, as Lambda and a shell do, and reports ``sys.modules``. A start
is made once and shared by every check that reads it (``start_of``, ``cli_start``): one process per
function and environment, one per command line.
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
from typing import Any

import pytest
from tests.e2e.template_env import function_environment, load_template
from tests.template.template_model import FUNCTIONS, HUB_FUNCTIONS

# Run in the child: do one thing, then report (on stderr: stdout belongs to the command) what is loaded.
REPORT = "print('LOADED ' + json.dumps(sorted(sys.modules)), file=sys.stderr)"
IMPORT_HANDLER = f"import importlib, json, sys\nimportlib.import_module(sys.argv[1])\n{REPORT}"
RUN_CLI = f"""import json, sys
from cli.main import main
try:
    main(sys.argv[1:])
except SystemExit:
    pass
{REPORT}"""

# Never needed to print help or a policy: the AWS SDK, its emulator, Powertools, X-Ray, Slack.
pytestmark = pytest.mark.slow  # runs the CLI or a function in a process of its own

HEAVY = {"boto3", "botocore", "moto", "aws_lambda_powertools", "aws_xray_sdk", "slack_sdk"}


def loaded_modules(code: str, *args: str, env: dict[str, str] | None = None) -> frozenset[str]:
    """Every module (full dotted names) a fresh interpreter holds after running ``code``."""
    run = subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, **(env or {})},
    )
    (line,) = [x for x in run.stderr.splitlines() if x.startswith("LOADED ")]
    return frozenset(json.loads(line.removeprefix("LOADED ")))


def top_level(modules: frozenset[str]) -> set[str]:
    return {m.split(".")[0] for m in modules}


@functools.cache
def cli_start(*argv: str) -> frozenset[str]:
    return loaded_modules(RUN_CLI, *argv)


@functools.cache
def start_of(function: str, *, tracing: bool = False) -> frozenset[str]:
    """The modules a function's cold start loads, with the template's default environment."""
    parameters = {"Tracing": "true"} if tracing else {}
    env = function_environment(load_template(), function, parameters=parameters, resources={})
    return loaded_modules(IMPORT_HANDLER, handlers()[function], env=env)


def handlers() -> dict[str, str]:
    """Function logical ID -> its handler module, for every function in template.yaml."""
    resources: dict[str, Any] = load_template()["Resources"]
    return {
        name: r["Properties"]["Handler"].rsplit(".", 1)[0]
        for name, r in resources.items()
        if r["Type"] == "AWS::Serverless::Function"
    }


@pytest.mark.parametrize("argv", [["--help"], ["policy", "--no-ip-restriction"], ["policy", "--help"]])
def test_help_and_policy_load_no_aws_sdk(argv: list[str]) -> None:
    assert top_level(cli_start(*argv)) & HEAVY == set()


def test_help_and_policy_load_no_validation_library() -> None:
    """Settings and untrusted input are read by core.model.settings and core.model.validation, with the
    stdlib only."""
    for argv in (["--help"], ["policy", "--no-ip-restriction"], ["audit", "--help"]):
        assert "pydantic" not in top_level(cli_start(*argv))


@pytest.mark.parametrize("command", ["enforce", "audit", "demo"])
def test_a_subcommands_help_loads_no_aws_sdk(command: str) -> None:
    assert top_level(cli_start(command, "--help")) & HEAVY == set()


def test_every_function_is_checked() -> None:
    assert set(handlers()) == {*FUNCTIONS, *HUB_FUNCTIONS}  # the parametrized tests below found them all


@pytest.mark.parametrize("function", sorted(handlers()))
def test_with_the_templates_default_environment_no_function_loads_the_xray_sdk(function: str) -> None:
    env = function_environment(load_template(), function, parameters={}, resources={})
    modules = top_level(start_of(function))

    assert env["POWERTOOLS_TRACE_DISABLED"] == "true"
    assert "aws_lambda_powertools" in modules  # Powertools stays: Logger and Metrics
    assert "aws_xray_sdk" not in modules


@pytest.mark.parametrize("function", sorted(handlers()))
def test_with_tracing_on_every_function_is_traced_by_powertools(function: str) -> None:
    env = function_environment(load_template(), function, parameters={"Tracing": "true"}, resources={})
    modules = top_level(start_of(function, tracing=True))

    assert env["POWERTOOLS_TRACE_DISABLED"] == "false"
    assert "aws_xray_sdk" in modules


@pytest.mark.parametrize("function", sorted(handlers()))
def test_no_function_loads_a_validation_library(function: str) -> None:
    assert "pydantic" not in top_level(start_of(function))


# What each function must not load at its cold start (its work never needs it; `make bench` shows the cost).
NOT_LOADED = {
    "EnforcerFunction": {
        "core.model.findings",
        "core.sweep.run",
        "core.report.securityhub",
        "core.enforce.leak",  # a leaked key's response loads when one is reported
        "core.model.credential_report",
    },
    "SweepFunction": {
        "core.report.securityhub",
        "core.enforce.events",
        "core.enforce.actions",
    },  # SecurityHub=false
    "SlackNotifierFunction": {
        "core.model.findings",
        "core.aws.iam",
        "core.sweep.run",
        "core.enforce.actions",
    },
    "PolicyResourceFunction": {"core.model.findings", "core.sweep.run", "core.enforce.actions"},
    "OrgEnforcerFunction": {
        "core.sweep.run",
        "core.model.findings",
        "core.report.securityhub",
        "core.aws.organizations",
        "core.enforce.leak",
        "core.model.credential_report",
    },
    # The list function judges the organisation's centralized root access (core.org.root_access), so it
    # loads core.model.findings; never the sweep.
    "OrgListAccountsFunction": {
        "core.sweep.run",
        "core.enforce.events",
        "core.org.sweep",
    },
    "OrgSweepAccountFunction": {
        "core.enforce.events",
        "core.enforce.actions",
        "core.report.securityhub",
        "core.aws.organizations",
    },
    "OrgDigestFunction": {"core.sweep.run", "core.model.findings", "core.enforce.events", "core.org.sweep"},
}


def test_every_function_has_its_not_loaded_list() -> None:
    assert set(NOT_LOADED) == set(handlers())


@pytest.mark.parametrize("function", sorted(handlers()))
def test_a_function_loads_only_the_core_its_work_needs(function: str) -> None:
    modules = start_of(function)
    assert handlers()[function] in modules  # the report lists full module names
    assert modules & NOT_LOADED[function] == set()


def test_the_slack_sdk_is_loaded_only_when_a_message_is_posted() -> None:
    assert "slack_sdk" not in top_level(start_of("SlackNotifierFunction"))
