"""The doors the ``guard-escape`` findings name, proven on the IAM engine: a guarded user is denied from
outside the networks, but a session of a role the user may assume is allowed from there until the role
carries the guardrail's network statement (the finding's recommended fix), and allowed from inside after
it (no lockout of the role's legitimate use). ``sts:GetFederationToken`` is closed in strict mode."""

from __future__ import annotations

from typing import Any

import pytest
from tests.organizations.org_engine import ADMIN, Case, decide

from core.model.settings import build_settings
from core.policy.document import render_policy

pytestmark = pytest.mark.engine

ACCOUNT = "123456789012"
SETTINGS = build_settings(allowed_cidrs=("203.0.113.0/24",))
GUARDRAIL = render_policy(SETTINGS)
NETWORK = next(s for s in GUARDRAIL["Statement"] if s["Sid"] == "DenyAllOutsideAllowedNetworks")
USER = f"arn:aws:iam::{ACCOUNT}:user/dev"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/Admin"
SESSION = f"arn:aws:sts::{ACCOUNT}:assumed-role/Admin/dev"
IAM_ONLY = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "iam:*", "Resource": "*"}]}
FIXED = {"Version": "2012-10-17", "Statement": [NETWORK]}
DATA = "arn:aws:s3:::app-data/report.csv"
INSIDE, OUTSIDE = "203.0.113.10", "198.51.100.10"
WITH_MFA = {"aws:MultiFactorAuthPresent": "true", "aws:MultiFactorAuthAge": "60"}
TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "sts:AssumeRole"}
    ],
}


def session(
    row: str, policies: dict[str, Any], ip: str, action: str = "s3:GetObject", resource: str = DATA
) -> Case:
    context: dict[str, str | list[str]] = {"aws:SourceIp": ip, "aws:ViaAWSService": "false"}
    return Case(row, SESSION, action, resource, policies, context)


def user(row: str, action: str, resource: str, context: dict[str, str | list[str]], **extra: Any) -> Case:
    policies = {"guardrail": GUARDRAIL, "admin": ADMIN}
    full: dict[str, str | list[str]] = {"aws:username": "dev", "aws:ViaAWSService": "false", **context}
    return Case(row, USER, action, resource, policies, full, **extra)


def test_a_role_session_goes_around_the_guardrail_until_the_role_carries_the_network_statement() -> None:
    rows = [
        user(
            "the user alone, outside, with MFA", "s3:GetObject", DATA, {"aws:SourceIp": OUTSIDE, **WITH_MFA}
        ),
        user(
            "the user assumes the role from inside, with MFA",
            "sts:AssumeRole",
            ROLE,
            {"aws:SourceIp": INSIDE, **WITH_MFA},
            resource_policy=TRUST,
        ),
        session("admin role session, outside, before the fix", {"admin": ADMIN}, OUTSIDE),
        session("admin role session, outside, after the fix", {"admin": ADMIN, "network": FIXED}, OUTSIDE),
        session("admin role session, inside, after the fix", {"admin": ADMIN, "network": FIXED}, INSIDE),
        session(
            "IAM-writes role session, outside, before the fix",
            {"iam": IAM_ONLY},
            OUTSIDE,
            "iam:CreateAccessKey",
            USER,
        ),
        session(
            "IAM-writes role session, outside, after the fix",
            {"iam": IAM_ONLY, "network": FIXED},
            OUTSIDE,
            "iam:CreateAccessKey",
            USER,
        ),
    ]

    assert decide(rows) == {
        "the user alone, outside, with MFA": "ExplicitlyDenied",
        "the user assumes the role from inside, with MFA": "Allowed",
        "admin role session, outside, before the fix": "Allowed",
        "admin role session, outside, after the fix": "ExplicitlyDenied",
        "admin role session, inside, after the fix": "Allowed",
        "IAM-writes role session, outside, before the fix": "Allowed",
        "IAM-writes role session, outside, after the fix": "ExplicitlyDenied",
    }


def test_get_federation_token_is_closed_in_strict_mode() -> None:
    # GetFederationToken takes long-term credentials only: the request never carries MFA keys.
    federation = f"arn:aws:sts::{ACCOUNT}:federated-user/dev-session"
    rows = [
        user("inside, with an access key", "sts:GetFederationToken", federation, {"aws:SourceIp": INSIDE}),
        user("outside, with an access key", "sts:GetFederationToken", federation, {"aws:SourceIp": OUTSIDE}),
    ]

    assert decide(rows) == {
        "inside, with an access key": "ExplicitlyDenied",
        "outside, with an access key": "ExplicitlyDenied",
    }
