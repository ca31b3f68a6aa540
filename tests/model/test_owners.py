"""Owners from the owner tag or the default owner, and their settings (pure)."""

from __future__ import annotations

import re

import pytest

from core.model.errors import SettingsError
from core.model.owners import Owner, parse_owner, resolve_owner
from core.model.settings import build_settings, settings_from_env

KEY = "iam-guard:owner"


@pytest.mark.parametrize(
    ("value", "owner"),
    [
        ("alice@example.com", Owner(email="alice@example.com")),
        ("U012AB3CD", Owner(slack_member_id="U012AB3CD")),
        ("W0123ABCDEF", Owner(slack_member_id="W0123ABCDEF")),
        ("alice@example.com U012AB3CD", Owner("alice@example.com", "U012AB3CD")),
        ("  U012AB3CD   alice@example.com ", Owner("alice@example.com", "U012AB3CD")),
    ],
)
def test_an_owner_is_an_address_a_slack_member_or_both(value: str, owner: Owner) -> None:
    assert parse_owner(value) == owner


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("", "is empty"),
        ("alice", "'alice' is neither an e-mail address nor a Slack member ID"),
        ("alice@", "'alice@' is not an e-mail address"),
        ("a@b@example.com", "is not an e-mail address"),
        ("alice@example.com bob@example.com", "more than one e-mail address"),
        ("U012AB3CD U999ZZ9ZZ", "more than one Slack member ID"),
        ("u012ab3cd", "neither an e-mail address nor a Slack member ID"),
        ("C012AB3CD", "neither"),  # a channel ID: owners are people
        ("alice@example.com,U012AB3CD", "is not an e-mail address"),
    ],
)
def test_an_unreadable_owner_says_what_is_wrong(value: str, reason: str) -> None:
    with pytest.raises(ValueError, match=re.escape(reason)):
        parse_owner(value)


def test_the_tag_wins_then_the_default_owner_then_nobody() -> None:
    tagged = resolve_owner({KEY: "alice@example.com"}, KEY, "sec@example.com")
    assert tagged.owner == Owner(email="alice@example.com", source="tag")
    assert tagged.problem is None
    default = resolve_owner({"team": "x"}, KEY, "sec@example.com U012AB3CD")
    assert default.owner == Owner("sec@example.com", "U012AB3CD", source="default")
    assert resolve_owner({}, KEY, None).owner is None


def test_the_tag_key_is_found_in_any_letter_case() -> None:
    assert resolve_owner({"IAM-Guard:Owner": "U012AB3CD"}, KEY, None).owner == Owner(
        slack_member_id="U012AB3CD"
    )


def test_an_invalid_tag_falls_back_to_the_default_owner_and_says_why() -> None:
    lookup = resolve_owner({KEY: "not-an-owner"}, KEY, "sec@example.com")
    assert lookup.owner == Owner(email="sec@example.com", source="default")
    assert lookup.tag_value == "not-an-owner"
    assert lookup.problem is not None
    assert "neither" in lookup.problem
    assert resolve_owner({KEY: "x"}, KEY, None).owner is None


def test_the_owner_settings_and_their_defaults() -> None:
    settings = build_settings(ip_restriction=False)
    assert settings.owner_tag_key == KEY
    assert settings.default_owner is None
    assert settings.warning_days == (7, 3, 1)
    assert settings.guard_tag_keys == (
        "iam-guard:exempt",
        KEY,
        "iam-guard:enrolled",
        "iam-guard:exposed-keys",
    )
    env = settings_from_env(
        {
            "IAM_GUARD_IP_RESTRICTION": "false",
            "IAM_GUARD_OWNER_TAG_KEY": "Team:Owner",
            "IAM_GUARD_DEFAULT_OWNER": "sec@example.com",
            "IAM_GUARD_WARNING_DAYS": "1, 14,3",
        }
    )
    assert (env.owner_tag_key, env.default_owner, env.warning_days) == (
        "Team:Owner",
        "sec@example.com",
        (14, 3, 1),
    )
    assert build_settings(ip_restriction=False, warning_days="2,2,10").warning_days == (10, 2)


@pytest.mark.parametrize(
    ("values", "reason"),
    [
        ({"default_owner": "security"}, "invalid setting default_owner: 'security' is neither"),
        ({"warning_days": "0"}, "invalid setting warning_days: should be greater than or equal to 1"),
        ({"warning_days": "7,x"}, "invalid setting warning_days: should be a valid integer"),
        ({"owner_tag_key": "aws:owner"}, "invalid setting owner_tag_key"),
        ({"owner_tag_key": "IAM-GUARD:EXEMPT"}, "is the exemption tag key"),
    ],
)
def test_bad_owner_settings_are_one_line(values: dict[str, str], reason: str) -> None:
    with pytest.raises(SettingsError) as caught:
        build_settings(ip_restriction=False, **values)
    assert reason in str(caught.value)
    assert "\n" not in str(caught.value)
