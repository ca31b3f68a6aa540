"""core.model.exemptions on its own: which tag values and settings exempt a user, and on which days. Pure.

The README promises that only ``true`` (any case) and ``YYYY-MM-DD`` exempt. Python's
``date.fromisoformat`` accepts more than that since 3.11 (ISO week dates, basic forms, times), so every
other ISO 8601 shape is listed here as a value that must not exempt anyone.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from core.model.exemptions import Exemption, exemption_for, parse_exemption_date, tags_to_dict
from core.model.settings import Settings, build_settings

KEY = "iam-guard:exempt"
TODAY = date(2025, 1, 15)


def settings(**values: Any) -> Settings:
    return build_settings(ip_restriction=False, **values)


def exemption(value: str, today: date = TODAY, **setting_values: Any) -> Exemption | None:
    return exemption_for("dev-bob", {KEY: value}, settings(**setting_values), today)


# --- tags_to_dict ----------------------------------------------------------------------------------


def test_iam_tag_list_becomes_a_dict() -> None:
    tags = [{"Key": KEY, "Value": "true"}, {"Key": "team", "Value": "ops"}]
    assert tags_to_dict(tags) == {KEY: "true", "team": "ops"}


def test_cloudtrail_lower_case_tag_list_becomes_a_dict() -> None:
    assert tags_to_dict([{"key": KEY, "value": "2099-12-27"}]) == {KEY: "2099-12-27"}


def test_a_mapping_is_copied_with_text_keys_and_values() -> None:
    assert tags_to_dict({KEY: "true", "n": 7}) == {KEY: "true", "n": "7"}


def test_nothing_is_an_empty_dict() -> None:
    assert tags_to_dict(None) == {}
    assert tags_to_dict([]) == {}


def test_a_tag_without_a_value_has_the_empty_value() -> None:
    assert tags_to_dict([{"Key": KEY}, {"key": "x", "value": None}]) == {KEY: "", "x": ""}


def test_entries_that_are_not_tags_are_skipped() -> None:
    junk: Any = [None, "iam-guard:exempt=true", 42, {"Value": "true"}, {"Key": KEY, "Value": "true"}]
    assert tags_to_dict(junk) == {KEY: "true"}


def test_later_tags_win_over_earlier_ones_of_the_same_key() -> None:
    assert tags_to_dict([{"Key": KEY, "Value": "true"}, {"Key": KEY, "Value": "no"}]) == {KEY: "no"}


# --- exemption_for: listed ---------------------------------------------------------------------------


def test_a_listed_user_is_exempt_whatever_the_tags() -> None:
    listed = settings(exempt_users=frozenset({"dev-bob"}))
    assert exemption_for("dev-bob", {}, listed, TODAY) == Exemption("listed in settings")
    assert exemption_for("dev-bob", {KEY: "2000-01-01"}, listed, TODAY) == Exemption("listed in settings")


def test_a_user_not_listed_and_not_tagged_is_not_exempt() -> None:
    assert exemption_for("dev-carol", {}, settings(exempt_users=frozenset({"dev-bob"})), TODAY) is None
    assert exemption_for("dev-bob", {"team": "true"}, settings(), TODAY) is None


# --- exemption_for: the tag ------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["true", "TRUE", "True", "tRuE", " true ", "\ttrue\n"])
def test_true_in_any_case_exempts_for_good(value: str) -> None:
    assert exemption(value) == Exemption(f"tag {KEY}=true")
    assert exemption(value, today=date(9999, 12, 31)) == Exemption(f"tag {KEY}=true")


def test_the_configured_tag_key_is_the_one_read() -> None:
    tags = {"team:no-mfa": "true"}
    assert exemption_for("dev-bob", tags, settings(), TODAY) is None
    assert exemption_for("dev-bob", tags, settings(exempt_tag_key="team:no-mfa"), TODAY) == Exemption(
        "tag team:no-mfa=true"
    )


def test_a_date_exempts_until_the_end_of_that_day() -> None:
    assert exemption("2025-03-01") == Exemption(f"tag {KEY}=2025-03-01", date(2025, 3, 1))


def test_the_last_day_is_still_exempt_and_the_day_after_is_not() -> None:
    assert exemption("2025-01-15") == Exemption(f"tag {KEY}=2025-01-15", date(2025, 1, 15))
    assert exemption("2025-01-15", today=date(2025, 1, 16)) is None


def test_an_expired_date_is_not_an_exemption() -> None:
    assert exemption("2025-01-14") is None
    assert exemption("1999-12-31") is None


def test_white_space_around_a_date_is_ignored() -> None:
    assert exemption("  2025-03-01\n") == Exemption(f"tag {KEY}=2025-03-01", date(2025, 3, 1))


@pytest.mark.parametrize(
    "value",
    [
        "2099-W52-7",  # ISO week date: date.fromisoformat reads it as 2099-12-27
        "2099W527",  # ISO week date, basic form
        "2099W527xx",
        "2099-W52",
        "2099-361",  # ISO ordinal date
        "2099361",
        "20991227",  # basic calendar date
        "2099-12-27T00:00",
        "2099-12-27T00:00:00Z",
        "2099-12-27 00:00",
        "2099-12-27Z",
        "2099/12/27",
        "27-12-2099",
        "2099-1-27",
        "+2099-12-27",
        "２０９９-１２-２７",  # full-width digits  # noqa: RUF001
        "٢٠٩٩-١٢-٢٧",  # Arabic-Indic digits
        "2099-02-30",  # the right shape, not a day
        "2099-13-01",
        "0000-01-01",
        "",
        " ",
        "yes",
        "1",
        "false",
        "true!",
        "truefalse",
        "t rue",
        "exempt",
    ],
)
def test_malformed_values_never_exempt(value: str) -> None:
    assert exemption(value) is None


@pytest.mark.parametrize("value", [None, True, 1, 20991227, date(2099, 12, 27), ["true"]])
def test_values_that_are_not_text_never_exempt(value: Any) -> None:
    assert exemption_for("dev-bob", {KEY: value}, settings(), TODAY) is None


# --- the date parser itself -------------------------------------------------------------------------


def test_parse_exemption_date_takes_only_the_calendar_form() -> None:
    assert parse_exemption_date("2099-12-27") == date(2099, 12, 27)
    assert parse_exemption_date("2024-02-29") == date(2024, 2, 29)  # a leap day
    assert parse_exemption_date("2025-02-29") is None
    assert parse_exemption_date("2099-W52-7") is None
    assert parse_exemption_date("2099-12-27\n") is None  # exemption_for strips; the parser does not
