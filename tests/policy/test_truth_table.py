"""The guardrail policy, proved by an independent IAM engine over the whole request matrix.

Every row of the matrix (network x MFA x aws:ViaAWSService x action/target x MFA mode x with or without an
``Allow *:*`` policy, for several network settings) is evaluated twice: by the npm engine
``@cloud-copilot/iam-simulate`` on the policy ``render_policy`` produces, and by ``expected`` below, a
small oracle written from the specification (issues 2 and 10, iam-facts.md, ``spec.py``), not from the
policy code. The self-defence statements of issue 10 have their own tables (test_self_protection_table.py,
test_hardening_table.py). The first test compares them row by row; the others state the product's promises
directly, so a reader sees them without reading the oracle.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import pytest

from core.model.settings import build_settings
from core.policy.document import render_policy

from .engine import ALLOWED, EXPLICIT_DENY, IMPLICIT_DENY, Request, evaluate, mfa_arn, user_arn
from .spec import (
    ACCOUNT_WIDE_SELF_SERVICE,
    ADMIN_POLICY,
    CREATE_DEVICE,
    DEACTIVATE,
    MFA_REGISTRATION,
    OWN_USER_SELF_SERVICE,
    SELF_SERVICE,
)

pytestmark = pytest.mark.engine

# --- the specification ----------------------------------------------------------------------------------

# Ordinary actions: the guardrail grants none of them; an admin policy does, once the guardrail lets it.
ORDINARY = {
    "s3:ListAllMyBuckets": "*",
    "ec2:DescribeInstances": "*",
    "iam:CreateUser": user_arn("newbie"),
    "iam:DeleteVirtualMFADevice": mfa_arn("alice"),  # AWS warns against exempting it from the MFA gate
}

ME, OTHER = "alice", "bob"  # the caller, and another IAM user of the account

VPCE_ALLOWED = "vpce-0a1b2c3d4e5f60718"
VPCE_OTHER = "vpce-0fedcba987654321f"

# Where a request comes from: its network context keys (a key not listed is absent from the request).
NETWORKS: dict[str, dict[str, str]] = {
    "ipv4 inside": {"aws:SourceIp": "203.0.113.10"},
    "ipv4 outside": {"aws:SourceIp": "198.51.100.10"},
    "ipv6 inside": {"aws:SourceIp": "2001:db8:1::10"},
    "ipv6 outside": {"aws:SourceIp": "2001:db8:2::10"},
    # Through a VPC endpoint aws:SourceIp is absent; aws:SourceVpce / aws:VpcSourceIp are present.
    "allowed vpc endpoint": {"aws:SourceVpce": VPCE_ALLOWED, "aws:VpcSourceIp": "10.0.0.5"},
    "other vpc endpoint": {"aws:SourceVpce": VPCE_OTHER, "aws:VpcSourceIp": "10.0.0.5"},
    "no source key": {},
}

# MFA as IAM reports it: "true"/"false" for sessions (console, GetSessionToken); absent for requests
# signed with a long-term access key.
MFA_CONTEXT: dict[str, dict[str, str]] = {
    "true": {"aws:MultiFactorAuthPresent": "true"},
    "false": {"aws:MultiFactorAuthPresent": "false"},
    "absent (access key)": {},
}


@dataclass(frozen=True)
class NetworkSetting:
    """An allow-list as the user configures it, and which NETWORKS it must let in."""

    cidrs: tuple[str, ...]
    vpces: tuple[str, ...]
    restrict: bool
    lets_in: frozenset[str]


NETWORK_SETTINGS = {
    "ipv4+ipv6+vpce": NetworkSetting(
        ("203.0.113.0/24", "2001:db8:1::/48"),
        (VPCE_ALLOWED,),
        True,
        frozenset({"ipv4 inside", "ipv6 inside", "allowed vpc endpoint"}),
    ),
    "ipv4 only": NetworkSetting(("203.0.113.0/24",), (), True, frozenset({"ipv4 inside"})),
    "vpce only": NetworkSetting((), (VPCE_ALLOWED,), True, frozenset({"allowed vpc endpoint"})),
    "no ip restriction": NetworkSetting((), (), False, frozenset(NETWORKS)),
}
MAIN_SETTING = "ipv4+ipv6+vpce"


def expected(
    setting: str, mode: str, network: str, mfa: str, via: bool, action: str, target: str, admin: bool
) -> str:
    """The decision the specification asks for. ``target`` is "own", "other" or "any"."""
    if network not in NETWORK_SETTINGS[setting].lets_in and not via:
        return EXPLICIT_DENY  # outside the allowed networks, and no AWS service acting for the user
    without_mfa = mfa == "false" or (mfa == "absent (access key)" and mode == "strict")
    self_service_on_own = action in SELF_SERVICE and target != "other"
    if without_mfa and not self_service_on_own:
        return EXPLICIT_DENY  # even an admin: nothing but self-service on yourself until MFA
    if mode == "strict" and mfa == "absent (access key)" and action in MFA_REGISTRATION:
        return EXPLICIT_DENY  # issue 10: a long-term key cannot register an MFA device (console can)
    if admin:
        return ALLOWED
    if self_service_on_own or (action == DEACTIVATE and target == "own" and mfa == "true"):
        return ALLOWED
    return IMPLICIT_DENY  # the guardrail grants nothing else


# --- the matrix -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    setting: str
    mode: str
    network: str
    mfa: str
    via: bool
    action: str
    target: str
    resource: str
    admin: bool

    def expected(self) -> str:
        return expected(
            self.setting, self.mode, self.network, self.mfa, self.via, self.action, self.target, self.admin
        )

    def __str__(self) -> str:
        return (
            f"{self.mode:7} {self.setting:17} {self.network:20} mfa={self.mfa:18} via={self.via!s:5} "
            f"admin={self.admin!s:5} {self.action} on {self.resource}"
        )


def action_targets() -> list[tuple[str, str, str]]:
    """(action, target, resource) for every action the matrix asks about."""
    rows = [(action, "any", "*") for action in ACCOUNT_WIDE_SELF_SERVICE]
    for action in (*OWN_USER_SELF_SERVICE, DEACTIVATE):
        rows += [(action, "own", user_arn(ME)), (action, "other", user_arn(OTHER))]
    # A virtual MFA device may have any name, including the user's own or another user's name.
    rows += [(CREATE_DEVICE, "any", mfa_arn(name)) for name in (ME, "alice-phone", OTHER)]
    rows += [(action, "any", resource) for action, resource in ORDINARY.items()]
    return rows


# Outside the main setting, the network cases are what changes: a few actions are enough there.
NETWORK_PROBES = [
    ("s3:ListAllMyBuckets", "any", "*"),
    ("iam:GetUser", "own", user_arn(ME)),
    ("iam:ChangePassword", "own", user_arn(ME)),
]


def matrix() -> list[Row]:
    rows = []
    for setting in NETWORK_SETTINGS:
        actions = action_targets() if setting == MAIN_SETTING else NETWORK_PROBES
        for mode, network, mfa, via, (action, target, resource), admin in itertools.product(
            ("strict", "console"), NETWORKS, MFA_CONTEXT, (False, True), actions, (False, True)
        ):
            rows.append(Row(setting, mode, network, mfa, via, action, target, resource, admin))
    return rows


def guardrail(setting: str, mode: str) -> dict[str, Any]:
    network = NETWORK_SETTINGS[setting]
    return render_policy(
        build_settings(
            allowed_cidrs=network.cidrs,
            allowed_vpce_ids=network.vpces,
            ip_restriction=network.restrict,
            mfa_mode=mode,
        )
    )


def to_request(row: Row) -> Request:
    guardrail_name = f"{row.setting}/{row.mode}"
    policies = (guardrail_name, "admin") if row.admin else (guardrail_name,)
    context = {
        **NETWORKS[row.network],
        **MFA_CONTEXT[row.mfa],
        "aws:ViaAWSService": "true" if row.via else "false",
    }
    return Request(policies, row.action, row.resource, context, user=ME)


@pytest.fixture(scope="module")
def table() -> list[tuple[Row, str]]:
    """Every row with the engine's decision (one engine process for the whole matrix)."""
    rows = matrix()
    documents = {f"{s}/{m}": guardrail(s, m) for s in NETWORK_SETTINGS for m in ("strict", "console")}
    documents["admin"] = ADMIN_POLICY
    decisions = evaluate(documents, [to_request(row) for row in rows])
    return list(zip(rows, decisions, strict=True))


def mismatches(
    table: Iterable[tuple[Row, str]], where: Callable[[Row], bool], want: Callable[[Row], str]
) -> list[str]:
    return [f"{row}: engine {got}, want {want(row)}" for row, got in table if where(row) and got != want(row)]


def report(problems: list[str]) -> str:
    shown = "\n  ".join(problems[:40])
    more = f"\n  ... and {len(problems) - 40} more" if len(problems) > 40 else ""
    return f"{len(problems)} rows disagree:\n  {shown}{more}"


# --- the proofs -----------------------------------------------------------------------------------------


def test_engine_agrees_with_the_specification_on_every_row(table: list[tuple[Row, str]]) -> None:
    assert len(table) > 4000  # the whole matrix, not a sample
    problems = mismatches(table, lambda row: True, Row.expected)
    assert not problems, report(problems)


CONSOLE_FIRST_SIGN_IN = [
    ("iam:GetAccountPasswordPolicy", "*"),
    ("iam:ChangePassword", user_arn(ME)),
    ("iam:GetUser", user_arn(ME)),
    ("iam:ListMFADevices", user_arn(ME)),
    ("iam:ListVirtualMFADevices", "*"),
    ("iam:ListUsers", "*"),
    (CREATE_DEVICE, mfa_arn("alice-phone")),
    (CREATE_DEVICE, mfa_arn("Work YubiKey")),
    (CREATE_DEVICE, mfa_arn(ME)),
    ("iam:EnableMFADevice", user_arn(ME)),
    ("iam:ResyncMFADevice", user_arn(ME)),
    ("iam:GetMFADevice", user_arn(ME)),
]


@pytest.mark.parametrize("mode", ["strict", "console"])
@pytest.mark.parametrize("network", ["ipv4 inside", "ipv6 inside", "allowed vpc endpoint"])
def test_no_lockout_new_user_reaches_every_step_of_mfa_setup_without_mfa(mode: str, network: str) -> None:
    """A new console user (MFA false, only the guardrail attached) can change the password and set up MFA."""
    documents = {"guardrail": guardrail(MAIN_SETTING, mode)}
    context = {**NETWORKS[network], **MFA_CONTEXT["false"], "aws:ViaAWSService": "false"}
    requests = [Request(("guardrail",), a, r, context) for a, r in CONSOLE_FIRST_SIGN_IN]
    decisions = evaluate(documents, requests)
    blocked = [
        f"{r.action} on {r.resource}: {d}" for r, d in zip(requests, decisions, strict=True) if d != ALLOWED
    ]
    assert not blocked, f"a new user is locked out of MFA setup ({mode}, {network}): {blocked}"


def test_no_bypass_strict_access_key_without_mfa_reaches_only_self_service(
    table: list[tuple[Row, str]],
) -> None:
    """Strict: a long-term key (no MFA key), even an admin's, gets only GetSessionToken and self-service,
    and no MFA registration (a leaked key must not mint its own MFA device)."""
    allowed = {
        (row.action, row.target)
        for row, got in table
        if row.mode == "strict" and row.mfa == "absent (access key)" and got == ALLOWED
    }
    beyond = {(a, t) for a, t in allowed if a not in SELF_SERVICE - MFA_REGISTRATION or t == "other"}
    assert not beyond, f"strict mode lets an access key without MFA do: {sorted(beyond)}"
    assert ("sts:GetSessionToken", "any") in allowed, "CLI users must be able to get an MFA session"
    assert ("iam:ChangePassword", "own") in allowed


def test_without_mfa_nobody_not_even_an_admin_acts_on_another_user(table: list[tuple[Row, str]]) -> None:
    def no_mfa_on_other_user(row: Row) -> bool:
        unprotected = row.mfa == "false" or (row.mfa == "absent (access key)" and row.mode == "strict")
        return unprotected and row.target == "other"

    problems = mismatches(table, no_mfa_on_other_user, lambda row: EXPLICIT_DENY)
    assert not problems, report(problems)


def test_console_mode_leaves_access_keys_ungated_and_strict_mode_gates_them(
    table: list[tuple[Row, str]],
) -> None:
    """The one difference between the modes: an admin's access key from inside, without any MFA key."""

    def admin_key_ordinary_action(row: Row) -> bool:
        return (
            row.setting == MAIN_SETTING
            and row.network == "ipv4 inside"
            and row.mfa == "absent (access key)"
            and row.admin
            and row.action in ORDINARY
        )

    problems = mismatches(
        table, admin_key_ordinary_action, lambda row: ALLOWED if row.mode == "console" else EXPLICIT_DENY
    )
    assert not problems, report(problems)


def test_the_policy_alone_grants_nothing_beyond_self_service(table: list[tuple[Row, str]]) -> None:
    granted = {(row.action, row.target) for row, got in table if not row.admin and got == ALLOWED}
    beyond = {(a, t) for a, t in granted if not (a in SELF_SERVICE or a == DEACTIVATE) or t == "other"}
    assert not beyond, f"the guardrail itself grants: {sorted(beyond)}"
    assert not any(a in ORDINARY for a, _ in granted)


def test_deactivating_mfa_needs_mfa(table: list[tuple[Row, str]]) -> None:
    """Only a session with MFA may deactivate a device (console mode leaves access keys ungated, as above)."""
    deactivations = [(row, got) for row, got in table if row.action == DEACTIVATE]
    gated = [
        str(row)
        for row, got in deactivations
        if got == ALLOWED and (row.mfa == "false" or (row.mfa != "true" and row.mode == "strict"))
    ]
    assert not gated, report(gated)
    granted_by_guardrail = {
        (row.mfa, row.target) for row, got in deactivations if got == ALLOWED and not row.admin
    }
    assert granted_by_guardrail == {("true", "own")}


def test_outside_the_allowed_networks_everything_is_denied_unless_an_aws_service_calls(
    table: list[tuple[Row, str]],
) -> None:
    def outside(row: Row) -> bool:
        return row.network not in NETWORK_SETTINGS[row.setting].lets_in

    problems = mismatches(table, lambda row: outside(row) and not row.via, lambda row: EXPLICIT_DENY)
    assert not problems, report(problems)
    via_service_allowed = [row for row, got in table if outside(row) and row.via and got == ALLOWED]
    assert via_service_allowed, "requests an AWS service makes for the user must pass the network statement"
