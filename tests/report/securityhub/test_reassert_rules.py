"""Which read-back records count as hidden (``core.report.securityhub_reassert``, pure): a still-failing
finding suppressed, resolved or overwritten; never IAM Guard's own changes from run to run (grace becoming
violation, a new deadline or detail), a finding triaged as NOTIFIED, or one whose problem is gone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from core.aws.securityhub import Target
from core.model.alerts import Severity
from core.model.findings import Finding
from core.report.securityhub import to_asff
from core.report.securityhub_reassert import Tampering, caller, tamperings

TARGET = Target("123456789012", "us-east-1")
NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


def asff(status: str = "violation", **changes: Any) -> dict[str, Any]:
    finding = Finding("alice", "console-without-mfa", Severity.HIGH, status, **changes)  # type: ignore[arg-type]
    return to_asff(finding, TARGET, now=NOW)


def hidden(current: dict[str, Any], there: dict[str, Any]) -> list[tuple[str, ...]]:
    return [t.changes for t in tamperings([current], {current["Id"]: there})]


def test_iam_guards_own_changes_between_runs_are_not_tampering() -> None:
    previous = asff("grace", deadline=NOW + timedelta(days=3), detail="console password")
    assert hidden(asff("violation", detail="console password, 1 active access key"), previous) == []
    assert hidden(asff(), {**asff(), "Workflow": {"Status": "NOTIFIED"}}) == []
    assert hidden(asff(), {**asff(), "Severity": {"Label": "LOW"}}) == []  # a triager's, not the provider's


@pytest.mark.parametrize(
    ("change", "said"),
    [
        ({"Workflow": {"Status": "SUPPRESSED"}}, ("Workflow.Status SUPPRESSED",)),
        ({"Workflow": {"Status": "RESOLVED"}}, ("Workflow.Status RESOLVED",)),
        ({"Title": "fine"}, ("Title overwritten",)),
        ({"Compliance": {"Status": "PASSED"}}, ("Compliance.Status PASSED",)),
        (
            {"Resources": [{"Type": "AwsIamUser", "Id": "arn:aws:iam::123456789012:user/bob"}]},
            ("Resources overwritten",),
        ),
    ],
)
def test_a_still_failing_finding_hidden_is_named_with_its_change(
    change: dict[str, Any], said: tuple[str, ...]
) -> None:
    assert hidden(asff(), {**asff(), **change}) == [said]


def test_a_finding_whose_problem_is_gone_or_that_is_new_is_never_reasserted() -> None:
    exempt = asff("exempt")  # PASSED: not still failing
    assert hidden(exempt, {**exempt, "Workflow": {"Status": "SUPPRESSED"}}) == []
    assert tamperings([asff()], {}) == []


def test_the_caller_is_the_newest_record_of_the_call_that_makes_the_change() -> None:
    def record(kind: str, who: str, at: int, field: str) -> dict[str, Any]:
        return {
            "UpdateSource": {"Type": kind, "Identity": who},
            "UpdateTime": NOW + timedelta(minutes=at),
            "Updates": [{"UpdatedField": field}],
        }

    history = [
        record("BATCH_IMPORT_FINDINGS", "sweep-role", 0, "Title"),
        record("BATCH_UPDATE_FINDINGS", "analyst", 1, "Note.Text"),
        record("BATCH_UPDATE_FINDINGS", "mallory", 2, "Workflow.Status"),
        record("BATCH_UPDATE_FINDINGS", "analyst", 3, "Severity.Label"),
        record("BATCH_IMPORT_FINDINGS", "importer", 4, "Title"),
    ]
    suppressed = Tampering(
        "iam-guard/1/console-without-mfa/alice", ("Workflow.Status SUPPRESSED",), True, False
    )
    overwritten = Tampering("iam-guard/1/console-without-mfa/alice", ("Title overwritten",), False, True)
    assert caller(history, suppressed) == "mallory"
    assert caller(history, overwritten) == "importer"
    assert caller([], suppressed) == "unknown (no BATCH_UPDATE_FINDINGS record in the finding's history)"
    assert (suppressed.kind, suppressed.subject) == ("console-without-mfa", "alice")
