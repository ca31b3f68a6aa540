"""The settings model: bad values refused in one line naming them; the environment parsed as documented."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from core.model.errors import InvalidInputError, SettingsError
from core.model.settings import (
    ENV_VARS,
    Settings,
    build_settings,
    normalize_cidr,
    settings_from_env,
    validate_setting,
)

NET = {"allowed_cidrs": ("203.0.113.0/24",)}


def refusal(**values: Any) -> str:
    with pytest.raises(SettingsError) as refused:
        build_settings(**values)
    message = str(refused.value)
    assert "\n" not in message, "one line"
    return message


# --- CIDRs ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "canonical"),
    [
        ("203.0.113.0/24", "203.0.113.0/24"),
        (" 203.0.113.0/24 ", "203.0.113.0/24"),
        ("198.51.100.7", "198.51.100.7/32"),  # a bare address is one host
        ("2001:DB8:0:0::/48", "2001:db8::/48"),
        ("2001:db8::1", "2001:db8::1/128"),
    ],
)
def test_cidrs_are_normalized(given: str, canonical: str) -> None:
    assert normalize_cidr(given) == canonical


@pytest.mark.parametrize(
    ("cidr", "reason"),
    [
        ("0.0.0.0/0", "allows every address"),
        ("::/0", "allows every address"),
        ("203.0.113.5/24", "host bits set (did you mean 203.0.113.0/24?)"),
        ("2001:db8::1/32", "host bits set (did you mean 2001:db8::/32?)"),
        ("203.0.113.0/33", "not a valid IPv4 or IPv6 CIDR"),
        ("203.0.113/24", "not a valid IPv4 or IPv6 CIDR"),
        ("256.1.1.1/32", "not a valid IPv4 or IPv6 CIDR"),
        ("office", "not a valid IPv4 or IPv6 CIDR"),
        ("", "not a valid IPv4 or IPv6 CIDR"),
    ],
)
def test_bad_cidrs_are_refused_naming_the_value_and_the_reason(cidr: str, reason: str) -> None:
    message = refusal(allowed_cidrs=("203.0.113.0/24", cidr))
    assert message.startswith("invalid setting allowed_cidrs: ")
    assert repr(cidr) in message
    assert reason in message


@pytest.mark.parametrize(
    ("cidrs", "family"),
    [
        (("0.0.0.0/1", "128.0.0.0/1"), "IPv4"),
        (("0.0.0.0/2", "64.0.0.0/2", "128.0.0.0/1", "2001:db8::/32"), "IPv4"),
        (("::/1", "8000::/1"), "IPv6"),
    ],
)
def test_ranges_that_together_allow_everything_are_refused(cidrs: tuple[str, ...], family: str) -> None:
    assert f"together allow every {family} address" in refusal(allowed_cidrs=cidrs)


def test_large_ranges_that_leave_a_gap_are_accepted() -> None:
    settings = build_settings(allowed_cidrs=("0.0.0.0/1", "128.0.0.0/2", "::/1"))
    assert settings.allowed_cidrs == ("0.0.0.0/1", "128.0.0.0/2", "::/1")


def test_duplicate_cidrs_are_kept_once_in_order() -> None:
    settings = build_settings(allowed_cidrs=("198.51.100.7", "203.0.113.0/24", "198.51.100.7/32"))
    assert settings.allowed_cidrs == ("198.51.100.7/32", "203.0.113.0/24")


def test_an_empty_allow_list_is_refused_unless_the_restriction_is_explicitly_off() -> None:
    message = refusal()
    assert "no allowed network" in message
    assert "--no-ip-restriction" in message
    unrestricted = build_settings(ip_restriction=False)
    assert not unrestricted.ip_restriction
    assert build_settings(allowed_vpce_ids=("vpce-0a1b2c3d",)).ip_restriction  # an endpoint is enough


# --- other values ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value", "says"),
    [
        ("allowed_vpce_ids", ("vpc-0a1b2c3d",), "is not a VPC endpoint ID"),
        ("allowed_vpce_ids", ("vpce-0A1B2C3D",), "is not a VPC endpoint ID"),
        ("allowed_vpce_ids", ("vpce-123",), "is not a VPC endpoint ID"),
        ("group_name", "secured users", "may contain only"),
        ("group_name", "", "at least 1 character"),
        ("group_name", "g" * 129, "at most 128 characters"),
        ("policy_name", "guard/policy", "may contain only"),
        ("mfa_mode", "lax", "'strict' or 'console'"),
        ("grace_days", -1, "greater than or equal to 0"),
        ("grace_days", 366, "less than or equal to 365"),
        ("grace_days", "soon", "valid integer"),
        ("exempt_users", frozenset({"break glass"}), "is not a valid IAM user name"),
        ("exempt_tag_key", "aws:exempt", "no 'aws:' prefix"),
        ("sns_topic_arn", "arn:aws:sqs:us-east-1:123456789012:alerts", "is not an SNS topic ARN"),
        ("slack_secret_arn", "https://hooks.slack.com/services/T/B/x", "is not a Secrets Manager secret ARN"),
        ("dry_run", "maybe", "valid boolean"),
        ("stack_name", "iam_guard", "letters, digits and hyphens, at most 48 characters"),
        ("stack_name", "1guard", "a letter, then"),
        ("stack_name", "g" * 49, "at most 48 characters"),
        ("stack_name", "", "not a valid stack name"),
        ("max_mfa_age_hours", 0, "greater than or equal to 1"),
        ("max_mfa_age_hours", 8761, "less than or equal to 8760"),
        ("max_mfa_age_hours", "a day", "valid integer"),
        ("org_exclude_accounts", ("12345678901",), "is not an AWS account ID"),
        ("org_exclude_accounts", ("１２３４５６７８９０１２",), "is not an AWS account ID"),  # noqa: RUF001
    ],
)
def test_bad_values_are_refused_in_one_line_naming_setting_and_value(
    field: str, value: Any, says: str
) -> None:
    message = refusal(**NET, **{field: value})
    assert message.startswith(f"invalid setting {field}: ")
    assert says in message
    shown = next(iter(value)) if isinstance(value, tuple | frozenset) else value
    assert repr(shown)[:30] in message, "the message names the value"


def test_several_bad_values_report_the_first_and_count_the_rest() -> None:
    message = refusal(allowed_cidrs=("office",), grace_days=-1, mfa_mode="lax")
    assert "'office'" in message
    assert message.endswith("(and 2 more)")


def test_settings_are_frozen_and_unknown_fields_refused() -> None:
    settings = build_settings(**NET)
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.grace_days = 3  # type: ignore[misc]
    assert "extra" in refusal(**NET, allowed_cidr=("10.0.0.0/8",)).lower()


def test_defaults() -> None:
    settings = build_settings(**NET)
    assert settings.mfa_mode == "strict"
    assert (settings.group_name, settings.policy_name) == ("IAMGuardSecuredUsers", "IAMGuardSecureIAMPolicy")
    assert settings.grace_days == 7
    assert not settings.dry_run
    assert settings.ip_restriction


def test_stack_name_and_max_mfa_age_are_optional_and_kept_as_given() -> None:
    assert (build_settings(**NET).stack_name, build_settings(**NET).max_mfa_age_hours) == (None, None)
    longest = (
        "A" + "b-9" * 15 + "xx"
    )  # 48 characters: the longest stack name IAM Guard's resource names allow
    settings = build_settings(**NET, stack_name=longest, max_mfa_age_hours=8760)
    assert (settings.stack_name, settings.max_mfa_age_hours) == (longest, 8760)
    assert build_settings(**NET, max_mfa_age_hours=1).max_mfa_age_hours == 1


def test_none_means_not_given() -> None:
    assert build_settings(**NET, group_name=None).group_name == "IAMGuardSecuredUsers"


def test_one_setting_is_validated_on_its_own_with_the_same_rules() -> None:
    topic = "arn:aws:sns:us-east-1:123456789012:alerts"
    assert validate_setting("sns_topic_arn", topic) == topic
    assert validate_setting("allowed_cidrs", ("198.51.100.7",)) == ("198.51.100.7/32",)
    with pytest.raises(SettingsError, match=r"^invalid setting sns_topic_arn: .* is not an SNS topic ARN"):
        validate_setting("sns_topic_arn", "arn:aws:sqs:us-east-1:123456789012:alerts")


def test_settings_error_is_bad_input() -> None:
    with pytest.raises(InvalidInputError) as refused:
        build_settings()
    assert refused.value.exit_code == 2


# --- the Lambda functions' environment ------------------------------------------------------------------


def test_environment_is_parsed_into_typed_settings() -> None:
    settings = settings_from_env(
        {
            "IAM_GUARD_ALLOWED_CIDRS": " 203.0.113.0/24, 2001:db8::/32 ,,",
            "IAM_GUARD_ALLOWED_VPCE_IDS": "vpce-0a1b2c3d4e5f60718",
            "IAM_GUARD_MFA_MODE": "console",
            "IAM_GUARD_GROUP_NAME": "Secured",
            "IAM_GUARD_EXEMPT_USERS": "break-glass, ci-bot",
            "IAM_GUARD_GRACE_DAYS": "14",
            "IAM_GUARD_DRY_RUN": "TRUE",
            "IAM_GUARD_REMEDIATE": "no",
            "IAM_GUARD_SNS_TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:iam-guard-alerts",
            "UNRELATED": "ignored",
        }
    )
    assert settings.allowed_cidrs == ("203.0.113.0/24", "2001:db8::/32")
    assert settings.allowed_vpce_ids == ("vpce-0a1b2c3d4e5f60718",)
    assert settings.mfa_mode == "console"
    assert settings.group_name == "Secured"
    assert settings.exempt_users == frozenset({"break-glass", "ci-bot"})
    assert settings.grace_days == 14
    assert settings.dry_run is True
    assert settings.remediate is False


@pytest.mark.parametrize(
    ("raw", "value"), [("true", True), ("1", True), ("Yes", True), ("false", False), ("0", False)]
)
def test_environment_booleans(raw: str, value: bool) -> None:
    env = {"IAM_GUARD_IP_RESTRICTION": raw, "IAM_GUARD_ALLOWED_CIDRS": "203.0.113.0/24"}
    assert settings_from_env(env).ip_restriction is value


def test_empty_environment_variables_mean_default() -> None:
    settings = settings_from_env({"IAM_GUARD_ALLOWED_CIDRS": "203.0.113.0/24", "IAM_GUARD_GROUP_NAME": "  "})
    assert settings.group_name == "IAMGuardSecuredUsers"


@pytest.mark.parametrize(
    ("env", "says"),
    [
        (
            {"IAM_GUARD_DRY_RUN": "perhaps"},
            "invalid setting IAM_GUARD_DRY_RUN: 'perhaps' is not true or false",
        ),
        ({"IAM_GUARD_ALLOWED_CIDRS": "0.0.0.0/0"}, "'0.0.0.0/0' allows every address"),
        ({"IAM_GUARD_GRACE_DAYS": "a week"}, "(got 'a week')"),
        ({}, "no allowed network"),
    ],
)
def test_bad_environment_is_refused_in_one_line(env: dict[str, str], says: str) -> None:
    with pytest.raises(SettingsError) as refused:
        settings_from_env({"IAM_GUARD_ALLOWED_CIDRS": "203.0.113.0/24", **env} if env else env)
    assert says in str(refused.value)
    assert "\n" not in str(refused.value)


def test_every_environment_variable_maps_to_a_settings_field() -> None:
    assert set(ENV_VARS.values()) <= {f.name for f in dataclasses.fields(Settings)}
    assert all(name.startswith("IAM_GUARD_") for name in ENV_VARS)


def test_a_changed_copy_is_checked_like_a_new_one() -> None:
    """core.org.spoke and core.policy.document derive settings with dataclasses.replace: the checks run
    again."""
    settings = build_settings(**NET)
    assert dataclasses.replace(settings, grace_days="14").grace_days == 14  # normalised as when built
    with pytest.raises(SettingsError, match=r"^invalid setting grace_days: should be less than or equal"):
        dataclasses.replace(settings, grace_days=366)
    with pytest.raises(SettingsError, match="no allowed network"):
        dataclasses.replace(settings, allowed_cidrs=())
