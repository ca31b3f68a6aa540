"""The guard-escape rules on the listing's raw entries (pure): AWS managed policies judged by ARN, and
what is undetermined (conditions, NotAction, a user's permissions boundary, NotPrincipal), never safe."""

from __future__ import annotations

from datetime import date
from typing import Any

from core.model.alerts import Severity
from core.model.settings import build_settings
from core.policy.document import render_policy
from core.sweep.escape import guard_escape_findings

ACCOUNT = "123456789012"
SETTINGS = build_settings(allowed_cidrs=("203.0.113.0/24",), exempt_users=frozenset({"breakglass"}))
GUARDRAIL = {
    "Arn": f"arn:aws:iam::{ACCOUNT}:policy/iam-guard/IAMGuardSecureIAMPolicy",
    "PolicyName": "IAMGuardSecureIAMPolicy",
    "PolicyVersionList": [{"IsDefaultVersion": True, "Document": render_policy(SETTINGS)}],
}
TRUST = {
    "Statement": [{"Effect": "Allow", "Principal": {"AWS": ACCOUNT}, "Action": "sts:AssumeRole"}],
}


def aws_managed(name: str) -> dict[str, str]:
    return {"PolicyName": name, "PolicyArn": f"arn:aws:iam::aws:policy/{name}"}


def role(name: str, attached: list[dict[str, str]], trust: dict[str, Any] = TRUST) -> dict[str, Any]:
    return {
        "RoleName": name,
        "Arn": f"arn:aws:iam::{ACCOUNT}:role/{name}",
        "AssumeRolePolicyDocument": trust,
        "AttachedManagedPolicies": attached,
    }


def user(name: str, **entry: Any) -> dict[str, Any]:
    return {"UserName": name, "Arn": f"arn:aws:iam::{ACCOUNT}:user/{name}", "GroupList": [], **entry}


def findings(
    users: list[dict[str, Any]], roles: list[dict[str, Any]], policies: list[Any] | None = None
) -> dict[str, Any]:
    found = guard_escape_findings(
        users, [], roles, [GUARDRAIL, *(policies or [])], SETTINGS, date(2026, 12, 7)
    )
    return {f.user: f for f in found}


def test_aws_managed_policies_are_judged_by_arn() -> None:
    admin = user("admin", AttachedManagedPolicies=[aws_managed("AdministratorAccess")])
    power = user("power", AttachedManagedPolicies=[aws_managed("PowerUserAccess")])
    roles = [role("Admin", [aws_managed("AdministratorAccess")]), role("Iam", [aws_managed("IAMFullAccess")])]

    found = findings([admin, power], roles)

    assert found["admin"].severity == Severity.CRITICAL
    assert "role Admin (full admin" in found["admin"].detail
    assert "role Iam (IAM writes" in found["admin"].detail
    assert found["power"].severity == Severity.LOW
    assert "undetermined: user policy PowerUserAccess (NotAction)" in found["power"].detail


def test_conditions_boundaries_and_not_principal_are_undetermined_never_safe() -> None:
    conditional = {
        "Effect": "Allow",
        "Action": "sts:*",
        "Resource": "*",
        "Condition": {"Bool": {"aws:SecureTransport": "true"}},
    }
    users = [
        user("cond", UserPolicyList=[{"PolicyName": "p", "PolicyDocument": {"Statement": [conditional]}}]),
        user(
            "bounded",
            AttachedManagedPolicies=[aws_managed("AdministratorAccess")],
            PermissionsBoundary={"PermissionsBoundaryArn": f"arn:aws:iam::{ACCOUNT}:policy/b"},
        ),
    ]
    not_principal = {
        "Statement": [{"Effect": "Allow", "NotPrincipal": {"AWS": "x"}, "Action": "sts:AssumeRole"}]
    }

    found = findings(users, [role("Other", [], not_principal)])

    assert "undetermined: role Other (a condition in user policy p)" in found["cond"].detail
    assert "the user has a permissions boundary" in found["bounded"].detail
    assert "role Other (the user's permissions boundary)" in found["bounded"].detail
    assert "can assume" not in found["bounded"].detail


def test_without_a_network_statement_in_the_live_guardrail_no_role_is_a_door() -> None:
    admin = user("admin", AttachedManagedPolicies=[aws_managed("AdministratorAccess")])
    open_guardrail = {
        **GUARDRAIL,
        "PolicyVersionList": [{"IsDefaultVersion": True, "Document": {"Statement": []}}],
    }

    found = guard_escape_findings(
        [admin],
        [],
        [role("Admin", [aws_managed("AdministratorAccess")])],
        [open_guardrail],
        SETTINGS,
        date(2026, 12, 7),
    )

    assert found == []


def test_exempt_users_with_power_are_exempt_findings_by_how_they_are_exempt() -> None:
    users = [
        user("breakglass", AttachedManagedPolicies=[aws_managed("AdministratorAccess")]),
        user(
            "ci",
            AttachedManagedPolicies=[aws_managed("IAMFullAccess")],
            Tags=[{"Key": "iam-guard:exempt", "Value": "true"}],
        ),
        user(
            "viewer",
            AttachedManagedPolicies=[aws_managed("ReadOnlyAccess")],
            Tags=[{"Key": "iam-guard:exempt", "Value": "true"}],
        ),
    ]

    found = findings(users, [])

    assert {u: (f.severity, f.status) for u, f in found.items()} == {
        "breakglass": (Severity.INFO, "exempt"),
        "ci": (Severity.HIGH, "exempt"),
    }


def test_a_trust_naming_the_account_root_is_read_in_the_accounts_partition() -> None:
    """GovCloud: the trust names arn:aws-us-gov:iam::<account>:root, the user arn:aws-us-gov:...:user/x."""
    gov_trust = {
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws-us-gov:iam::{ACCOUNT}:root"},
                "Action": "sts:AssumeRole",
            }
        ]
    }
    admin_policy = {
        "PolicyName": "AdministratorAccess",
        "PolicyArn": "arn:aws-us-gov:iam::aws:policy/AdministratorAccess",
    }
    gov_user = {
        **user("dev", AttachedManagedPolicies=[admin_policy]),
        "Arn": f"arn:aws-us-gov:iam::{ACCOUNT}:user/dev",
    }
    gov_role = {
        **role("Admin", [admin_policy], gov_trust),
        "Arn": f"arn:aws-us-gov:iam::{ACCOUNT}:role/Admin",
    }

    found = findings([gov_user], [gov_role])

    assert found["dev"].severity == Severity.CRITICAL
    assert f"arn:aws-us-gov:iam::{ACCOUNT}:root" in found["dev"].detail
