"""Semantic comparison: "current" means IAM would evaluate the live document exactly like the rendered one."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import pytest

from core.model.settings import build_settings
from core.policy.compare import canonical_policy, policies_equal
from core.policy.document import render_policy

Document = dict[str, Any]


NETWORK = {
    "allowed_cidrs": ("203.0.113.0/24", "198.51.100.7/32", "2001:db8:1::/48"),
    "allowed_vpce_ids": ("vpce-0a1b2c3d4e5f60718", "vpce-0fedcba987654321f"),
}
# Every statement: self-protection, the KMS key, the maximum MFA age, a custom exemption tag key.
HARDENED = {"stack_name": "iam-guard", "max_mfa_age_hours": 12, "exempt_tag_key": "Team:Exempt"}


@pytest.fixture(params=["strict", "console", "strict hardened", "console hardened"])
def rendered(request: pytest.FixtureRequest) -> Document:
    mode, _, hardened = request.param.partition(" ")
    return render_policy(build_settings(**NETWORK, mfa_mode=mode, **(HARDENED if hardened else {})))


@pytest.fixture(params=["strict", "console"])
def hardened(request: pytest.FixtureRequest) -> Document:
    return render_policy(build_settings(**NETWORK, mfa_mode=request.param, **HARDENED))


def edited(document: Document, edit: Callable[[Document], object]) -> Document:
    copied = copy.deepcopy(document)
    edit(copied)
    return copied


def by_sid(document: Document, sid: str) -> Document:
    return next(s for s in document["Statement"] if s.get("Sid") == sid)


def reverse_lists(value: Any) -> Any:
    if isinstance(value, list):
        return [reverse_lists(v) for v in reversed(value)]
    if isinstance(value, dict):
        return {k: reverse_lists(v) for k, v in reversed(list(value.items()))}
    return value


def boolean_json(document: Document) -> Document:
    """As IAM may return it: JSON booleans where we wrote "true"/"false", numbers where we wrote digits."""
    text = json.dumps(document).replace('"false"', "false").replace('"true"', "true")
    text = text.replace('"43200"', "43200")
    parsed: Document = json.loads(text)
    return parsed


def single_strings_as_lists(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            k: [v]
            if k in {"Action", "Resource", "NotResource"} and isinstance(v, str)
            else single_strings_as_lists(v)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [single_strings_as_lists(v) for v in value]
    return value


def strip_sids(document: Document) -> None:
    for statement in document["Statement"]:
        statement.pop("Sid", None)


def duplicate_actions(document: Document) -> None:
    gate = by_sid(document, "DenyAllExceptSelfServiceWithoutMFA")
    gate["NotAction"] = gate["NotAction"] + gate["NotAction"][:2]


def lowercase_condition_keys(document: Document) -> None:
    for statement in document["Statement"]:
        for operator, keys in statement.get("Condition", {}).items():
            statement["Condition"][operator] = {k.lower(): v for k, v in keys.items()}


def tag_key_in_upper_case(document: Document) -> None:
    """ForAnyValue:StringEqualsIgnoreCase compares ignoring case: the key's case changes nothing."""
    condition = by_sid(document, "DenyIAMGuardTags")["Condition"]["ForAnyValue:StringEqualsIgnoreCase"]
    condition["aws:TagKeys"] = [key.upper() for key in condition["aws:TagKeys"]]


SAME = {
    "pretty-printed JSON text": lambda d: json.dumps(d, indent=4),
    "compact JSON text": lambda d: json.dumps(d, separators=(",", ":")),
    "key order and list order reversed": reverse_lists,
    "statement order reversed": lambda d: {**d, "Statement": d["Statement"][::-1]},
    'JSON false instead of "false"': boolean_json,
    "one-element lists instead of strings": single_strings_as_lists,
    "no Sids": lambda d: edited(d, strip_sids),
    "renamed Sids": lambda d: edited(
        d, lambda c: [s.update(Sid=f"S{i}") for i, s in enumerate(c["Statement"])]
    ),
    "duplicate actions": lambda d: edited(d, duplicate_actions),
    "condition keys in lower case": lambda d: edited(d, lowercase_condition_keys),
    "the exemption tag key in another case": lambda d: edited(d, tag_key_in_upper_case),
}


@pytest.mark.parametrize("variant", SAME)
def test_what_iam_ignores_is_ignored(rendered: Document, variant: str) -> None:
    live = SAME[variant](rendered)
    assert policies_equal(live, rendered)
    assert canonical_policy(live) == canonical_policy(rendered)


def add_cidr(d: Document) -> None:
    by_sid(d, "DenyAllOutsideAllowedNetworks")["Condition"]["NotIpAddress"]["aws:SourceIp"].append(
        "192.0.2.0/24"
    )


def remove_cidr(d: Document) -> None:
    by_sid(d, "DenyAllOutsideAllowedNetworks")["Condition"]["NotIpAddress"]["aws:SourceIp"].pop()


def remove_vpce(d: Document) -> None:
    by_sid(d, "DenyAllOutsideAllowedNetworks")["Condition"].pop("StringNotEqualsIfExists")


def remove_self_service_action(d: Document) -> None:
    by_sid(d, "DenyAllExceptSelfServiceWithoutMFA")["NotAction"].remove("iam:GetUser")


def add_exempt_action(d: Document) -> None:
    by_sid(d, "DenyAllExceptSelfServiceWithoutMFA")["NotAction"].append("iam:DeleteVirtualMFADevice")


def deny_to_allow(d: Document) -> None:
    by_sid(d, "DenyAllExceptSelfServiceWithoutMFA")["Effect"] = "Allow"


def allow_to_deny(d: Document) -> None:
    by_sid(d, "AllowManagingOwnMFAAndPassword")["Effect"] = "Deny"


def change_operator(d: Document) -> None:
    condition = by_sid(d, "DenySelfServiceOnOtherUsersWithoutMFA")["Condition"]
    ((operator, keys),) = condition.items()
    condition.clear()
    condition["BoolIfExists" if operator == "Bool" else "Bool"] = keys


def flip_condition_value(d: Document) -> None:
    by_sid(d, "AllowDeactivatingOwnMFAWithMFA")["Condition"]["Bool"]["aws:MultiFactorAuthPresent"] = "false"


def widen_resource(d: Document) -> None:
    by_sid(d, "AllowManagingOwnMFAAndPassword")["Resource"] = "arn:aws:iam::*:user/*"


def action_to_not_action(d: Document) -> None:
    statement = by_sid(d, "DenySelfServiceOnOtherUsersWithoutMFA")
    statement["NotAction"] = statement.pop("Action")


def drop_statement(d: Document) -> None:
    d["Statement"] = [s for s in d["Statement"] if s["Sid"] != "DenySelfServiceOnOtherUsersWithoutMFA"]


def add_statement(d: Document) -> None:
    d["Statement"].append({"Effect": "Allow", "Action": "*", "Resource": "*"})


def drop_condition(d: Document) -> None:
    by_sid(d, "AllowDeactivatingOwnMFAWithMFA").pop("Condition")


def old_version(d: Document) -> None:
    d["Version"] = "2008-10-17"


CHANGED = [
    add_cidr,
    remove_cidr,
    remove_vpce,
    remove_self_service_action,
    add_exempt_action,
    deny_to_allow,
    allow_to_deny,
    change_operator,
    flip_condition_value,
    widen_resource,
    action_to_not_action,
    drop_statement,
    add_statement,
    drop_condition,
    old_version,
]


@pytest.mark.parametrize("change", CHANGED, ids=lambda change: change.__name__)
def test_every_real_change_is_caught(rendered: Document, change: Callable[[Document], None]) -> None:
    live = edited(rendered, change)
    assert not policies_equal(live, rendered)
    # ...even when the change hides behind formatting IAM ignores
    assert not policies_equal(json.dumps(reverse_lists(live), indent=1), rendered)


# --- the self-defence statements (issue 10): every weakening is a change -----------------------------


def condition_of(d: Document, sid: str) -> dict[str, Any]:
    condition: dict[str, Any] = by_sid(d, sid)["Condition"]
    return condition


def rename_operator(d: Document, sid: str, old: str, new: str) -> None:
    condition = condition_of(d, sid)
    condition[new] = condition.pop(old)


def tag_any_value_to_single_value(d: Document) -> None:  # on a multivalued key: a different test
    rename_operator(d, "DenyIAMGuardTags", "ForAnyValue:StringEqualsIgnoreCase", "StringEqualsIgnoreCase")


def tag_any_value_to_all_values(d: Document) -> None:
    rename_operator(
        d, "DenyIAMGuardTags", "ForAnyValue:StringEqualsIgnoreCase", "ForAllValues:StringEqualsIgnoreCase"
    )


def tag_ignore_case_to_exact_case(d: Document) -> None:
    rename_operator(d, "DenyIAMGuardTags", "ForAnyValue:StringEqualsIgnoreCase", "ForAnyValue:StringEquals")


def tag_other_key(d: Document) -> None:
    condition_of(d, "DenyIAMGuardTags")["ForAnyValue:StringEqualsIgnoreCase"]["aws:TagKeys"] = "Team:Exemp"


def untag_allowed(d: Document) -> None:
    by_sid(d, "DenyIAMGuardTags")["Action"].remove("iam:UntagUser")


def null_to_bool(d: Document) -> None:
    rename_operator(d, "DenyMFARegistrationWithAccessKeys", "Null", "Bool")


def null_flipped(d: Document) -> None:
    condition_of(d, "DenyMFARegistrationWithAccessKeys")["Null"]["aws:MultiFactorAuthPresent"] = "false"


def registration_without_resync(d: Document) -> None:
    by_sid(d, "DenyMFARegistrationWithAccessKeys")["Action"].remove("iam:ResyncMFADevice")


def older_mfa_age(d: Document) -> None:
    condition_of(d, "DenyAllExceptSelfServiceWithOldMFA")["NumericGreaterThan"]["aws:MultiFactorAuthAge"] = (
        "86400"
    )


def age_operator_if_exists(d: Document) -> None:
    rename_operator(
        d, "DenyAllExceptSelfServiceWithOldMFA", "NumericGreaterThan", "NumericGreaterThanIfExists"
    )


def unprotected_function(d: Document) -> None:
    by_sid(d, "DenyChangesToIAMGuard")["Resource"].remove("arn:*:lambda:*:*:function:iam-guard_*")


def invoke_allowed(d: Document) -> None:
    by_sid(d, "DenyChangesToIAMGuard")["NotAction"].append("lambda:InvokeFunction")


def self_protection_via_service_exception(d: Document) -> None:
    by_sid(d, "DenyChangesToIAMGuard")["Condition"] = {"BoolIfExists": {"aws:ViaAWSService": "false"}}


def other_key_alias(d: Document) -> None:
    condition = condition_of(d, "DenyChangesToIAMGuardKey")["ForAnyValue:StringEquals"]
    condition["kms:ResourceAliases"] = "alias/iam-guard_other"


def key_alias_any_to_all(d: Document) -> None:
    rename_operator(d, "DenyChangesToIAMGuardKey", "ForAnyValue:StringEquals", "ForAllValues:StringEquals")


def only_root_path_users(d: Document) -> None:
    by_sid(d, "AllowManagingOwnMFAAndPassword")["Resource"] = "arn:aws:iam::*:user/${aws:username}"


def other_users_on_a_path_unprotected(d: Document) -> None:
    by_sid(d, "DenySelfServiceOnOtherUsersWithoutMFA")["NotResource"].append("arn:aws:iam::*:user/*")


HARDENING_CHANGES = [
    tag_any_value_to_single_value,
    tag_any_value_to_all_values,
    tag_ignore_case_to_exact_case,
    tag_other_key,
    untag_allowed,
    older_mfa_age,
    age_operator_if_exists,
    unprotected_function,
    invoke_allowed,
    self_protection_via_service_exception,
    other_key_alias,
    key_alias_any_to_all,
    only_root_path_users,
    other_users_on_a_path_unprotected,
]
STRICT_ONLY = [null_to_bool, null_flipped, registration_without_resync]


@pytest.mark.parametrize("change", HARDENING_CHANGES, ids=lambda change: change.__name__)
def test_every_weakening_of_the_self_defence_statements_is_caught(
    hardened: Document, change: Callable[[Document], None]
) -> None:
    live = edited(hardened, change)
    assert not policies_equal(live, hardened)
    assert not policies_equal(json.dumps(reverse_lists(live), indent=1), hardened)


@pytest.mark.parametrize("change", STRICT_ONLY, ids=lambda change: change.__name__)
def test_every_weakening_of_the_mfa_registration_statement_is_caught(
    change: Callable[[Document], None],
) -> None:
    strict = render_policy(build_settings(**NETWORK, mfa_mode="strict", **HARDENED))
    live = edited(strict, change)
    assert not policies_equal(live, strict)
    assert not policies_equal(json.dumps(reverse_lists(live), indent=1), strict)


def test_a_stack_name_or_a_maximum_mfa_age_changes_the_policy() -> None:
    plain = render_policy(build_settings(**NETWORK))
    assert not policies_equal(plain, render_policy(build_settings(**NETWORK, stack_name="iam-guard")))
    assert not policies_equal(plain, render_policy(build_settings(**NETWORK, max_mfa_age_hours=12)))
    other_stack = render_policy(build_settings(**NETWORK, stack_name="iam-guard-dev"))
    assert not policies_equal(other_stack, render_policy(build_settings(**NETWORK, stack_name="iam-guard")))


def test_a_statement_given_as_an_object_is_one_statement() -> None:
    statement = {"Effect": "Allow", "Action": "iam:GetUser", "Resource": "*"}
    assert policies_equal(
        {"Version": "2012-10-17", "Statement": statement}, {"Version": "2012-10-17", "Statement": [statement]}
    )


def test_strict_and_console_are_different_policies() -> None:
    network = {"allowed_cidrs": ("203.0.113.0/24",)}
    strict = render_policy(build_settings(**network, mfa_mode="strict"))
    console = render_policy(build_settings(**network, mfa_mode="console"))
    assert not policies_equal(strict, console)
