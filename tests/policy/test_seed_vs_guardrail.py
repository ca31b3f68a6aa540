"""The seed policy's defects (iam-facts.md), shown by the engine side by side with our fix.

First a few checks that the engine itself evaluates the condition semantics the fixes rely on (absent
keys, BoolIfExists, IPv6, ``false`` vs ``"false"``, ``${aws:username}``): if it did not, the truth table
would prove nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from core.model.settings import build_settings
from core.policy.document import render_policy

from .engine import ALLOWED, EXPLICIT_DENY, IMPLICIT_DENY, Request, evaluate, mfa_arn, user_arn
from .seed import SEED_CIDRS, SEED_POLICY

pytestmark = pytest.mark.engine

ALLOW_ALL = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
VPCE = "vpce-0a1b2c3d4e5f60718"
INSIDE = {"aws:SourceIp": "203.0.113.10", "aws:ViaAWSService": "false"}
NEW_CONSOLE_USER = {**INSIDE, "aws:MultiFactorAuthPresent": "false"}
ACCESS_KEY = INSIDE  # a long-term key: no aws:MultiFactorAuthPresent at all
WITH_MFA = {**INSIDE, "aws:MultiFactorAuthPresent": "true"}


def deny_when(operator: str, key: str, value: Any) -> dict[str, Any]:
    deny = {"Effect": "Deny", "Action": "*", "Resource": "*", "Condition": {operator: {key: value}}}
    return {"Version": "2012-10-17", "Statement": [deny, *ALLOW_ALL["Statement"]]}


# --- the engine's condition semantics -------------------------------------------------------------------

ENGINE_SEMANTICS = [
    # (condition operator, key, value, request context, decision)
    ("Bool", "aws:MultiFactorAuthPresent", "false", {}, ALLOWED),  # absent key: Bool does not match
    ("BoolIfExists", "aws:MultiFactorAuthPresent", "false", {}, EXPLICIT_DENY),  # ...IfExists does
    ("Bool", "aws:MultiFactorAuthPresent", False, {"aws:MultiFactorAuthPresent": "false"}, EXPLICIT_DENY),
    ("Bool", "aws:MultiFactorAuthPresent", "false", {"aws:MultiFactorAuthPresent": "true"}, ALLOWED),
    ("NotIpAddress", "aws:SourceIp", ["203.0.113.0/24"], {}, EXPLICIT_DENY),  # negated: absent matches
    ("NotIpAddress", "aws:SourceIp", ["2001:db8::/32"], {"aws:SourceIp": "2001:db8::1"}, ALLOWED),
    ("NotIpAddress", "aws:SourceIp", ["203.0.113.0/24"], {"aws:SourceIp": "2001:db8::1"}, EXPLICIT_DENY),
    ("StringNotEqualsIfExists", "aws:SourceVpce", [VPCE], {}, EXPLICIT_DENY),
    ("StringNotEqualsIfExists", "aws:SourceVpce", [VPCE], {"aws:SourceVpce": VPCE}, ALLOWED),
    ("Bool", "aws:ViaAWSService", "false", {}, ALLOWED),
    ("BoolIfExists", "aws:ViaAWSService", "false", {}, EXPLICIT_DENY),
]


def test_engine_evaluates_conditions_as_iam_documents_them() -> None:
    policies = {
        f"p{i}": deny_when(op, key, value) for i, (op, key, value, _, _) in enumerate(ENGINE_SEMANTICS)
    }
    requests = [
        Request((f"p{i}",), "s3:ListAllMyBuckets", "*", row[3]) for i, row in enumerate(ENGINE_SEMANTICS)
    ]
    decisions = evaluate(policies, requests)
    wrong = [(row, got) for row, got in zip(ENGINE_SEMANTICS, decisions, strict=True) if got != row[4]]
    assert not wrong, f"the engine disagrees with IAM's documented semantics: {wrong}"


def test_engine_resolves_the_username_variable_per_caller() -> None:
    own_user = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "iam:GetUser", "Resource": "arn:aws:iam::*:user/${aws:username}"}
        ],
    }
    requests = [
        Request(("p",), "iam:GetUser", user_arn("alice"), user="alice"),
        Request(("p",), "iam:GetUser", user_arn("bob"), user="alice"),
    ]
    assert evaluate({"p": own_user}, requests) == [ALLOWED, IMPLICIT_DENY]


# --- the seed's defects, side by side with the guardrail ------------------------------------------------


@dataclass(frozen=True)
class Case:
    """One request, and the decision under the seed and under our policy in each MFA mode."""

    what: str
    action: str
    resource: str
    context: dict[str, str]
    admin: bool  # the user also has an Allow *:* policy
    seed: str
    strict: str
    console: str


D, X, A = IMPLICIT_DENY, EXPLICIT_DENY, ALLOWED
NEW, KEY, MFA = NEW_CONSOLE_USER, ACCESS_KEY, WITH_MFA
NO_VIA = {"aws:SourceIp": "192.0.2.1", "aws:MultiFactorAuthPresent": "true"}
VPCE_CALL = {"aws:SourceVpce": VPCE, "aws:ViaAWSService": "false", "aws:MultiFactorAuthPresent": "true"}
ALICE, BOB = user_arn("alice"), user_arn("bob")
CREATE = "iam:CreateVirtualMFADevice"
ALICE_DEVICE, PHONE = mfa_arn("alice"), mfa_arn("my-phone")

# fmt: off
CASES = [
    # Case(what, action, resource, context, with admin?, decision under: seed, strict, console)
    # Defect 1: Bool on the absent MFA key does not deny, so an admin's leaked access key works.
    Case("1 admin key no MFA",     "s3:ListAllMyBuckets",          "*",          KEY,       True,  A, X, A),
    # Defect 2: list actions have no resource-level permissions; scoped to the user they grant nothing.
    Case("2 ListUsers",            "iam:ListUsers",                "*",          NEW,       False, D, A, A),
    Case("2 ListVirtualMFADevices","iam:ListVirtualMFADevices",    "*",          NEW,       False, D, A, A),
    # Defect 3: since 2022-11 a device may have any name; the seed allows only mfa/<user name>.
    Case("3 device named alice",   CREATE,                         ALICE_DEVICE, NEW,       False, A, A, A),
    Case("3 device named my-phone",CREATE,                         PHONE,        NEW,       False, D, A, A),
    # Defect 4: the console pages a new user needs before MFA.
    Case("4 GetUser",              "iam:GetUser",                  ALICE,        NEW,       False, X, A, A),
    Case("4 password policy",      "iam:GetAccountPasswordPolicy", "*",          NEW,       False, X, A, A),
    Case("4 GetMFADevice",         "iam:GetMFADevice",             ALICE,        NEW,       False, X, A, A),
    # Defect 5: users may deactivate their own device, with MFA only; never delete one without MFA.
    Case("5 deactivate with MFA",  "iam:DeactivateMFADevice",      ALICE,        MFA,       False, D, A, A),
    Case("5 deactivate no MFA",    "iam:DeactivateMFADevice",      ALICE,        NEW,       True,  X, X, X),
    Case("5 delete no MFA",        "iam:DeleteVirtualMFADevice",   ALICE_DEVICE, NEW,       True,  X, X, X),
    # The seed's exceptions hold on every user: an admin without MFA can enable a device on anyone.
    Case("device on bob no MFA",   "iam:EnableMFADevice",          BOB,          NEW,       True,  A, X, X),
    # Through a VPC endpoint aws:SourceIp is absent: the seed denies; an allowed endpoint passes ours.
    Case("allowed VPC endpoint",   "s3:ListAllMyBuckets",          "*",          VPCE_CALL, True,  X, A, A),
    # Should aws:ViaAWSService ever be absent, the seed's Bool fails open, our BoolIfExists fails closed.
    Case("no ViaAWSService key",   "s3:ListAllMyBuckets",          "*",          NO_VIA,    True,  A, X, X),
]
# fmt: on


@pytest.fixture(scope="module")
def decisions() -> dict[tuple[str, str], str]:
    """(case, policy) -> the engine's decision, for every case under the seed, strict and console."""
    ours = {
        mode: render_policy(build_settings(allowed_cidrs=SEED_CIDRS, allowed_vpce_ids=(VPCE,), mfa_mode=mode))
        for mode in ("strict", "console")
    }
    documents = {"seed": SEED_POLICY, **ours, "admin": ALLOW_ALL}
    keys, requests = [], []
    for case in CASES:
        for policy in ("seed", "strict", "console"):
            keys.append((case.what, policy))
            policies = (policy, "admin") if case.admin else (policy,)
            requests.append(Request(policies, case.action, case.resource, case.context))
    return dict(zip(keys, evaluate(documents, requests), strict=True))


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.what)
def test_seed_and_guardrail_side_by_side(case: Case, decisions: dict[tuple[str, str], str]) -> None:
    got = {policy: decisions[(case.what, policy)] for policy in ("seed", "strict", "console")}
    assert got == {"seed": case.seed, "strict": case.strict, "console": case.console}
