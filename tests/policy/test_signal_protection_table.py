"""IAM Guard's alerts cannot be hidden by a guarded user (issue 21, items 5 and 8), proved on the IAM engine.

A guarded user with MFA, on an allowed network, AdministratorAccess besides, with the stack's
self-protection on: cannot publish metrics in IAM Guard's namespace (a forged ``SweepCompleted`` keeps the
sweep-missing alarm quiet), cannot update a map run of the org sweep, cannot update or import Security Hub
findings (Workflow SUPPRESSED, an overwritten finding) and cannot write automation rules (suppressing every
future finding). Security Hub's condition keys cannot tell IAM Guard's findings from others'
(``securityhub:ASFFSyntaxPath/*`` names the fields the request sets, not the findings), so finding writes
are denied whoever's the finding; reads of findings, their history and automation rules stay allowed, and
so do metrics in any other namespace and other stacks' map runs. Without a stack name nothing is denied.
"""

from __future__ import annotations

from typing import Any

import pytest

from core.model.settings import build_settings
from core.policy.document import render_policy

from .engine import ACCOUNT, ALLOWED, EXPLICIT_DENY, Request, evaluate
from .spec import ADMIN_POLICY, FRESH_MFA_SECONDS, INSIDE_CIDR

pytestmark = pytest.mark.engine

STACK = "Guard-Prod-" + "x" * 24 + "-Acme"  # 40 characters, the longest accepted
HUB = f"arn:aws:securityhub:us-east-1:{ACCOUNT}:hub/default"
PRODUCT = f"arn:aws:securityhub:us-east-1:{ACCOUNT}:product/{ACCOUNT}/default"
RULE = f"arn:aws:securityhub:us-east-1:{ACCOUNT}:automation-rule/a1b2c3d4-5678-90ab-cdef-EXAMPLE11111"
RULE_V2 = f"arn:aws:securityhub:us-east-1:{ACCOUNT}:automation-rulev2/a1b2c3d4-5678-90ab-cdef-EXAMPLE22222"


def map_run(stack: str) -> str:
    return f"arn:aws:states:us-east-1:{ACCOUNT}:mapRun:{stack}_org-sweep/accounts:0a1b2c3d-4e5f-6071-8293"


def namespace(name: str) -> dict[str, str]:
    return {"cloudwatch:namespace": name}


WORKFLOW = "securityhub:ASFFSyntaxPath/Workflow.Status"

# (what, action, resource, extra context)
ATTACKS: list[tuple[str, str, str, dict[str, str]]] = [
    ("forged SweepCompleted", "cloudwatch:PutMetricData", "*", namespace("IAMGuard")),
    ("suppress a finding", "securityhub:BatchUpdateFindings", HUB, {WORKFLOW: "SUPPRESSED"}),
    ("resolve a finding", "securityhub:BatchUpdateFindings", HUB, {WORKFLOW: "RESOLVED"}),
    ("lower a finding's severity", "securityhub:BatchUpdateFindings", HUB, {}),
    ("overwrite a finding by its ID", "securityhub:BatchImportFindings", PRODUCT, {}),
    ("an automation rule suppressing all", "securityhub:CreateAutomationRule", "*", {}),
    ("the same, V2", "securityhub:CreateAutomationRuleV2", "*", {}),
    ("rewrite an automation rule", "securityhub:BatchUpdateAutomationRules", RULE, {}),
    ("the same, V2", "securityhub:UpdateAutomationRuleV2", RULE_V2, {}),
    ("delete an automation rule", "securityhub:BatchDeleteAutomationRules", RULE, {}),
    ("the same, V2", "securityhub:DeleteAutomationRuleV2", RULE_V2, {}),
    ("slow or fail the org sweep's map run", "states:UpdateMapRun", map_run(STACK), {}),
]
LEGITIMATE: list[tuple[str, str, str, dict[str, str]]] = [
    ("an application's metrics", "cloudwatch:PutMetricData", "*", namespace("MyApp")),
    ("a namespace that starts with ours", "cloudwatch:PutMetricData", "*", namespace("IAMGuard/Dev")),
    ("read findings", "securityhub:GetFindings", HUB, {}),
    ("read a finding's history", "securityhub:GetFindingHistory", HUB, {}),
    ("list automation rules", "securityhub:ListAutomationRules", "*", {}),
    ("read automation rules", "securityhub:BatchGetAutomationRules", RULE, {}),
    ("read an automation rule, V2", "securityhub:GetAutomationRuleV2", RULE_V2, {}),
    ("read the org sweep's map run", "states:DescribeMapRun", map_run(STACK), {}),
    ("another stack's map run", "states:UpdateMapRun", map_run(f"{STACK}-dev"), {}),
    ("a map run of a stack whose name ends with ours", "states:UpdateMapRun", map_run(f"my-{STACK}"), {}),
]


def document(**settings: Any) -> dict[str, Any]:
    return render_policy(build_settings(allowed_cidrs=(INSIDE_CIDR,), max_mfa_age_hours=12, **settings))


DOCUMENTS = {
    "stack": document(stack_name=STACK),
    "no stack": document(),
    "admin": ADMIN_POLICY,
}
GUARDED_ADMIN_WITH_MFA = {
    "aws:SourceIp": "203.0.113.10",
    "aws:ViaAWSService": "false",
    "aws:MultiFactorAuthPresent": "true",
    "aws:MultiFactorAuthAge": str(FRESH_MFA_SECONDS),
}


def wrong(setting: str, rows: list[tuple[str, str, str, dict[str, str]]], want: str) -> list[str]:
    requests = [
        Request((setting, "admin"), action, arn, {**GUARDED_ADMIN_WITH_MFA, **extra})
        for _, action, arn, extra in rows
    ]
    return [
        f"{what}: {action} on {arn} {extra}: engine {got}, want {want}"
        for (what, action, arn, extra), got in zip(rows, evaluate(DOCUMENTS, requests), strict=True)
        if got != want
    ]


def test_no_way_to_hide_iam_guards_alerts_is_allowed_to_a_guarded_administrator() -> None:
    assert wrong("stack", ATTACKS, EXPLICIT_DENY) == []


def test_reads_other_namespaces_and_other_stacks_stay_allowed() -> None:
    assert wrong("stack", LEGITIMATE, ALLOWED) == []


def test_without_a_stack_name_nothing_here_is_denied() -> None:
    assert wrong("no stack", ATTACKS + LEGITIMATE, ALLOWED) == []
    assert not any(s["Sid"] == "DenyHidingAlerts" for s in DOCUMENTS["no stack"]["Statement"])
