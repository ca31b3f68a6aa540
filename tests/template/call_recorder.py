"""Least privilege, proven on the real calls: a pytest plugin that records every AWS API call our code
makes anywhere in the test suite and checks each one against the role template.yaml gives that code.

How it works (registered in tests/conftest.py with one ``pytest_plugins`` line):

1. ``BaseClient._make_api_call`` is wrapped for the whole session. Each call is attributed to a Lambda
   function by the innermost frame of ours on the stack (``MODULE_FUNCTION``): the handlers and their
   core job modules, and the CLI commands that run the same job (``enforce`` = the enforcer's role,
   ``audit`` = the sweep's). Calls with none of these frames (test setup, fixtures) are not ours.
2. Each call becomes (function, action, resource ARN): the ARN comes from the request parameters
   (``resource_arn``); publishing to the KMS-encrypted topic also implies the key actions. The group and
   policy names the code was configured with (the innermost ``settings`` local) are the template's
   GroupName / PolicyName parameters for that call, as one deployed stack would have them; likewise the
   configured topic is the stack's AlertTopic and the configured secret its SlackSecretArn.
3. pytest-xdist workers each write their records to a shared directory; the controller (or the single
   process) merges them in ``pytest_sessionfinish`` and asks the npm IAM engine (@cloud-copilot/
   iam-simulate) about every distinct call, against the role's resolved inline policies.
4. Any call the role would deny fails the session. Permissions the role grants but no test exercised,
   and functions with no recorded call at all, are reported (not failed: the tests may not exist yet).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

ACCOUNT = "123456789012"
REGION = "us-east-1"
ENGINE_DIR = Path(__file__).resolve().parents[1] / "engine"
ENGINE_SCRIPT = Path(__file__).resolve().parents[1] / "engine" / "simulate.mjs"  # the tests' IAM engine
ENGINE_PACKAGE = ENGINE_DIR / "node_modules" / "@cloud-copilot" / "iam-simulate" / "package.json"

# Module of ours on the stack -> the function whose role it runs with (innermost match wins).
MODULE_FUNCTION = {
    "handlers.enforcer": "EnforcerFunction",
    "core.enforcement": "EnforcerFunction",
    "cli.commands.enforce": "EnforcerFunction",
    "handlers.sweep": "SweepFunction",
    "core.sweep": "SweepFunction",
    "cli.commands.audit": "SweepFunction",
    "core.securityhub": "SweepFunction",  # the sweep's import (organisation mode will add its own role)
    "handlers.slack_notifier": "SlackNotifierFunction",
    "handlers.policy_resource": "PolicyResourceFunction",
    "core.custom_resource": "PolicyResourceFunction",
}
NEEDS_NO_PERMISSION = {"sts:GetCallerIdentity"}
# Publishing to a topic encrypted with a customer managed key makes SNS use the key as the publisher.
IMPLIED = {"sns:Publish": ("kms:GenerateDataKey", "kms:Decrypt")}
KEY_ARN = "AlertKey"  # resolved through the template model
TOPIC_VAR = "IAM_GUARD_SNS_TOPIC_ARN"
SECRET_VAR = "IAM_GUARD_SLACK_SECRET_ARN"

_records: list[dict[str, str]] = []
_original: Any = None
_report: list[str] = []


# --- recording ------------------------------------------------------------------------------------


def _attribution() -> tuple[str | None, Any]:
    """The function whose code is calling, and the innermost ``settings`` in scope (or None)."""
    from core.settings import Settings

    function: str | None = None
    settings: Any = None
    frame = sys._getframe(2)
    while frame is not None:
        if function is None:
            function = MODULE_FUNCTION.get(frame.f_globals.get("__name__", ""))
        candidate = frame.f_locals.get("settings")
        if settings is None and isinstance(candidate, Settings):
            settings = candidate
        if function is not None and settings is not None:
            break
        frame = frame.f_back  # type: ignore[assignment]
    return function, settings


def resource_arn(service: str, operation: str, params: dict[str, Any]) -> str:
    """The resource IAM authorizes the call against (Service Authorization Reference resource types).

    A group's ARN holds its path, which a request does not name: IAM Guard's groups live under
    ``naming.IAM_PATH`` (unless the request creates one elsewhere), so that is the path assumed."""
    from core.naming import IAM_PATH

    if service == "iam":
        if "GroupName" in params:
            path = params.get("Path", IAM_PATH) if operation == "CreateGroup" else IAM_PATH
            return f"arn:aws:iam::{ACCOUNT}:group{path}{params['GroupName']}"
        if "PolicyArn" in params:
            return str(params["PolicyArn"])
        if operation == "CreatePolicy":
            return f"arn:aws:iam::{ACCOUNT}:policy{params.get('Path', '/')}{params['PolicyName']}"
        if "UserName" in params:
            return f"arn:aws:iam::{ACCOUNT}:user/{params['UserName']}"
        return "*"
    if service == "sns" and "TopicArn" in params:
        return str(params["TopicArn"])
    if service == "securityhub":
        if operation == "BatchImportFindings":  # authorized against the findings' product
            products = {str(f.get("ProductArn")) for f in params.get("Findings", [])}
            return products.pop() if len(products) == 1 else "*"
        return f"arn:aws:securityhub:{REGION}:{ACCOUNT}:hub/default"
    if service == "secretsmanager":
        secret = str(params.get("SecretId", ""))
        if secret.startswith("arn:"):
            return secret
        return f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:{secret}"
    if service == "cloudformation" and "StackName" in params:
        stack = str(params["StackName"])
        return (
            stack
            if stack.startswith("arn:")
            else f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/{stack}/id"
        )
    if service == "events" and ("Name" in params or "Rule" in params):
        return f"arn:aws:events:{REGION}:{ACCOUNT}:rule/{params.get('Name') or params.get('Rule')}"
    if service == "lambda" and "FunctionName" in params:
        name = str(params["FunctionName"])
        return name if name.startswith("arn:") else f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}"
    return "*"


def _recording_make_api_call(self: Any, operation_name: str, api_params: dict[str, Any]) -> Any:
    function, settings = _attribution()
    if function is not None:
        service = self.meta.service_model.signing_name
        _records.append(
            {
                "function": function,
                "action": f"{service}:{operation_name}",
                "resource": resource_arn(service, operation_name, api_params),
                "group": getattr(settings, "group_name", ""),
                "policy": getattr(settings, "policy_name", ""),
                "topic": getattr(settings, "sns_topic_arn", None) or os.environ.get(TOPIC_VAR, ""),
                "secret": getattr(settings, "slack_secret_arn", None) or os.environ.get(SECRET_VAR, ""),
                "test": os.environ.get("PYTEST_CURRENT_TEST", "").rsplit(" ", 1)[0],
            }
        )
    return _original(self, operation_name, api_params)


def pytest_configure(config: pytest.Config) -> None:
    global _original
    from botocore.client import BaseClient

    if _original is None:
        _original = BaseClient._make_api_call
        BaseClient._make_api_call = _recording_make_api_call
    if not hasattr(config, "workerinput"):
        config._call_recorder_dir = tempfile.mkdtemp(prefix="iam-guard-calls-")  # type: ignore[attr-defined]


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """xdist controller: tell each worker where to leave its records."""
    node.workerinput["call_recorder_dir"] = node.config._call_recorder_dir


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    config = session.config
    workerinput = getattr(config, "workerinput", None)
    if workerinput is not None:  # an xdist worker: hand the records to the controller
        path = Path(workerinput["call_recorder_dir"]) / f"{workerinput['workerid']}.json"
        path.write_text(json.dumps(_records))
        return
    directory = Path(config._call_recorder_dir)  # type: ignore[attr-defined]
    records = list(_records)
    for path in sorted(directory.glob("*.json")):
        records += json.loads(path.read_text())
    shutil.rmtree(directory, ignore_errors=True)
    denied = check(records, _report)
    if denied and session.exitstatus == 0:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if _report:
        terminalreporter.section("least privilege (template.yaml roles vs. recorded AWS calls)")
        for line in _report:
            terminalreporter.write_line(line)


# --- checking -------------------------------------------------------------------------------------


def check(records: list[dict[str, str]], report: list[str]) -> int:
    """Evaluate every distinct recorded call; add lines to the report; return how many were denied."""
    from tests.template.template_model import (
        FUNCTIONS,
        actions_of,
        load_template,
        physical_value,
        resolve,
        role_of,
        role_policies,
    )

    template = load_template()["Resources"]

    calls: set[tuple[str, ...]] = set()
    example: dict[tuple[str, ...], str] = {}
    for record in records:
        if record["action"] in NEEDS_NO_PERMISSION:
            continue
        actions = (record["action"], *IMPLIED.get(record["action"], ()))
        for action in actions:
            resource = physical_value(KEY_ARN) if action.startswith("kms:") else record["resource"]
            key = (
                record["function"],
                action,
                resource,
                record["group"],
                record["policy"],
                record["topic"],
                record["secret"],
            )
            calls.add(key)
            example.setdefault(key, record["test"])
    if not calls and not records:
        report.append("no AWS calls by our code were recorded in this run")
        return 0
    ordered = sorted(calls)
    cases = []
    for function, action, resource, group, policy, topic, secret in ordered:
        names = {
            k: v for k, v in (("GroupName", group), ("PolicyName", policy), ("SlackSecretArn", secret)) if v
        }
        ours = {"AlertTopic": topic} if topic else None
        policies = role_policies(function, names, ours)
        # KMS authorizes through the key policy; the topic has a resource policy too (all from the template).
        resource_policy = None
        if action.startswith("kms:"):
            resource_policy = resolve(template["AlertKey"]["Properties"]["KeyPolicy"], names, ours)
        elif action == "sns:Publish":
            resource_policy = resolve(
                template["AlertTopicPolicy"]["Properties"]["PolicyDocument"], names, ours
            )
        cases.append(
            {
                "policies": [{"name": name, "policy": doc} for name, doc in policies.items()],
                "resourcePolicy": resource_policy,
                "action": action,
                "resource": resource,
                "principal": physical_value(role_of(function)),
                "context": {"aws:SecureTransport": "true"},  # boto3 always calls over TLS
            }
        )
    results = _simulate(cases, report)
    if results is None:
        return len(ordered)
    denied = 0
    exercised: dict[str, set[str]] = defaultdict(set)
    for (function, action, resource, *config), result in zip(ordered, results, strict=True):
        exercised[function].add(action)
        decision = result.get("result") or f"engine error: {result.get('error')}"
        if decision != "Allowed":
            denied += 1
            test = example[(function, action, resource, *config)]
            report.append(f"DENIED {function}: {action} on {resource} ({decision}) - recorded in {test}")
    for function in FUNCTIONS:
        granted = actions_of(role_policies(function)["job"])
        done = exercised.get(function, set())
        if not done:
            report.append(f"{function}: no AWS call recorded (its tests did not run or do not exist yet)")
            continue
        unused = sorted(granted - done)
        report.append(
            f"{function}: {len(done)} actions exercised, all allowed by its role"
            if not any(f.startswith(f"DENIED {function}:") for f in report)
            else f"{function}: {len(done)} actions exercised"
        )
        if unused:
            report.append(f"  granted but never exercised by a test: {', '.join(unused)}")
    report.insert(0, f"{len(records)} calls recorded, {len(ordered)} distinct, {denied} denied")
    return denied


def _simulate(cases: list[dict[str, Any]], report: list[str]) -> list[dict[str, Any]] | None:
    node = shutil.which("node")
    if node is None or not ENGINE_PACKAGE.exists():
        report.append("FAILED: the IAM engine is not installed (run `make install`): nothing was checked")
        return None
    completed = subprocess.run(
        [node, str(ENGINE_SCRIPT)],
        input=json.dumps(cases),
        capture_output=True,
        text=True,
        check=False,
        cwd=ENGINE_DIR,
        timeout=300,
    )
    if completed.returncode != 0:
        report.append(f"FAILED: the IAM engine crashed: {completed.stderr.strip()[:500]}")
        return None
    results: list[dict[str, Any]] = json.loads(completed.stdout)
    return results
