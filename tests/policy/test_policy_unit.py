"""The rendered document's shape and IAM's size limit (pure: no engine, no AWS)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from core.errors import PolicyTooLargeError
from core.policy import MAX_POLICY_CHARS, SELF_SERVICE_ACTIONS, policy_json, policy_size, render_policy
from core.settings import build_settings

CIDRS = ("203.0.113.0/24", "2001:db8:1::/48")
VPCE = "vpce-0a1b2c3d4e5f60718"


def render(**values: Any) -> dict[str, Any]:
    return render_policy(build_settings(**({"allowed_cidrs": CIDRS} | values)))


def statement(document: dict[str, Any], sid: str) -> dict[str, Any]:
    return next(s for s in document["Statement"] if s["Sid"] == sid)


def test_self_service_is_exactly_what_mfa_setup_and_a_password_change_need() -> None:
    # iam-facts.md defects 2-5 and AWS's example "Allows IAM users to self-manage an MFA device".
    assert set(SELF_SERVICE_ACTIONS) == {
        "iam:GetAccountPasswordPolicy",
        "iam:ChangePassword",
        "iam:GetUser",
        "iam:ListUsers",
        "iam:ListMFADevices",
        "iam:ListVirtualMFADevices",
        "iam:CreateVirtualMFADevice",
        "iam:EnableMFADevice",
        "iam:ResyncMFADevice",
        "iam:GetMFADevice",
        "sts:GetSessionToken",
    }
    gate = statement(render(), "DenyAllExceptSelfServiceWithoutMFA")
    assert set(gate["NotAction"]) == set(SELF_SERVICE_ACTIONS)
    assert "iam:DeleteVirtualMFADevice" not in gate["NotAction"]
    assert "iam:DeactivateMFADevice" not in gate["NotAction"]


@pytest.mark.parametrize(("mode", "operator"), [("strict", "BoolIfExists"), ("console", "Bool")])
def test_the_mfa_modes_differ_only_in_the_gates_operator(mode: str, operator: str) -> None:
    document = render(mfa_mode=mode)
    for sid in ("DenyAllExceptSelfServiceWithoutMFA", "DenySelfServiceOnOtherUsersWithoutMFA"):
        assert statement(document, sid)["Condition"] == {operator: {"aws:MultiFactorAuthPresent": "false"}}
    strict, console = json.dumps(render(mfa_mode="strict")), json.dumps(render(mfa_mode="console"))
    assert (
        strict.replace(
            '"BoolIfExists": {"aws:MultiFactorAuthPresent"', '"Bool": {"aws:MultiFactorAuthPresent"'
        )
        == console
    )


def test_list_actions_are_on_every_resource_and_devices_may_have_any_name() -> None:
    document = render()
    listing = statement(document, "AllowListingForMFASetup")
    assert listing["Resource"] == "*"
    assert {"iam:ListUsers", "iam:ListVirtualMFADevices", "iam:GetAccountPasswordPolicy"} <= set(
        listing["Action"]
    )
    assert statement(document, "AllowCreatingVirtualMFADevices")["Resource"] == "arn:aws:iam::*:mfa/*"


def test_network_statement_lists_ipv4_ipv6_and_vpc_endpoints_and_fails_closed() -> None:
    network = statement(render(allowed_vpce_ids=(VPCE,)), "DenyAllOutsideAllowedNetworks")
    assert network["Effect"] == "Deny"
    assert network["Condition"] == {
        "NotIpAddress": {"aws:SourceIp": list(CIDRS)},
        "StringNotEqualsIfExists": {"aws:SourceVpce": [VPCE]},
        "BoolIfExists": {"aws:ViaAWSService": "false"},
    }


def test_vpc_endpoints_alone_render_no_empty_ip_condition() -> None:
    network = statement(render(allowed_cidrs=(), allowed_vpce_ids=(VPCE,)), "DenyAllOutsideAllowedNetworks")
    assert "NotIpAddress" not in network["Condition"]


def test_no_ip_restriction_drops_only_the_network_statement() -> None:
    restricted = render()
    unrestricted = render_policy(build_settings(ip_restriction=False))
    assert [s["Sid"] for s in unrestricted["Statement"]] == [s["Sid"] for s in restricted["Statement"][1:]]
    assert "aws:SourceIp" not in json.dumps(unrestricted)


def test_rendering_is_pure_and_deterministic() -> None:
    settings = build_settings(allowed_cidrs=CIDRS)
    first = render_policy(settings)
    first["Statement"].clear()  # a caller mutating its copy must not change the next rendering
    assert render_policy(settings) == render_policy(settings)
    assert render_policy(settings)["Statement"]


def test_policy_size_counts_what_iam_counts_no_whitespace() -> None:
    document = render()
    text = policy_json(document)  # pretty-printed, as the CLI prints and the adapter uploads it
    assert policy_size(document) == len(re.sub(r"\s", "", text))  # no string in the policy has a space
    assert policy_size(document) < len(text)


# --- IAM's 6,144-character limit -------------------------------------------------------------------------


def ipv4_cidrs(n: int) -> tuple[str, ...]:
    return tuple(f"10.{100 + i // 100}.{100 + i % 100}.0/24" for i in range(n))  # all 15 characters


def ipv6_cidrs(n: int) -> tuple[str, ...]:
    return tuple(f"2001:db8:{0x1000 + i:x}::/48" for i in range(n))  # all 18 characters


def vpce_ids(n: int) -> tuple[str, ...]:
    return tuple(f"vpce-{i:017x}" for i in range(n))


def advertised_fit(error: PolicyTooLargeError) -> int:
    match = re.search(r"at most (\d+) ", str(error))
    assert match, f"the message must say how many fit: {error}"
    return int(match.group(1))


@pytest.mark.parametrize("mode", ["strict", "console"])
@pytest.mark.parametrize(
    ("field", "make"),
    [("allowed_cidrs", ipv4_cidrs), ("allowed_cidrs", ipv6_cidrs), ("allowed_vpce_ids", vpce_ids)],
)
def test_too_large_is_refused_and_the_advertised_count_is_exactly_what_fits(
    field: str, make: Any, mode: str
) -> None:
    with pytest.raises(PolicyTooLargeError) as refused:
        render_policy(build_settings(**{field: make(600)}, mfa_mode=mode))
    message = str(refused.value)
    assert "\n" not in message
    assert "6,144" in message
    assert "600 " in message  # how many were given
    fit = advertised_fit(refused.value)
    assert 50 < fit < 600
    largest = render_policy(build_settings(**{field: make(fit)}, mfa_mode=mode))
    assert policy_size(largest) <= MAX_POLICY_CHARS
    with pytest.raises(PolicyTooLargeError) as one_more:
        render_policy(build_settings(**{field: make(fit + 1)}, mfa_mode=mode))
    assert advertised_fit(one_more.value) == fit


def test_a_typical_allow_list_is_far_from_the_limit() -> None:
    assert (
        policy_size(render(allowed_cidrs=ipv4_cidrs(20), allowed_vpce_ids=vpce_ids(5))) < MAX_POLICY_CHARS / 2
    )
