"""Protected secrets (issue 21, item 3), proved on the IAM engine: a guarded user with MFA, on an allowed
network, AdministratorAccess besides, may read a protected secret's metadata and nothing else on it - not
its value, not a new value (alerts redirected), not its resource policy (the notifier locked out), not its
deletion or rotation - whether the request names it by its partial ARN or IAM authorizes its full ARN
(``<partial>-AbCdEf``). Other secrets, including ones whose names start with the protected one's, stay
untouched. Without any protected secret the statement does not exist.
"""

from __future__ import annotations

from typing import Any

import pytest

from core.model.settings import build_settings
from core.policy.document import render_policy

from .engine import ACCOUNT, ALLOWED, EXPLICIT_DENY, Request, evaluate
from .spec import ADMIN_POLICY, FRESH_MFA_SECONDS, INSIDE_CIDR

pytestmark = pytest.mark.engine

PREFIX = f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:"
SLACK = f"{PREFIX}iam-guard/slack-webhook"  # as the docs create it: the partial ARN
TEAMS_FULL = f"{PREFIX}iam-guard/teams-webhook-Xy12Zw"  # given as the full ARN

ATTACKS = (
    "secretsmanager:GetSecretValue",
    "secretsmanager:PutSecretValue",  # redirect the alerts
    "secretsmanager:UpdateSecret",
    "secretsmanager:PutResourcePolicy",  # lock the notifier out
    "secretsmanager:DeleteResourcePolicy",
    "secretsmanager:DeleteSecret",
    "secretsmanager:RotateSecret",
    "secretsmanager:CancelRotateSecret",
    "secretsmanager:UpdateSecretVersionStage",
    "secretsmanager:TagResource",
    "secretsmanager:ReplicateSecretToRegions",
)
METADATA = (
    "secretsmanager:DescribeSecret",
    "secretsmanager:GetResourcePolicy",
    "secretsmanager:ListSecretVersionIds",
)

PROTECTED = [
    ("slack secret, full ARN", f"{SLACK}-AbCdEf"),
    ("slack secret, partial ARN", SLACK),
    ("teams secret, full ARN given", TEAMS_FULL),
]
FOREIGN = [
    ("a secret whose name starts with ours", f"{PREFIX}iam-guard/slack-webhook-2-AbCdEf"),
    ("a secret named like ours plus a 6-character word", f"{PREFIX}iam-guard/slack-webhook-backup-AbCdEf"),
    ("another team's secret", f"{PREFIX}payments/db-password-AbCdEf"),
    ("the teams secret with another suffix", f"{PREFIX}iam-guard/teams-webhook-Other1"),
]


def document(**settings: Any) -> dict[str, Any]:
    return render_policy(build_settings(allowed_cidrs=(INSIDE_CIDR,), **settings))


DOCUMENTS = {
    "protected": document(slack_secret_arn=SLACK, protect_secrets=(TEAMS_FULL,)),
    "unprotected": document(),
    "admin": ADMIN_POLICY,
}
GUARDED_ADMIN_WITH_MFA = {
    "aws:SourceIp": "203.0.113.10",
    "aws:ViaAWSService": "false",
    "aws:MultiFactorAuthPresent": "true",
    "aws:MultiFactorAuthAge": str(FRESH_MFA_SECONDS),
}


def decide(setting: str, cases: list[tuple[str, str, str]]) -> list[tuple[str, str, str, str]]:
    requests = [
        Request((setting, "admin"), action, arn, dict(GUARDED_ADMIN_WITH_MFA)) for _, action, arn in cases
    ]
    return [
        (what, action, arn, got)
        for (what, action, arn), got in zip(cases, evaluate(DOCUMENTS, requests), strict=True)
    ]


def cases(resources: list[tuple[str, str]], actions: tuple[str, ...]) -> list[tuple[str, str, str]]:
    return [(what, action, arn) for what, arn in resources for action in actions]


def wrong(table: list[tuple[str, str, str, str]], want: str) -> list[str]:
    return [
        f"{what}: {action} on {arn}: engine {got}, want {want}"
        for what, action, arn, got in table
        if got != want
    ]


def test_no_attack_on_a_protected_secret_is_allowed_to_a_guarded_administrator() -> None:
    assert wrong(decide("protected", cases(PROTECTED, ATTACKS)), EXPLICIT_DENY) == []


def test_a_protected_secrets_metadata_stays_readable() -> None:
    assert wrong(decide("protected", cases(PROTECTED, METADATA)), ALLOWED) == []


def test_other_secrets_stay_untouched() -> None:
    assert wrong(decide("protected", cases(FOREIGN, ATTACKS + METADATA)), ALLOWED) == []


def test_without_a_protected_secret_nothing_about_secrets_is_denied() -> None:
    """The attacker's cell on today's stack without Slack, and a legitimate user's: nothing to deny."""
    assert wrong(decide("unprotected", cases(PROTECTED, ATTACKS)), ALLOWED) == []
    assert not any("Secret" in s["Sid"] for s in DOCUMENTS["unprotected"]["Statement"])
