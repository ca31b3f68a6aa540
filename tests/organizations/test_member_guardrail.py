"""A member account's guardrail (org mode) protects the spoke: the IAM engine over a truth table.

Without the optional protection SCP, the guardrail is what keeps a guarded member user (AdministratorAccess
included, with MFA, on an allowed network) from switching the member off: the spoke's roles and rules, the
secured group and the policy are read-only to them; everything else of the account is untouched.
"""

from __future__ import annotations

import pytest
from tests.policy.engine import ACCOUNT, ALLOWED, EXPLICIT_DENY, Request, evaluate

from core.model.settings import build_settings
from core.org.spoke import SPOKE_ROLES, SPOKE_RULES, member_settings
from core.policy.document import render_policy

pytestmark = pytest.mark.engine

ADMIN = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
MFA = {"aws:MultiFactorAuthPresent": "true", "aws:MultiFactorAuthAge": "60", "aws:SourceIp": "203.0.113.7"}


def arn(kind: str, name: str) -> str:
    if kind == "rule":
        return f"arn:aws:events:us-east-1:{ACCOUNT}:rule/{name}"
    return f"arn:aws:iam::{ACCOUNT}:{kind}/{name}"


OURS = [
    *((f"spoke role {r}", arn("role", r)) for r in SPOKE_ROLES),
    *((f"spoke rule {r}", arn("rule", r)) for r in SPOKE_RULES),
    ("secured group", arn("group", "iam-guard/IAMGuardSecuredUsers")),
    ("guardrail policy", arn("policy", "iam-guard/IAMGuardSecureIAMPolicy")),
]
FOREIGN = [
    ("another role", arn("role", "AppDeployer")),
    ("a role named like the spoke's", arn("role", "IAMGuardAuditRoleCopy")),
    ("another rule", arn("rule", "payments-nightly")),
    ("another group", arn("group", "Developers")),
    ("another policy", arn("policy", "AppPolicy")),
]
WRITES = {
    "role": ("iam:PutRolePolicy", "iam:UpdateAssumeRolePolicy", "iam:DeleteRole", "iam:PassRole"),
    "rule": ("events:DisableRule", "events:RemoveTargets", "events:PutRule", "events:DeleteRule"),
    "group": ("iam:RemoveUserFromGroup", "iam:DetachGroupPolicy", "iam:DeleteGroup", "iam:UpdateGroup"),
    "policy": ("iam:CreatePolicyVersion", "iam:SetDefaultPolicyVersion", "iam:DeletePolicy"),
}
READS = {
    "role": ("iam:GetRole",),
    "rule": ("events:DescribeRule", "events:ListTargetsByRule"),
    "group": ("iam:GetGroup",),
    "policy": ("iam:GetPolicy",),
}


def kind_of(resource: str) -> str:
    return "rule" if ":rule/" in resource else resource.split(":", 5)[5].split("/", 1)[0]


def test_a_member_guardrail_protects_the_spoke_and_nothing_else() -> None:
    member = render_policy(
        member_settings(build_settings(allowed_cidrs=("203.0.113.0/24",), stack_name="hub"))
    )
    assert not any(
        s["Sid"].startswith("DenyChangesToIAMGuard") and s["Sid"] != "DenyChangesToIAMGuardSpoke"
        for s in member["Statement"]
    ), "the hub's own resources do not exist in a member"
    rows: list[tuple[str, str, str, str]] = []
    for what, resource in OURS:
        rows += [(what, action, resource, EXPLICIT_DENY) for action in WRITES[kind_of(resource)]]
        rows += [(what, action, resource, ALLOWED) for action in READS[kind_of(resource)]]
    for what, resource in FOREIGN:
        rows += [(what, action, resource, ALLOWED) for action in WRITES[kind_of(resource)]]
    documents = {"guardrail": member, "admin": ADMIN}
    requests = [Request(("guardrail", "admin"), action, resource, MFA) for _, action, resource, _ in rows]

    decisions = evaluate(documents, requests)

    wrong = [
        f"{what}: {action} -> {got}, expected {want}"
        for (what, action, _, want), got in zip(rows, decisions, strict=True)
        if got != want
    ]
    assert not wrong, "\n".join(wrong)
    assert len(rows) == 67  # 4 spoke rules since the GuardDuty forwarding rule (IAMGuardForwardGuardDuty)


def test_the_single_account_guardrail_has_no_spoke_statement() -> None:
    alone = render_policy(build_settings(allowed_cidrs=("203.0.113.0/24",), stack_name="iam-guard"))
    assert "DenyChangesToIAMGuardSpoke" not in {s["Sid"] for s in alone["Statement"]}
