"""Slack Block Kit rendering: content, order, and Slack's limits for any number of users."""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

import pytest
from tests.report.channels.conftest import ACCOUNT, digest, out_of_order_digest, tamper_healed

from core.model.alerts import AlertKind, Severity
from core.report.render_common import trimmed
from core.report.slack_blocks import SLACK_LISTED_MAX, slack_message, slack_text_message

# Slack's documented limits, restated here so the test does not trust the renderer's own constants.
MAX_BLOCKS = 50
MAX_SECTION_TEXT = 3000
MAX_HEADER_TEXT = 150
MAX_FIELDS = 10
MAX_FIELD_TEXT = 2000
MAX_CONTEXT_ELEMENTS = 10


def assert_within_slack_limits(payload: dict[str, Any]) -> None:
    blocks = payload["blocks"]
    assert 1 <= len(blocks) <= MAX_BLOCKS
    assert payload["text"]
    for block in blocks:
        if block["type"] == "header":
            assert block["text"]["type"] == "plain_text"
            assert len(block["text"]["text"]) <= MAX_HEADER_TEXT
        elif block["type"] == "section":
            if "text" in block:
                assert 0 < len(block["text"]["text"]) <= MAX_SECTION_TEXT
            fields = block.get("fields", [])
            assert len(fields) <= MAX_FIELDS
            assert all(len(f["text"]) <= MAX_FIELD_TEXT for f in fields)
        elif block["type"] == "context":
            assert 1 <= len(block["elements"]) <= MAX_CONTEXT_ELEMENTS
        else:
            assert block["type"] == "divider"


def all_text(payload: dict[str, Any]) -> str:
    parts = []
    for block in payload["blocks"]:
        if "text" in block:
            parts.append(block["text"]["text"])
        parts += [f["text"] for f in block.get("fields", [])]
        parts += [e["text"] for e in block.get("elements", [])]
    return "\n".join(parts)


def listed_users(payload: dict[str, Any]) -> list[str]:
    """User names in the order the message lists them (linked names in item lines)."""
    return re.findall(r"\*<https://[^|]+\|([^>]+)>\*", all_text(payload))


@pytest.mark.parametrize("count", [0, 1, 49, 50, 5000])
def test_digest_stays_within_limits_and_counts_what_it_does_not_list(count: int) -> None:
    alert = digest(count)
    payload = slack_message(alert)
    assert_within_slack_limits(payload)
    names = listed_users(payload)
    expected_listed = min(count, SLACK_LISTED_MAX)
    assert names == [item.subject for item in alert.sorted_items()[:expected_listed]]
    text = all_text(payload)
    if count > expected_listed:
        assert f"…and {count - expected_listed:,} more not listed here" in text
    else:
        assert "more not listed" not in text


def test_users_trimmed_by_sns_are_still_counted() -> None:
    payload = slack_message(trimmed(digest(5000), 100))  # what travels through SNS
    assert f"…and {5000 - SLACK_LISTED_MAX:,} more not listed here" in all_text(payload)
    assert "*5,000 findings*" in all_text(payload)


def test_long_names_and_lines_still_fit() -> None:
    alert = digest(5000, name_length=64)
    long_status = "s" * 2500
    alert = replace(alert, items=tuple(replace(i, status=long_status) for i in alert.items))
    alert = replace(alert, title="T" * 400, summary="S" * 5000, details=(("k" * 50, "v" * 5000),) * 20)
    assert_within_slack_limits(slack_message(alert))


def test_summary_line_has_counts_per_finding() -> None:
    alert = digest(5)
    text = all_text(slack_message(alert))
    assert "*5 findings* · `console-without-mfa` 3 · `not-in-secured-group` 2" in text


def test_most_severe_first_with_finding_and_status() -> None:
    alert = out_of_order_digest()
    text = all_text(slack_message(alert))
    root = text.index("&lt;root_account&gt;")
    assert root < text.index("|amy>") < text.index("|zed>")
    assert "`console-without-mfa` · _violation_" in text
    assert "`not-in-secured-group` · _grace_" in text


def test_single_event_shows_actor_event_and_what_to_do() -> None:
    payload = slack_message(tamper_healed())
    assert_within_slack_limits(payload)
    text = all_text(payload)
    assert "*Actor*\n`arn:aws:iam::123456789012:user/mallory`" in text
    assert "`5b3c0f4e-1d2a-4c8e-9f10-0123456789ab`" in text
    assert "*What to do:* Ask mallory why the policy was detached." in text
    assert "#/groups/details/IAMGuardSecuredUsers|group/IAMGuardSecuredUsers>" in text


def test_header_and_footer() -> None:
    payload = slack_message(digest(3))
    header = payload["blocks"][0]
    assert header["type"] == "header"
    assert header["text"]["text"] == ":red_circle: IAM sweep: 3 need attention"
    footer = payload["blocks"][-1]
    assert footer["type"] == "context"
    footer_text = " ".join(e["text"] for e in footer["elements"])
    assert f"Account {ACCOUNT}" in footer_text
    assert "us-east-1" in footer_text
    assert "Report 2026-03-02 08:56 UTC" in footer_text


def test_fallback_text_names_severity_and_what_happened() -> None:
    payload = slack_message(tamper_healed())
    assert payload["text"].startswith("HIGH: Guardrail policy detached")


def test_user_supplied_text_is_escaped() -> None:
    alert = replace(tamper_healed(), summary="<!channel> & <https://evil|click>")
    text = all_text(slack_message(alert))
    assert "<!channel>" not in text
    assert "&lt;!channel&gt; &amp; &lt;https://evil|click&gt;" in text


def test_dry_run_is_said_first() -> None:
    text = all_text(slack_message(replace(digest(2), dry_run=True)))
    assert "*Dry run:* nothing was changed" in text


def test_every_kind_renders_within_limits() -> None:
    for kind in AlertKind:
        for severity in Severity:
            alert = replace(tamper_healed(), kind=kind, severity=severity)
            assert_within_slack_limits(slack_message(alert))


def test_foreign_text_message_is_posted_not_dropped() -> None:
    payload = slack_text_message("Budget alarm", "x" * 200_000)
    assert_within_slack_limits(payload)
    assert payload["blocks"][0]["text"]["text"] == "Budget alarm"
    assert "truncated" in payload["blocks"][-1]["text"]["text"]
