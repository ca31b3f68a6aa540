"""The IAMGuardDenyUnenrolled SCP (``iam-guard scp --deny-unenrolled``) proven with the IAM engine, with
SCP inputs: the attacker's cells (an unenrolled user, a user tagging itself, an admin tagging or rewriting
the enforce role) and the legitimate ones (enrolled users, first MFA setup, break-glass and exempt users,
roles, the member root user, IAM Guard's roles, StackSet execution roles). moto evaluates no SCP."""

from __future__ import annotations

import pytest
from tests.organizations import spoke_model
from tests.organizations.org_engine import ADMIN, Case, decide, scp_levels

from core.policy.scp import render_deny_unenrolled_scp

M = spoke_model.MEMBER
ALLOWED, EXPLICIT = "Allowed", "ExplicitlyDenied"
ENROLLED = "aws:PrincipalTag/iam-guard:enrolled"
EXEMPT = "aws:PrincipalTag/iam-guard:exempt"

ADMIN_ROLE = f"arn:aws:iam::{M}:role/Admin"
ROOT = f"arn:aws:iam::{M}:root"
ENFORCE = f"arn:aws:iam::{M}:role/IAMGuardEnforceRole"
HUB_STACK_ROLE = f"arn:aws:iam::{M}:role/iam-guard/iam-guard/iam-guard_org-enforcer"
STACKSET_EXEC = f"arn:aws:iam::{M}:role/stacksets-exec-0123456789abcdef"
LINKED = f"arn:aws:iam::{M}:role/aws-service-role/support.amazonaws.com/AWSServiceRoleForSupport"


def user(name: str, path: str = "/") -> str:
    return f"arn:aws:iam::{M}:user{path}{name}"


ALICE = user("alice")
BUCKETS = "arn:aws:s3:::app-data"
ENFORCE_ROLE_RESOURCE = f"arn:aws:iam::{M}:role/IAMGuardEnforceRole"

# (row, principal, principal type, principal tags, action, resource, request tag keys,
#  decision with --exempt-user breakglass, decision with --no-user-break-glass)
Row = tuple[str, str, str, dict[str, str], str, str, list[str] | None, str, str]
TABLE: list[Row] = [
    # the attacker: a new user with a fresh access key, before the enforcer has run
    (
        "unenrolled user reads data",
        ALICE,
        "User",
        {},
        "s3:GetObject",
        f"{BUCKETS}/x",
        None,
        EXPLICIT,
        EXPLICIT,
    ),
    (
        "unenrolled user makes a second key",
        ALICE,
        "User",
        {},
        "iam:CreateAccessKey",
        ALICE,
        None,
        EXPLICIT,
        EXPLICIT,
    ),
    (
        "unenrolled user tags itself enrolled",
        ALICE,
        "User",
        {},
        "iam:TagUser",
        ALICE,
        ["iam-guard:enrolled"],
        EXPLICIT,
        EXPLICIT,
    ),
    (
        "user tagged enrolled=false",
        ALICE,
        "User",
        {ENROLLED: "false"},
        "s3:GetObject",
        f"{BUCKETS}/x",
        None,
        EXPLICIT,
        EXPLICIT,
    ),
    (
        "user named like the break-glass user",
        user("breakglass2"),
        "User",
        {},
        "s3:GetObject",
        f"{BUCKETS}/x",
        None,
        EXPLICIT,
        EXPLICIT,
    ),
    # the first MFA setup stays possible
    ("unenrolled user reads itself", ALICE, "User", {}, "iam:GetUser", ALICE, None, ALLOWED, ALLOWED),
    (
        "unenrolled user creates a virtual MFA device",
        ALICE,
        "User",
        {},
        "iam:CreateVirtualMFADevice",
        f"arn:aws:iam::{M}:mfa/alice-phone",
        None,
        ALLOWED,
        ALLOWED,
    ),
    ("unenrolled user enables it", ALICE, "User", {}, "iam:EnableMFADevice", ALICE, None, ALLOWED, ALLOWED),
    (
        "unenrolled user sets a password",
        ALICE,
        "User",
        {},
        "iam:ChangePassword",
        ALICE,
        None,
        ALLOWED,
        ALLOWED,
    ),
    (
        "unenrolled user reads the password policy",
        ALICE,
        "User",
        {},
        "iam:GetAccountPasswordPolicy",
        "*",
        None,
        ALLOWED,
        ALLOWED,
    ),
    (
        "unenrolled user gets an MFA session",
        ALICE,
        "User",
        {},
        "sts:GetSessionToken",
        "*",
        None,
        ALLOWED,
        ALLOWED,
    ),
    # enrolled, exempt and break-glass users
    (
        "enrolled user reads data",
        ALICE,
        "User",
        {ENROLLED: "true"},
        "s3:GetObject",
        f"{BUCKETS}/x",
        None,
        ALLOWED,
        ALLOWED,
    ),
    (
        "enrolled user removes its enrolled tag",
        ALICE,
        "User",
        {ENROLLED: "true"},
        "iam:UntagUser",
        ALICE,
        ["iam-guard:enrolled"],
        EXPLICIT,
        EXPLICIT,
    ),
    (
        "enrolled user tags another user enrolled (other case)",
        ALICE,
        "User",
        {ENROLLED: "true"},
        "iam:TagUser",
        user("bob"),
        ["IAM-Guard:Enrolled"],
        EXPLICIT,
        EXPLICIT,
    ),
    (
        "enrolled user tags a user with another key",
        ALICE,
        "User",
        {ENROLLED: "true"},
        "iam:TagUser",
        user("bob"),
        ["team"],
        ALLOWED,
        ALLOWED,
    ),
    (
        "user exempt by tag",
        user("ci"),
        "User",
        {EXEMPT: "2027-03-31"},
        "s3:GetObject",
        f"{BUCKETS}/x",
        None,
        ALLOWED,
        ALLOWED,
    ),
    (
        "break-glass user",
        user("breakglass"),
        "User",
        {},
        "s3:GetObject",
        f"{BUCKETS}/x",
        None,
        ALLOWED,
        EXPLICIT,
    ),
    (
        "break-glass user on a path",
        user("breakglass", "/admins/"),
        "User",
        {},
        "iam:CreateUser",
        user("new"),
        None,
        ALLOWED,
        EXPLICIT,
    ),
    # roles, root, IAM Guard
    (
        "admin role reads data",
        ADMIN_ROLE,
        "AssumedRole",
        {},
        "s3:GetObject",
        f"{BUCKETS}/x",
        None,
        ALLOWED,
        ALLOWED,
    ),
    ("member root", ROOT, "Account", {}, "iam:CreateUser", user("new"), None, ALLOWED, ALLOWED),
    (
        "service-linked role",
        LINKED,
        "AssumedRole",
        {},
        "s3:GetObject",
        f"{BUCKETS}/x",
        None,
        ALLOWED,
        ALLOWED,
    ),
    (
        "admin role tags a user enrolled",
        ADMIN_ROLE,
        "AssumedRole",
        {},
        "iam:TagUser",
        ALICE,
        ["iam-guard:enrolled"],
        EXPLICIT,
        EXPLICIT,
    ),
    (
        "root creates a user tagged enrolled",
        ROOT,
        "Account",
        {},
        "iam:CreateUser",
        user("new"),
        ["iam-guard:enrolled"],
        EXPLICIT,
        EXPLICIT,
    ),
    (
        "admin role creates an untagged user",
        ADMIN_ROLE,
        "AssumedRole",
        {},
        "iam:CreateUser",
        user("new"),
        None,
        ALLOWED,
        ALLOWED,
    ),
    (
        "admin role rewrites the enforce role's trust",
        ADMIN_ROLE,
        "AssumedRole",
        {},
        "iam:UpdateAssumeRolePolicy",
        ENFORCE_ROLE_RESOURCE,
        None,
        EXPLICIT,
        EXPLICIT,
    ),
    (
        "enforce role tags a user enrolled",
        ENFORCE,
        "AssumedRole",
        {},
        "iam:TagUser",
        ALICE,
        ["iam-guard:enrolled"],
        ALLOWED,
        ALLOWED,
    ),
    (
        "enforce role removes the tag",
        ENFORCE,
        "AssumedRole",
        {},
        "iam:UntagUser",
        ALICE,
        ["iam-guard:enrolled"],
        ALLOWED,
        ALLOWED,
    ),
    (
        "hub stack role tags a user enrolled",
        HUB_STACK_ROLE,
        "AssumedRole",
        {},
        "iam:TagUser",
        ALICE,
        ["iam-guard:enrolled"],
        ALLOWED,
        ALLOWED,
    ),
    (
        "StackSet updates the enforce role",
        STACKSET_EXEC,
        "AssumedRole",
        {},
        "iam:UpdateAssumeRolePolicy",
        ENFORCE_ROLE_RESOURCE,
        None,
        ALLOWED,
        ALLOWED,
    ),
]


def cases(scp: dict[str, object] | None) -> list[Case]:
    out = []
    for row, principal, kind, tags, action, resource, tag_keys, _, _ in TABLE:
        context: dict[str, str | list[str]] = {
            "aws:PrincipalArn": principal,
            "aws:PrincipalType": kind,
            **tags,
        }
        if tag_keys is not None:
            context["aws:TagKeys"] = tag_keys
        scps = scp_levels(M, scp) if scp is not None else scp_levels(M)
        out.append(Case(row, principal, action, resource, {"admin": ADMIN}, context, scps=scps))
    return out


def test_without_the_scp_every_cell_is_allowed() -> None:
    assert decide(cases(None)) == {row[0]: ALLOWED for row in TABLE}


@pytest.mark.parametrize("break_glass", [True, False])
def test_the_scp_leaves_unenrolled_users_only_mfa_setup_and_locks_out_no_legitimate_principal(
    break_glass: bool,
) -> None:
    scp = (
        render_deny_unenrolled_scp("iam-guard", exempt_users=["breakglass"])
        if break_glass
        else render_deny_unenrolled_scp("iam-guard", user_break_glass=False)
    )

    decisions = decide(cases(scp))

    expected = {row[0]: (row[7] if break_glass else row[8]) for row in TABLE}
    assert decisions == expected


# The spoke's IAMGuardEnforceRole (org/spoke.yaml) under both SCPs: it may set and remove the enrolled
# tag, and no other key with it (ForAllValues:StringEquals on aws:TagKeys).
ENFORCE_TAGGING: list[tuple[str, str, list[str], str]] = [
    ("sets the enrolled tag", "iam:TagUser", ["iam-guard:enrolled"], ALLOWED),
    ("removes the enrolled tag", "iam:UntagUser", ["iam-guard:enrolled"], ALLOWED),
    ("sets the exemption tag", "iam:TagUser", ["iam-guard:exempt"], "ImplicitlyDenied"),
    ("sets the enrolled tag and another", "iam:TagUser", ["iam-guard:enrolled", "team"], "ImplicitlyDenied"),
    ("removes the exemption tag", "iam:UntagUser", ["iam-guard:exempt"], "ImplicitlyDenied"),
]


def test_the_enforce_role_may_change_the_enrolled_tag_and_no_other_key_under_both_scps() -> None:
    from core.policy.scp import render_scp

    job = spoke_model.role_job("EnforceRole")
    scps = scp_levels(
        M, render_scp("iam-guard"), render_deny_unenrolled_scp("iam-guard", exempt_users=["bg"])
    )
    rows = [
        Case(
            row,
            ENFORCE,
            action,
            ALICE,
            {"job": job},
            {"aws:PrincipalArn": ENFORCE, "aws:PrincipalType": "AssumedRole", "aws:TagKeys": keys},
            scps=scps,
        )
        for row, action, keys, _ in ENFORCE_TAGGING
    ]

    assert decide(rows) == {row: decision for row, _, _, decision in ENFORCE_TAGGING}
