"""The run's one digest: built from account summaries, rendered by the same renderers as every alert."""

from __future__ import annotations

from datetime import UTC, datetime

from core.model.alerts import AlertKind, Severity
from core.org.report import org_digest_alert
from core.org.summary import AccountSummary
from core.report.envelope import alert_envelope, alert_from_envelope
from core.report.slack_blocks import slack_message
from core.report.sns_email import email_body, sns_subject

NOW = datetime(2026, 1, 5, 6, 0, tzinfo=UTC)


def summaries(n: int) -> list[AccountSummary]:
    found = [
        AccountSummary(
            f"{100000000000 + i}",
            "ok",
            worst=Severity.HIGH if i % 2 else Severity.MEDIUM,
            attention=i % 7 + 1,
            attention_kinds=("console-without-mfa",),
            by_finding={"console-without-mfa": i % 7 + 1},
            by_status={"violation": i % 7 + 1},
        )
        for i in range(n)
    ]
    found.append(AccountSummary("999999999999", "failed", error="AssumeRole failed: AccessDenied: denied"))
    return found


def test_the_digest_lists_the_top_accounts_worst_first_then_every_failed_account() -> None:
    alert = org_digest_alert("o-a1b2c3d4e5", summaries(50), skipped=2, swept_at=NOW, top=20)

    assert alert.kind is AlertKind.ORG_SWEEP_DIGEST
    assert alert.severity is Severity.HIGH
    ranked = alert.items[:20]
    assert all(i.severity is Severity.HIGH for i in ranked[:20])  # 25 high accounts: the top 20 are all high
    attention = [int(i.status.split()[0]) for i in ranked]
    assert attention == sorted(attention, reverse=True)  # then most findings first
    assert alert.items[-1].subject == "account/999999999999"
    assert alert.items[-1].status == "failed"
    assert alert.items_omitted == 30
    assert alert.title == "IAM org sweep: 50 of 51 accounts need attention, 1 failed"


def test_the_digest_renders_for_email_and_slack_and_survives_the_envelope() -> None:
    alert = org_digest_alert("o-a1b2c3d4e5", summaries(5), swept_at=NOW)

    assert "IAM org sweep" in sns_subject(alert)
    assert "account/999999999999" in email_body(alert)
    assert "AssumeRole failed: AccessDenied" in email_body(alert)
    assert slack_message(alert)["blocks"]
    assert alert_from_envelope(alert_envelope(alert)) == alert


def test_a_quiet_organisation_gets_an_info_digest() -> None:
    clean = [AccountSummary("111111111111", "ok"), AccountSummary("222222222222", "ok")]

    alert = org_digest_alert("o-a1b2c3d4e5", clean, swept_at=NOW)

    assert alert.severity is Severity.INFO
    assert alert.items == ()
    assert alert.title == "IAM org sweep: 0 of 2 accounts need attention, 0 failed"
