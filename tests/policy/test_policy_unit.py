"""The rendered document's shape and IAM's size limit (pure: no engine, no AWS)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from core.model import naming
from core.model.errors import PolicyTooLargeError
from core.model.policy_text import policy_json, policy_size
from core.model.settings import build_settings
from core.policy.document import MAX_POLICY_CHARS, SELF_SERVICE_ACTIONS, render_policy

CIDRS = ("203.0.113.0/24", "2001:db8:1::/48")
VPCE = "vpce-0a1b2c3d4e5f60718"


def render(**values: Any) -> dict[str, Any]:
    return render_policy(build_settings(**({"allowed_cidrs": CIDRS} | values)))


def statement(document: dict[str, Any], sid: str) -> dict[str, Any]:
    return next(s for s in document["Statement"] if s["Sid"] == sid)


def sids(document: dict[str, Any]) -> set[str]:
    return {s["Sid"] for s in document["Statement"]}


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
def test_the_mfa_modes_differ_in_the_gates_operator_and_the_registration_statement(
    mode: str, operator: str
) -> None:
    document = render(mfa_mode=mode)
    for sid in ("DenyAllExceptSelfServiceWithoutMFA", "DenySelfServiceOnOtherUsersWithoutMFA"):
        assert statement(document, sid)["Condition"] == {operator: {"aws:MultiFactorAuthPresent": "false"}}
    strict, console = render(mfa_mode="strict"), render(mfa_mode="console")
    strict["Statement"] = [s for s in strict["Statement"] if s["Sid"] != "DenyMFARegistrationWithAccessKeys"]
    assert json.dumps(strict).replace(
        '"BoolIfExists": {"aws:MultiFactorAuthPresent"', '"Bool": {"aws:MultiFactorAuthPresent"'
    ) == json.dumps(console)


def test_strict_mode_denies_mfa_registration_to_long_term_keys_only() -> None:
    registration = statement(render(), "DenyMFARegistrationWithAccessKeys")
    assert registration["Effect"] == "Deny"
    assert set(registration["Action"]) == {
        "iam:CreateVirtualMFADevice",
        "iam:EnableMFADevice",
        "iam:ResyncMFADevice",
    }
    # Null "true": the key is absent (a long-term key); a console session without MFA carries "false".
    assert registration["Condition"] == {"Null": {"aws:MultiFactorAuthPresent": "true"}}
    assert "DenyMFARegistrationWithAccessKeys" not in sids(render(mfa_mode="console"))


def test_self_service_is_on_the_callers_own_user_at_any_path() -> None:
    own = ["arn:aws:iam::*:user/${aws:username}", "arn:aws:iam::*:user/*/${aws:username}"]
    document = render(max_mfa_age_hours=1)
    assert statement(document, "AllowManagingOwnMFAAndPassword")["Resource"] == own
    assert statement(document, "AllowDeactivatingOwnMFAWithMFA")["Resource"] == own
    assert statement(document, "DenySelfServiceOnOtherUsersWithoutMFA")["NotResource"] == own
    assert statement(document, "DenySelfServiceOnOtherUsersWithOldMFA")["NotResource"] == own


@pytest.mark.parametrize(("key", "owner"), [("iam-guard:exempt", None), ("Team:Exempt", "Team:Owner")])
def test_every_iam_guard_tag_key_is_always_protected_in_any_letter_case(key: str, owner: str | None) -> None:
    keys = [key, owner or "iam-guard:owner", "iam-guard:enrolled", "iam-guard:exposed-keys"]
    for document in (
        render(exempt_tag_key=key, owner_tag_key=owner),
        render(exempt_tag_key=key, owner_tag_key=owner, stack_name="iam-guard"),
    ):
        assert "DenyExemptionTag" not in sids(document)  # one statement for every key
        tag = statement(document, "DenyIAMGuardTags")
        assert tag["Effect"] == "Deny"
        assert set(tag["Action"]) == {"iam:TagUser", "iam:UntagUser", "iam:CreateUser"}
        assert tag["Condition"] == {"ForAnyValue:StringEqualsIgnoreCase": {"aws:TagKeys": keys}}


def test_a_maximum_mfa_age_adds_the_two_mfa_statements_again_for_old_mfa() -> None:
    assert not {"DenyAllExceptSelfServiceWithOldMFA", "DenySelfServiceOnOtherUsersWithOldMFA"} & sids(
        render()
    )
    document = render(max_mfa_age_hours=12)
    old = {"NumericGreaterThan": {"aws:MultiFactorAuthAge": "43200"}}
    everything = statement(document, "DenyAllExceptSelfServiceWithOldMFA")
    assert everything["Condition"] == old
    assert set(everything["NotAction"]) == set(SELF_SERVICE_ACTIONS)
    others = statement(document, "DenySelfServiceOnOtherUsersWithOldMFA")
    assert others["Condition"] == old
    assert others["Action"] == statement(document, "DenySelfServiceOnOtherUsersWithoutMFA")["Action"]


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


# --- self-protection (issue 10) --------------------------------------------------------------------------

SELF_PROTECTION = {"DenyChangesToIAMGuard", "DenyChangesToIAMGuardKey"}


def test_without_a_stack_name_no_self_protection_statement_is_rendered() -> None:
    document = render()
    assert not SELF_PROTECTION & sids(document)
    assert "iam-guard/" not in json.dumps(document)


def test_self_protection_denies_all_but_reads_on_the_names_core_naming_gives() -> None:
    document = render(stack_name="iam-guard")
    protect = statement(document, "DenyChangesToIAMGuard")
    assert protect["Effect"] == "Deny"
    assert "Condition" not in protect  # no exception at all: not for AWS services, not for any network
    assert protect["Resource"] == [
        "arn:*:cloudformation:*:*:stack/iam-guard/*",
        "arn:*:cloudformation:*:*:stackset/iam-guard-spoke:*",
        "arn:*:cloudtrail:*:*:trail/iam-guard_*",
        "arn:*:cloudwatch:*:*:alarm:iam-guard_*",
        "arn:*:dynamodb:*:*:table/iam-guard_*",
        "arn:*:events:*:*:event-bus/iam-guard_*",
        "arn:*:events:*:*:rule/iam-guard_*",
        "arn:*:iam::*:group/IAMGuardSecuredUsers",
        "arn:*:iam::*:group/iam-guard/*",
        "arn:*:iam::*:policy/IAMGuardSecureIAMPolicy",
        "arn:*:iam::*:policy/iam-guard/*",
        "arn:*:iam::*:role/iam-guard/iam-guard/*",
        "arn:*:kms:*:*:alias/iam-guard_*",
        "arn:*:lambda:*:*:function:iam-guard_*",
        "arn:*:lambda:*:*:layer:iam-guard_*",
        "arn:*:logs:*:*:log-group:/aws/lambda/iam-guard/*",
        "arn:*:s3:::iam-guard-trail-*",
        "arn:*:scheduler:*:*:schedule/*/iam-guard_*",
        "arn:*:sns:*:*:iam-guard_*",
        "arn:*:sqs:*:*:iam-guard_*",
        "arn:*:states:*:*:execution:iam-guard_*",
        "arn:*:states:*:*:mapRun:iam-guard_*",
        "arn:*:states:*:*:stateMachine:iam-guard_*",
    ]
    reads = re.compile(r"^[a-z0-9-]+:(Describe\*|Get\*|List\*)$")
    log_queries = {"logs:FilterLogEvents", "logs:StartQuery", "logs:StopQuery"}
    assert all(reads.match(a) or a in log_queries for a in protect["NotAction"]), protect["NotAction"]
    services = {arn.split(":")[2] for arn in protect["Resource"]}
    assert services == {a.split(":")[0] for a in protect["NotAction"]}  # reads for every service, no more


def test_the_alert_keys_protection_finds_the_key_by_its_alias_and_spares_every_other_request() -> None:
    key = statement(render(stack_name="iam-guard"), "DenyChangesToIAMGuardKey")
    assert key["Effect"] == "Deny"
    assert key["Resource"] == "*"
    assert sorted(key["NotAction"]) == ["kms:Describe*", "kms:Get*", "kms:List*"]
    assert key["Condition"] == {
        "ForAnyValue:StringEquals": {"kms:ResourceAliases": naming.key_alias("iam-guard")}
    }


def test_self_protection_follows_the_stack_group_and_policy_names() -> None:
    document = render(stack_name="Guard-Prod", group_name="Secured", policy_name="Guardrail")
    resources = statement(document, "DenyChangesToIAMGuard")["Resource"]
    assert "arn:*:iam::*:group/Secured" in resources
    assert "arn:*:iam::*:policy/Guardrail" in resources
    assert "arn:*:iam::*:group/IAMGuardSecuredUsers" not in resources
    assert f"arn:*:s3:::{naming.trail_bucket_prefix('Guard-Prod')}*" in resources
    assert "arn:*:s3:::iam-guard-trail-*" in resources  # every IAM Guard stack's trail bucket
    assert f"arn:*:logs:*:*:log-group:{naming.log_group_prefix('Guard-Prod')}*" in resources
    assert f"arn:*:iam::*:role{naming.role_path('Guard-Prod')}*" in resources
    assert all(
        "Guard-Prod" in arn
        or "iam-guard-trail-" in arn
        or "/iam-guard/" in arn
        or arn.endswith(("/Secured", "/Guardrail"))
        for arn in resources
    )
    condition = statement(document, "DenyChangesToIAMGuardKey")["Condition"]
    assert condition["ForAnyValue:StringEquals"]["kms:ResourceAliases"] == "alias/Guard-Prod_alerts"


def test_no_statement_but_the_network_one_has_an_aws_service_exception() -> None:
    document = render(stack_name="iam-guard", max_mfa_age_hours=1)
    for s in document["Statement"][1:]:
        assert "aws:ViaAWSService" not in json.dumps(s), s["Sid"]
        assert "aws:CalledVia" not in json.dumps(s), s["Sid"]


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


# The longest stack name IAM Guard accepts, as a real deployment might name it.
LONG_STACK = "iam-guard-production-eu-west-1-acct-main"
STATEMENT_SETS = {
    "default": {},
    "self-protection": {"stack_name": LONG_STACK},
    "every statement": {"stack_name": LONG_STACK, "max_mfa_age_hours": 12},
}


@pytest.mark.parametrize("extras", STATEMENT_SETS)
@pytest.mark.parametrize("mode", ["strict", "console"])
@pytest.mark.parametrize(
    ("field", "make"),
    [("allowed_cidrs", ipv4_cidrs), ("allowed_cidrs", ipv6_cidrs), ("allowed_vpce_ids", vpce_ids)],
)
def test_too_large_is_refused_and_the_advertised_count_is_exactly_what_fits(
    field: str, make: Any, mode: str, extras: str
) -> None:
    options = {"mfa_mode": mode, **STATEMENT_SETS[extras]}
    with pytest.raises(PolicyTooLargeError) as refused:
        render_policy(build_settings(**{field: make(600)}, **options))
    message = str(refused.value)
    assert "\n" not in message
    assert "6,144" in message
    assert "600 " in message  # how many were given
    fit = advertised_fit(refused.value)
    assert 15 < fit < 600  # with every statement: 19 VPC endpoint IDs, 27 IPv4 /24s (docs/policy.md)
    largest = render_policy(build_settings(**{field: make(fit)}, **options))
    assert policy_size(largest) <= MAX_POLICY_CHARS
    with pytest.raises(PolicyTooLargeError) as one_more:
        render_policy(build_settings(**{field: make(fit + 1)}, **options))
    assert advertised_fit(one_more.value) == fit


def test_the_refusal_names_the_stack_name_and_what_each_of_its_characters_costs() -> None:
    with pytest.raises(PolicyTooLargeError) as refused:
        render_policy(build_settings(allowed_cidrs=ipv4_cidrs(600), stack_name=LONG_STACK))
    match = re.search(
        r"or shorten the stack name \(each of its 40 characters counts (\d+) times\)", str(refused.value)
    )
    assert match, str(refused.value)
    shorter = LONG_STACK[:-1]
    saved = policy_size(render(stack_name=LONG_STACK)) - policy_size(render(stack_name=shorter))
    assert int(match.group(1)) == saved
    with pytest.raises(PolicyTooLargeError) as without_stack:
        render_policy(build_settings(allowed_cidrs=ipv4_cidrs(600)))
    assert "stack name" not in str(without_stack.value)


@pytest.mark.parametrize("mode", ["strict", "console"])
@pytest.mark.parametrize("extras", STATEMENT_SETS)
def test_every_documented_allow_list_fits_with_every_statement(mode: str, extras: str) -> None:
    """The examples the documentation shows, and a typical list of 20 CIDRs and 5 VPC endpoints (with every
    statement, for stack names up to 37 characters: docs/policy.md)."""
    options = {"mfa_mode": mode, **STATEMENT_SETS[extras]}
    for cidrs, vpces in [
        (("203.0.113.0/24",), ()),
        (("203.0.113.0/24", "2001:db8::/32"), ()),
        (("203.0.113.0/24", "198.51.100.7/32", "2001:db8:1::/48"), ("vpce-0fedcba987654321f", VPCE)),
    ]:
        document = render_policy(build_settings(allowed_cidrs=cidrs, allowed_vpce_ids=vpces, **options))
        assert policy_size(document) <= MAX_POLICY_CHARS
    typical = {**options, "stack_name": LONG_STACK[:37]} if "stack_name" in options else options
    document = render_policy(
        build_settings(allowed_cidrs=ipv4_cidrs(20), allowed_vpce_ids=vpce_ids(5), **typical)
    )
    assert policy_size(document) <= MAX_POLICY_CHARS


def test_the_default_policy_leaves_room_for_a_long_allow_list() -> None:
    assert (
        policy_size(render(allowed_cidrs=ipv4_cidrs(20), allowed_vpce_ids=vpce_ids(5))) < MAX_POLICY_CHARS / 2
    )
    # The worst case (a 40-character stack name and an MFA age) keeps room for 25 /24s: 27 fit with every
    # statement (docs/policy.md's size table); 25 is the floor the guardrail keeps.
    with_self_protection = render(allowed_cidrs=ipv4_cidrs(25), stack_name=LONG_STACK, max_mfa_age_hours=12)
    assert policy_size(with_self_protection) <= MAX_POLICY_CHARS
