"""Fixtures for the alert tests: realistic alerts, every log record (the local Slack stand-in is the
shared ``receiver`` fixture of tests/conftest.py)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from moto import mock_aws

from core.model.alerts import Alert, AlertItem, AlertKind, Severity
from demo.slack_receiver import SlackReceiver

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
ACCOUNT = "123456789012"


def digest(count: int, *, name_length: int = 8) -> Alert:
    """A sweep digest with ``count`` users: every third one outside the group, the others without MFA."""
    items = []
    for i in range(count):
        no_mfa = i % 3 != 0
        items.append(
            AlertItem(
                subject=f"u{i:05d}".ljust(name_length, "x"),
                finding="console-without-mfa" if no_mfa else "not-in-secured-group",
                severity=Severity.HIGH if no_mfa else Severity.MEDIUM,
                status="violation",
                since=NOW - timedelta(days=10 + i % 30),
                deadline=NOW - timedelta(days=3),
                action="Ask the user to register an MFA device, or remove the console password."
                if no_mfa
                else "Add the user to the secured group, or exempt them explicitly.",
            )
        )
    high = sum(1 for item in items if item.severity is Severity.HIGH)
    counts = (("console-without-mfa", high), ("not-in-secured-group", count - high)) if count else ()
    return Alert(
        kind=AlertKind.SWEEP_DIGEST,
        severity=Severity.HIGH if count else Severity.INFO,
        title=f"IAM sweep: {count} need attention",
        summary=f"{count + 12} users swept; {count} need attention.",
        account_id=ACCOUNT,
        region="us-east-1",
        occurred_at=NOW,
        report_generated_at=NOW - timedelta(minutes=4),
        items=tuple(items),
        counts=counts,
    )


def out_of_order_digest() -> Alert:
    """Three findings given least severe first: every rendering must list root, then amy, then zed."""
    return Alert(
        kind=AlertKind.SWEEP_DIGEST,
        severity=Severity.CRITICAL,
        title="t",
        summary="s",
        account_id=ACCOUNT,
        items=(
            AlertItem("zed", "not-in-secured-group", Severity.MEDIUM, status="grace"),
            AlertItem("<root_account>", "root-without-mfa", Severity.CRITICAL, status="violation"),
            AlertItem("amy", "console-without-mfa", Severity.HIGH, status="violation"),
        ),
    )


def tamper_healed() -> Alert:
    return Alert(
        kind=AlertKind.TAMPER_HEALED,
        severity=Severity.HIGH,
        title="Guardrail policy detached from IAMGuardSecuredUsers and re-attached",
        summary="Someone detached the guardrail policy from the secured group; IAM Guard re-attached it. "
        "Ask the actor why, and review their permissions.",
        account_id=ACCOUNT,
        region="us-east-1",
        actor="arn:aws:iam::123456789012:user/mallory",
        occurred_at=NOW,
        event_id="5b3c0f4e-1d2a-4c8e-9f10-0123456789ab",
        items=(
            AlertItem(
                subject="group/IAMGuardSecuredUsers",
                finding="policy-reattached",
                severity=Severity.HIGH,
                status="done",
                action="Ask mallory why the policy was detached.",
            ),
        ),
    )


@pytest.fixture
def all_log_records(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[logging.LogRecord]]:
    """Every record any logger handles, whatever its handlers or propagation (debug included)."""
    records: list[logging.LogRecord] = []
    original = logging.Logger.handle

    def handle(self: logging.Logger, record: logging.LogRecord) -> None:
        records.append(record)
        original(self, record)

    monkeypatch.setattr(logging.Logger, "handle", handle)
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.DEBUG)
    yield records
    root.setLevel(level)


@pytest.fixture
def account_with_a_user_without_mfa() -> Iterator[None]:
    """moto IAM with hanako, who has a console password and no MFA: the audit has one finding."""
    with mock_aws():
        iam = boto3.client("iam", region_name="us-east-1")
        iam.create_user(UserName="hanako")
        iam.create_login_profile(UserName="hanako", Password="Sup3r-secret-pw!")
        yield


SecretCheck = Callable[..., list[str]]


@pytest.fixture
def webhook_kept_secret(
    receiver: SlackReceiver, all_log_records: list[logging.LogRecord], capfd: pytest.CaptureFixture[str]
) -> SecretCheck:
    """A check that the webhook URL's secret part appears nowhere: not in any log record (debug
    included), not on stdout or stderr (file descriptors: subprocess-free), not in the texts given.
    Returns everything it searched, so a test can also assert that something was said at all."""

    def check(*texts: str) -> list[str]:
        out, err = capfd.readouterr()
        logged = [f"{r.getMessage()} {r.__dict__}" for r in all_log_records]
        searched = [*logged, out, err, *texts]
        leaks = [text for text in searched if receiver.token in text]
        assert leaks == [], f"the webhook secret leaked: {leaks[0][:300]}"
        return searched

    return check
