"""SNS / email rendering: subject, plain-text body, attributes, envelope, size limit."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from tests.report.channels.conftest import ACCOUNT, NOW, digest, out_of_order_digest, tamper_healed

from core.model.alerts import Alert, AlertItem, AlertKind, Severity
from core.model.errors import InvalidEventError
from core.report.envelope import alert_envelope, alert_from_envelope
from core.report.sns_email import EMAIL_LISTED_MAX, SNS_MESSAGE_MAX_BYTES, SUBJECT_MAX, sns_message


def test_subject_says_what_happened_with_severity() -> None:
    message = sns_message(tamper_healed())
    assert message.subject == "IAM Guard HIGH: " + tamper_healed().title
    assert len(message.subject) <= SUBJECT_MAX


@pytest.mark.parametrize("title", ["x" * 300, "word " * 60, "Line one\nline two\ttab", "Jürgen ✓ done"])
def test_subject_is_one_ascii_line_of_at_most_100_characters(title: str) -> None:
    subject = sns_message(replace(tamper_healed(), title=title, dry_run=True)).subject
    assert len(subject) <= SUBJECT_MAX
    assert subject.isascii()
    assert "\n" not in subject
    assert "\t" not in subject
    assert subject.startswith("IAM Guard HIGH: ")


def test_long_subject_ends_on_a_word_with_an_ellipsis() -> None:
    subject = sns_message(replace(tamper_healed(), title="alpha " * 40)).subject
    assert subject.endswith("alpha...")


def test_dry_run_is_said_in_subject_and_body() -> None:
    message = sns_message(replace(tamper_healed(), dry_run=True))
    assert "(dry run)" in message.subject
    assert "DRY RUN: nothing was changed" in message.body


def test_attributes_carry_type_and_severity_for_filter_policies() -> None:
    assert sns_message(digest(3)).attributes == {"type": "sweep-digest", "severity": "high"}
    assert sns_message(tamper_healed()).attributes == {"type": "tamper-healed", "severity": "high"}


def test_body_gives_a_person_what_they_need_to_act() -> None:
    alert = digest(2)
    body = sns_message(alert).body
    for item in alert.items:
        assert f"{item.subject}: {item.finding}" in body
        assert f"https://us-east-1.console.aws.amazon.com/iam/home#/users/details/{item.subject}" in body
        assert item.action in body
    assert "since 2026-02-" in body  # since when (NOW - 10 days and later)
    assert "deadline 2026-02-27 09:00 UTC" in body  # NOW - 3 days
    assert f"Account:     {ACCOUNT}" in body
    assert "Region:      us-east-1" in body
    assert "Report time: 2026-03-02 08:56 UTC" in body  # NOW - 4 minutes
    assert "1 console-without-mfa, 1 not-in-secured-group" in body


def test_body_of_a_single_event_names_actor_event_and_console_page() -> None:
    body = sns_message(tamper_healed()).body
    assert "Actor:    arn:aws:iam::123456789012:user/mallory" in body
    assert "Event ID: 5b3c0f4e-1d2a-4c8e-9f10-0123456789ab" in body
    assert "https://us-east-1.console.aws.amazon.com/iam/home#/groups/details/IAMGuardSecuredUsers" in body
    assert "What to do: Ask mallory why the policy was detached." in body


def test_body_lists_most_severe_first() -> None:
    alert = out_of_order_digest()
    body = sns_message(alert).body
    assert body.index("<root_account>") < body.index("amy:") < body.index("zed:")
    assert "#/security_credentials" in body  # where root's MFA is set


@pytest.mark.parametrize("count", [0, 1, 49, 50, EMAIL_LISTED_MAX + 1, 5000])
def test_email_lists_the_first_users_and_counts_the_rest(count: int) -> None:
    alert = digest(count)
    body = sns_message(alert).body
    listed = min(count, EMAIL_LISTED_MAX)
    ordered = alert.sorted_items()
    for item in ordered[:listed]:
        assert f"{item.subject}: " in body
    for item in ordered[listed:]:
        assert f"{item.subject}: " not in body
    if count > listed:
        assert f"... and {count - listed:,} more not listed here" in body
    else:
        assert "more not listed" not in body


def test_message_fits_sns_size_limit_even_with_huge_names_and_many_users() -> None:
    alert = digest(5000, name_length=64)
    long_action = "Ask the owner to register an MFA device. " * 40
    alert = replace(alert, items=tuple(replace(i, action=long_action) for i in alert.items))
    message = sns_message(alert)
    assert message.size_bytes() <= SNS_MESSAGE_MAX_BYTES
    carried = alert_from_envelope(message.envelope)
    assert carried is not None
    assert carried.item_count == 5000  # the notifier still knows how many users are affected


def test_structured_message_gives_text_to_people_and_the_alert_to_the_notifier() -> None:
    message = sns_message(tamper_healed())
    structured = json.loads(message.structured())
    assert structured["default"] == structured["email"] == message.body
    assert alert_from_envelope(structured["lambda"]) == tamper_healed()


def test_envelope_round_trips_every_field() -> None:
    alert = replace(digest(3), actor="arn:aws:iam::123456789012:user/a", event_id="e", dry_run=True)
    alert = replace(alert, details=(("Policy version", "v7"),), items_omitted=4)
    assert alert_from_envelope(alert_envelope(alert)) == alert


@pytest.mark.parametrize("text", ["plain text", "[1, 2]", '{"default": "x"}', ""])
def test_other_messages_are_not_envelopes(text: str) -> None:
    assert alert_from_envelope(text) is None


def test_a_broken_envelope_is_a_one_line_error() -> None:
    broken = json.dumps({"schema": "iam-guard.alert.v1", "alert": {"kind": "no-such-kind"}})
    with pytest.raises(InvalidEventError, match="malformed alert envelope"):
        alert_from_envelope(broken)


@pytest.mark.parametrize(
    ("field", "value", "says"),
    [
        ("details", [["Group", {"name": "x"}]], "alert.details.0: should be a [name, str] pair"),
        ("details", [["Group"]], "alert.details.0: should be a [name, str] pair"),
        ("counts", [["exempt", True]], "alert.counts.0: should be a [name, int] pair"),
        ("counts", [["exempt", -1]], "alert.counts: -1 is not a count"),
        ("severity", [40], "alert.severity: [40] is not a severity"),
        ("occurred_at", 1e20, "alert.occurred_at: should be an ISO 8601 time, got 1e+20"),
    ],
)
def test_each_malformed_field_of_an_envelope_is_named(field: str, value: object, says: str) -> None:
    body = {"kind": "sweep-digest", "severity": 40, "title": "t", "summary": "s", field: value}
    with pytest.raises(InvalidEventError) as refused:
        alert_from_envelope(json.dumps({"schema": "iam-guard.alert.v1", "alert": body}))
    assert str(refused.value) == f"malformed alert envelope: {says}"


def test_ages_are_relative_to_the_report_not_the_wall_clock() -> None:
    item = AlertItem("old", "console-without-mfa", Severity.HIGH, since=NOW.replace(day=1))
    alert = Alert(AlertKind.SWEEP_DIGEST, Severity.HIGH, "t", "s", items=(item,), report_generated_at=NOW)
    assert "since 2026-03-01, 1 day ago" in sns_message(alert).body
