"""Least privilege, proven on the real calls: a pytest plugin that records every AWS API call our code
makes anywhere in the test suite and checks each one against the role template.yaml gives that code.

How it works (registered in tests/conftest.py with one ``pytest_plugins`` line):

1. ``BaseClient._make_api_call`` is wrapped for the whole session. Each call is attributed to a Lambda
   function by the innermost frame of ours on the stack (``MODULE_FUNCTION``): the handlers and their
   core job modules, and the CLI commands that run the same job (``enforce`` = the enforcer's role,
   ``audit`` = the sweep's). Calls with none of these frames (test setup, fixtures) are not ours. A task
   run by a ``ThreadPoolExecutor`` (the sweep's reads, the org fan-out, the key summary's regions) is
   attributed through the stack of the code that submitted it, so a worker thread's call is checked
   against the same role as the code that asked for it.
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

Without the engine (node, or ``npm ci --prefix tests/engine`` not run) nothing can be checked. A run
started by hand (one test file, say) then reports that in the summary, with how to install the engine,
and keeps its result; ``make test`` (and CI, which runs it) sets ``IAM_GUARD_REQUIRE_ENGINE=1``, and
there the missing engine fails the session.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path
from types import FrameType
from typing import Any

import pytest

ACCOUNT = "123456789012"
REGION = "us-east-1"
REQUIRE_ENGINE_VAR = "IAM_GUARD_REQUIRE_ENGINE"  # "1" (make test, CI): a missing engine fails the run

# Module of ours on the stack -> the function whose role it runs with (innermost match wins).
MODULE_FUNCTION = {
    "handlers.enforcer": "EnforcerFunction",
    "core.enforce.enforcer": "EnforcerFunction",
    "core.enforce.actions": "EnforcerFunction",
    "cli.commands.enforce": "EnforcerFunction",
    "core.enforce.leak": "EnforcerFunction",
    "core.enforce.key_summary": "EnforcerFunction",  # CloudTrail, from its worker threads
    "cli.commands.respond": "EnforcerFunction",  # the enforcer's leaked-key response, by hand
    "handlers.sweep": "SweepFunction",
    "core.sweep.run": "SweepFunction",
    "core.sweep.report": "SweepFunction",
    "core.sweep.alerts": "SweepFunction",
    "cli.commands.audit": "SweepFunction",
    # the sweep's import (organisation mode will add its own role)
    "core.report.securityhub": "SweepFunction",
    "handlers.slack_notifier": "SlackNotifierFunction",
    "handlers.policy_resource": "PolicyResourceFunction",
    "core.guardrail.custom_resource": "PolicyResourceFunction",
    "core.guardrail.replies": "PolicyResourceFunction",
    # The owners' notifications: the sweep's (state table, SES, the Slack bot's secret), from the
    # function or `audit --send-notifications`. Teams' and the webhook's secrets are read by whichever
    # job sends the alert (the sweep's or the enforcer's frames above core.report.webhook).
    "core.sweep.owner_delivery": "SweepFunction",
    # The CLI's alert flags (--webhook-secret-arn, --teams-webhook-secret-arn): the operator's own
    # credentials, not checked.
    "cli.delivery": "operator",
    "cli.commands.redrive_alerts": "operator",  # the alert DLQ's redrive, by hand
}
NEEDS_NO_PERMISSION = {"sts:GetCallerIdentity"}
# Calls authorized against a user the request names only by an access key ID.
OWNER_IN_RESPONSE = {("iam", "GetAccessKeyLastUsed")}
# Organizations mode (core.org): an org frame anywhere on the stack decides. Calls made with a member's
# credentials run as a spoke role (org/spoke.yaml: reads as the audit role, writes - and everything
# `enforce --org-role` does - as the enforce role); the hub's own calls as the hub function's role.
ORG_HANDLERS = {
    "list_accounts_handler": "OrgListAccountsFunction",
    "sweep_account_handler": "OrgSweepAccountFunction",
    "digest_handler": "OrgDigestFunction",
}
ORG_MODULES = ("core.org.", "handlers.org_", "cli.org")
# The org enforcer's leaked-key reads, made only with the member's enforce credentials (whose a key is,
# sts:GetAccessKeyInfo, is the hub's own call).
MEMBER_LEAK_SERVICES = frozenset({"cloudtrail", "guardduty", "health"})
ORG_SWEEP_HANDLER_MODULES = {"handlers.org_list_accounts", "handlers.org_sweep", "handlers.org_digest"}
SPOKE_AUDIT, SPOKE_ENFORCE = "Spoke:IAMGuardAuditRole", "Spoke:IAMGuardEnforceRole"
SPOKE_LOGICAL = {SPOKE_AUDIT: "AuditRole", SPOKE_ENFORCE: "EnforceRole"}
ORG_ID = "o-testorg0001"
# Org code only an operator runs (no template role runs it): its calls are not checked against a role.
OPERATOR_ONLY = {"stackset_target_accounts"}
# Publishing to a topic encrypted with a customer managed key makes SNS use the key as the publisher.
IMPLIED = {"sns:Publish": ("kms:GenerateDataKey", "kms:Decrypt")}
KEY_ARN = "AlertKey"  # resolved through the template model
TOPIC_VAR = "IAM_GUARD_SNS_TOPIC_ARN"
SECRET_VAR = "IAM_GUARD_SLACK_SECRET_ARN"
# Settings field -> the template parameter it is in a deployed stack (the secrets and the SES sender).
CHANNEL_PARAMETERS = {
    "slack_bot_token_secret_arn": "SlackBotTokenSecretArn",
    "teams_webhook_secret_arn": "TeamsWebhookSecretArn",
    "webhook_secret_arn": "WebhookSecretArn",
    "owner_email_sender": "OwnerEmailSender",
}

_records: list[dict[str, str]] = []
_original: Any = None
_report: list[str] = []


# --- recording ------------------------------------------------------------------------------------


# A task run by a thread pool (the sweep's reads at once, the per-user reads, the org fan-out) sees the
# stack of the code that submitted it: its own frames first, then the submitter's, then theirs.
_submitted = threading.local()


def _stack(depth: int) -> Iterator[FrameType]:
    """The calling thread's frames from ``depth`` up, then, in a pool's task, the submitters' frames."""
    frame: FrameType | None = sys._getframe(depth + 1)
    while frame is not None:
        yield frame
        frame = frame.f_back
    for parent in getattr(_submitted, "frames", ()):
        frame = parent
        while frame is not None:
            yield frame
            frame = frame.f_back


def _submit_with_stack(original: Callable[..., Any]) -> Callable[..., Any]:
    def submit(self: Any, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        frames = (sys._getframe(1), *getattr(_submitted, "frames", ()))

        def task(*a: Any, **k: Any) -> Any:
            outer = getattr(_submitted, "frames", ())
            _submitted.frames = frames
            try:
                return fn(*a, **k)
            finally:
                _submitted.frames = outer

        return original(self, task, *args, **kwargs)

    return submit


def _attribution() -> tuple[str | None, Any]:
    """The function whose code is calling, and the innermost ``settings`` in scope (or None)."""
    from core.model.settings import Settings

    function: str | None = None
    settings: Any = None
    for frame in _stack(2):
        if function is None:
            function = MODULE_FUNCTION.get(frame.f_globals.get("__name__", ""))
        candidate = frame.f_locals.get("settings")
        if settings is None and isinstance(candidate, Settings):
            settings = candidate
        if function is not None and settings is not None:
            break
    return function, settings


def _org_attribution(service: str, operation: str) -> str | None:
    """The role an org-mode call runs with, or None when no org code is on the stack."""
    modules: list[str] = []
    handler: str | None = None
    for frame in _stack(3):
        name = frame.f_globals.get("__name__", "")
        modules.append(name)
        if name.startswith("core.org.") and frame.f_code.co_name in OPERATOR_ONLY:
            return "operator"
        if name in ORG_SWEEP_HANDLER_MODULES and handler is None:
            handler = ORG_HANDLERS.get(frame.f_code.co_name)
    if not any(m.startswith(ORG_MODULES) for m in modules):
        return None
    enforcing = "core.org.enforce" in modules or "handlers.org_enforcer" in modules
    if service == "securityhub":  # findings are imported with the member's audit credentials
        return SPOKE_AUDIT
    if enforcing and service in MEMBER_LEAK_SERVICES:  # read in the member (core.org.enforce.member_services)
        return SPOKE_ENFORCE
    if "core.org.root_access" in modules:  # the hub's own IAM: centralized root access, once per run
        return "OrgListAccountsFunction"
    if service == "iam":
        if enforcing:
            return SPOKE_ENFORCE
        from core.org.routing import is_read_action

        return SPOKE_AUDIT if is_read_action(operation) else SPOKE_ENFORCE
    if handler is not None:
        return handler
    if enforcing:
        return "OrgEnforcerFunction"
    if "core.org.summary" in modules or ("cli.org" in modules and service == "sns"):
        return "OrgDigestFunction"
    if "core.aws.organizations" in modules:
        return "OrgListAccountsFunction"
    return "OrgSweepAccountFunction"


def resource_arn(service: str, operation: str, params: dict[str, Any]) -> str:
    """The resource IAM authorizes the call against (Service Authorization Reference resource types).

    A group's ARN holds its path, which a request does not name: IAM Guard's groups live under
    ``naming.IAM_PATH`` (unless the request creates one elsewhere), so that is the path assumed."""
    from core.model.naming import IAM_PATH

    if service == "iam":
        if "UserName" in params and operation in ("AttachUserPolicy", "DetachUserPolicy"):
            return f"arn:aws:iam::{ACCOUNT}:user/{params['UserName']}"  # the policy is a condition key
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
    if service == "s3" and "Bucket" in params:
        return f"arn:aws:s3:::{params['Bucket']}/{params.get('Key', '')}"
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
    if service == "cloudformation" and "StackSetName" in params:
        return f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stackset/{params['StackSetName']}:id"
    if service == "dynamodb" and "TableName" in params:
        return f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{params['TableName']}"
    if service == "ses":  # SES API v2; SendEmail is authorized against the sender's identity
        identity = params.get("EmailIdentity") or params.get("FromEmailAddress")
        return f"arn:aws:ses:{REGION}:{ACCOUNT}:identity/{identity}" if identity else "*"
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


def _tag_keys(api_params: dict[str, Any]) -> list[str]:
    if "TagKeys" in api_params:
        return [str(k) for k in api_params["TagKeys"]]
    return [str(t["Key"]) for t in api_params.get("Tags") or []]


def request_context(operation: str, params: dict[str, Any]) -> str:
    """The condition keys a request carries that the roles' conditions read (JSON, for the record)."""
    context: dict[str, Any] = {}
    if operation in ("AttachUserPolicy", "DetachUserPolicy") and "PolicyArn" in params:
        context["iam:PolicyARN"] = params["PolicyArn"]
    if operation in ("TagUser", "UntagUser"):  # the roles may grant tagging for one key only
        context["aws:TagKeys"] = sorted(_tag_keys(params))
    if operation == "SendEmail" and "FromEmailAddress" in params:  # the sweep may send only from its sender
        context["ses:FromAddress"] = params["FromEmailAddress"]
    return json.dumps(context, sort_keys=True)


def _recording_make_api_call(self: Any, operation_name: str, api_params: dict[str, Any]) -> Any:
    function, settings = _attribution()
    service = self.meta.service_model.signing_name
    function = _org_attribution(service, operation_name) or function
    if function is None or function == "operator":
        return _original(self, operation_name, api_params)
    record = {
        "function": function,
        "action": f"{service}:{operation_name}",
        "resource": resource_arn(service, operation_name, api_params),
        "group": getattr(settings, "group_name", ""),
        "policy": getattr(settings, "policy_name", ""),
        "topic": getattr(settings, "sns_topic_arn", None) or os.environ.get(TOPIC_VAR, ""),
        "secret": getattr(settings, "slack_secret_arn", None) or os.environ.get(SECRET_VAR, ""),
        "bucket": str(api_params.get("Bucket", "")) if service == "s3" else "",
        # The table the request names is the stack's NotificationsTable (as a bucket is its bucket).
        "table": str(api_params.get("TableName", "")) if service == "dynamodb" else "",
        "channels": json.dumps(
            {p: getattr(settings, f) for f, p in CHANNEL_PARAMETERS.items() if getattr(settings, f, None)}
            # GuardDuty findings on: the role as deployed with GuardDutyFindings=true (the spoke's too).
            | ({"GuardDutyFindings": "true"} if getattr(settings, "guardduty_findings", False) else {}),
            sort_keys=True,
        ),
        "context": request_context(operation_name, api_params) if service in ("iam", "ses") else "{}",
        "test": os.environ.get("PYTEST_CURRENT_TEST", "").rsplit(" ", 1)[0],
    }
    if (service, operation_name) not in OWNER_IN_RESPONSE:
        _records.append(record)
        return _original(self, operation_name, api_params)
    # IAM authorizes against the key's owner, which the request does not name: take it from the answer.
    response = _original(self, operation_name, api_params)
    record["resource"] = f"arn:aws:iam::{ACCOUNT}:user/{response['UserName']}"
    _records.append(record)
    return response


def pytest_configure(config: pytest.Config) -> None:
    global _original
    from concurrent.futures import ThreadPoolExecutor

    from botocore.client import BaseClient

    if _original is None:
        _original = BaseClient._make_api_call
        BaseClient._make_api_call = _recording_make_api_call
        ThreadPoolExecutor.submit = _submit_with_stack(ThreadPoolExecutor.submit)  # type: ignore[method-assign]
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
                record.get("bucket", ""),
                record.get("table", ""),
                record.get("channels", "{}"),
                record.get("context", "{}"),
            )
            calls.add(key)
            example.setdefault(key, record["test"])
    if not calls and not records:
        report.append("no AWS calls by our code were recorded in this run")
        return 0
    ordered = sorted(calls)
    from tests.policy.engine import engine_missing

    missing = engine_missing()
    if missing and os.environ.get(REQUIRE_ENGINE_VAR) == "1":
        report.append(f"FAILED: {missing}; the {len(ordered)} recorded calls were not checked")
        return len(ordered)
    if missing:
        report.append(f"NOT CHECKED: {missing}; the {len(ordered)} recorded calls were not checked")
        return 0
    cases = []
    for function, action, resource, group, policy, topic, secret, bucket, table, channels, request in ordered:
        names = {
            k: v for k, v in (("GroupName", group), ("PolicyName", policy), ("SlackSecretArn", secret)) if v
        }
        names.update(json.loads(channels))  # unset here: the role's test values (FEATURES_ON)
        ours = {"AlertTopic": topic} if topic else {}
        if bucket:
            ours["OrgResultsBucket.Arn"] = f"arn:aws:s3:::{bucket}"
        if table:
            ours["NotificationsTable.Arn"] = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{table}"
        context: dict[str, Any] = {"aws:SecureTransport": "true", **json.loads(request)}  # boto3: always TLS
        if function in SPOKE_LOGICAL:
            cases.append(_spoke_case(function, action, resource, names, context))
            continue
        if function.startswith("Org"):
            names["OrganizationId"] = ORG_ID
            if action.startswith("sts:"):
                context["aws:ResourceOrgID"] = ORG_ID
        policies = role_policies(function, names, ours or None)
        # KMS authorizes through the key policy; the topic has a resource policy too (all from the template).
        resource_policy = None
        if action.startswith("kms:"):
            resource_policy = resolve(template["AlertKey"]["Properties"]["KeyPolicy"], names, ours or None)
        elif action == "sns:Publish":
            resource_policy = resolve(
                template["AlertTopicPolicy"]["Properties"]["PolicyDocument"], names, ours or None
            )
        cases.append(
            {
                "policies": [{"name": name, "policy": doc} for name, doc in policies.items()],
                "resourcePolicy": resource_policy,
                "action": action,
                "resource": resource,
                "principal": physical_value(role_of(function)),
                "context": context,
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
    org_functions = sorted({f for f, *_ in ordered if f.startswith("Org") or f in SPOKE_LOGICAL})
    for function in (*FUNCTIONS, *org_functions):
        granted = actions_of(_job(function))
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


def _job(function: str) -> dict[str, Any]:
    from tests.organizations.spoke_model import role_job
    from tests.template.template_model import role_policies

    if function in SPOKE_LOGICAL:
        return role_job(SPOKE_LOGICAL[function], account=ACCOUNT)
    return role_policies(function, {"OrganizationId": ORG_ID})["job"]


def _spoke_case(
    function: str, action: str, resource: str, names: dict[str, str], context: dict[str, Any]
) -> dict[str, Any]:
    """A member-account call, against the spoke role's policy (org/spoke.yaml) in the same fake account."""
    from tests.organizations.spoke_model import role, role_job

    logical = SPOKE_LOGICAL[function]
    parts = resource.split(":")
    account = parts[4] if len(parts) > 4 and parts[4].isdigit() else ACCOUNT  # the member the call was in
    return {
        "policies": [{"name": "job", "policy": role_job(logical, names, account=account)}],
        "resourcePolicy": None,
        "action": action,
        "resource": resource,
        "principal": f"arn:aws:iam::{account}:role/{role(logical)['RoleName']}",
        "context": context,
    }


def _simulate(cases: list[dict[str, Any]], report: list[str]) -> list[dict[str, Any]] | None:
    from tests.policy.engine import ENGINE_DIR, SCRIPT

    completed = subprocess.run(
        ["node", str(SCRIPT)],
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
