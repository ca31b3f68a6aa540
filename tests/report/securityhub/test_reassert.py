"""Hidden findings are reasserted (issue 21, item 5): a still-failing IAM Guard finding that someone
suppressed or overwrote in Security Hub gets its Workflow back to NEW and IAM Guard's content back, is
counted in ``security_hub.reasserted``, and raises a high ``security-hub-finding-suppressed`` alert naming
the finding, the change and the caller. moto stores and lists the findings; ``BatchUpdateFindings`` and
``GetFindingHistory``, which moto lacks, are served in AWS's format (``tests/harness/securityhub_triage``).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from tests.harness.securityhub_triage import Triage
from tests.report.securityhub.conftest import ACCOUNT_ID, Account, Hub, sweep
from tests.report.securityhub.test_handler_security_hub import invoke, lambda_env

from core.model.alerts import Alert, AlertKind, RecordingSink, Severity
from core.report.securityhub import finding_id

__all__ = ["lambda_env"]  # the handler's environment, a fixture shared with test_handler_security_hub

NOW = datetime.now(UTC) + timedelta(hours=1)  # past the grace (0 days) of users the tests create
SWEEP_ROLE = f"arn:aws:sts::{ACCOUNT_ID}:assumed-role/iam-guard_sweep/iam-guard_sweep"
MALLORY = f"arn:aws:iam::{ACCOUNT_ID}:user/mallory"
ALICE = finding_id(ACCOUNT_ID, "console-without-mfa", "alice")
ROBOT = finding_id(ACCOUNT_ID, "access-key-without-mfa", "robot")


@pytest.fixture
def triage(hub: Hub) -> Triage:
    served = Triage(ACCOUNT_ID)
    served.attach(hub.client, SWEEP_ROLE)
    return served


@pytest.fixture
def mallory(triage: Triage) -> Any:
    """A guarded user's client whose Security Hub calls are not denied (a policy without DenyHidingAlerts)."""
    return triage.attach(boto3.client("securityhub", region_name="us-east-1"), MALLORY)


def seeded(account: Account, hub: Hub) -> None:
    account.user("alice", password=True)  # console-without-mfa
    account.user("robot", keys=1)  # access-key-without-mfa
    sweep(account, hub, now=NOW)


def suppress(client: Any, *ids: str, status: str = "SUPPRESSED") -> None:
    product = f"arn:aws:securityhub:us-east-1:{ACCOUNT_ID}:product/{ACCOUNT_ID}/default"
    client.batch_update_findings(
        FindingIdentifiers=[{"Id": i, "ProductArn": product} for i in ids], Workflow={"Status": status}
    )


def hidden_alerts(account: Account) -> list[Alert]:
    return [a for a in account.sink.alerts if a.kind is AlertKind.SECURITY_HUB_FINDING_SUPPRESSED]


@pytest.mark.parametrize("status", ["SUPPRESSED", "RESOLVED"])
def test_a_suppressed_finding_still_failing_is_set_back_to_new_and_alerted(
    account: Account, hub: Hub, triage: Triage, mallory: Any, status: str
) -> None:
    seeded(account, hub)
    suppress(mallory, ALICE, status=status)

    result = sweep(account, hub, now=NOW + timedelta(days=1))

    assert hub.by_id()[ALICE]["Workflow"]["Status"] == "NEW"
    assert hub.by_id()[ROBOT].get("Workflow", {}).get("Status", "NEW") == "NEW"
    assert result.security_hub is not None
    assert result.security_hub.counts()["reasserted"] == 1
    [reset] = [r for r in triage.served("BatchUpdateFindings") if r.get("Workflow") == {"Status": "NEW"}]
    assert [i["Id"] for i in reset["FindingIdentifiers"]] == [ALICE]
    [alert] = hidden_alerts(account)
    assert alert.severity is Severity.HIGH
    assert f"{ALICE}: Workflow.Status {status} (by {MALLORY})" in alert.summary
    assert alert.actor == MALLORY
    assert [(i.subject, i.finding, i.status) for i in alert.items] == [
        ("alice", "console-without-mfa", "reasserted")
    ]


def test_an_overwritten_finding_gets_iam_guards_content_back_and_names_the_importer(
    account: Account, hub: Hub, triage: Triage, mallory: Any
) -> None:
    seeded(account, hub)
    forged = {
        **hub.by_id()[ALICE],
        "Title": "Nothing to see",
        "Severity": {"Label": "INFORMATIONAL"},
        "FindingProviderFields": {"Severity": {"Label": "INFORMATIONAL"}, "Types": ["Effects/Nothing"]},
        "Compliance": {"Status": "PASSED"},
    }
    forged.pop("ResponseMetadata", None)
    mallory.batch_import_findings(Findings=[forged])

    result = sweep(account, hub, now=NOW + timedelta(days=1))

    restored = hub.by_id()[ALICE]
    assert restored["Title"] == "IAM user with a console password and no MFA: alice"
    assert restored["FindingProviderFields"]["Severity"]["Label"] == "HIGH"
    assert restored["Compliance"]["Status"] == "FAILED"
    assert result.security_hub is not None
    assert result.security_hub.reasserted == 1
    assert triage.served("BatchUpdateFindings") == []  # not suppressed: the re-import is the remedy
    [alert] = hidden_alerts(account)
    assert (
        f"{ALICE}: Title overwritten, Severity.Label overwritten, Types overwritten, "
        f"Compliance.Status PASSED (by {MALLORY})"
    ) in alert.summary


def test_a_fixed_problem_a_notified_finding_and_an_unchanged_run_reassert_nothing(
    account: Account, hub: Hub, triage: Triage, mallory: Any
) -> None:
    seeded(account, hub)
    suppress(mallory, ROBOT)  # then robot's key is deleted: the finding is archived, not reasserted
    suppress(mallory, ALICE, status="NOTIFIED")  # triage in progress: left as it is
    account.client.delete_access_key(
        UserName="robot",
        AccessKeyId=account.client.list_access_keys(UserName="robot")["AccessKeyMetadata"][0]["AccessKeyId"],
    )
    triage.calls.clear()

    result = sweep(account, hub, now=NOW + timedelta(days=1))

    assert result.security_hub is not None
    assert result.security_hub.counts()["reasserted"] == 0
    assert hub.by_id()[ROBOT]["RecordState"] == "ARCHIVED"
    assert hub.by_id()[ALICE]["Workflow"]["Status"] == "NOTIFIED"
    assert triage.calls == []  # no history read, no update: the import costs what it cost before
    assert hidden_alerts(account) == []


def test_a_finding_security_hub_does_not_reset_is_named_as_failed_and_not_counted(
    account: Account, hub: Hub, triage: Triage, mallory: Any
) -> None:
    seeded(account, hub)
    suppress(mallory, ALICE, ROBOT)
    triage.unprocessed[ROBOT] = "ConcurrentUpdateError"

    result = sweep(account, hub, now=NOW + timedelta(days=1))

    assert result.security_hub is not None
    assert result.security_hub.reasserted == 1  # alice; robot stays suppressed
    assert f"{ROBOT} (ConcurrentUpdateError" in (result.security_hub.problem() or "")
    [alert] = hidden_alerts(account)
    assert ALICE in alert.summary
    assert ROBOT not in alert.summary


def test_an_unreadable_history_still_reasserts_and_says_why_the_caller_is_unknown(
    account: Account, hub: Hub, triage: Triage, mallory: Any
) -> None:
    seeded(account, hub)
    suppress(mallory, ALICE)
    triage.history_error = "AccessDeniedException"

    result = sweep(account, hub, now=NOW + timedelta(days=1))

    assert hub.by_id()[ALICE]["Workflow"]["Status"] == "NEW"
    assert result.security_hub is not None
    assert result.security_hub.reasserted == 1
    [alert] = hidden_alerts(account)
    assert "by unknown (GetFindingHistory failed: AccessDeniedException)" in alert.summary


def test_the_scheduled_sweep_reasserts_with_its_own_role(
    lambda_env: RecordingSink, account: Account, hub: Hub, triage: Triage, mallory: Any, monkeypatch: Any
) -> None:
    """Through the handler, so the least-privilege recorder holds BatchUpdateFindings and
    GetFindingHistory to the sweep role's SecurityHub=true statements."""
    monkeypatch.setattr("handlers.sweep.security_hub", lambda: hub.gateway)
    account.user("alice", password=True)
    invoke()
    suppress(mallory, ALICE)

    out = invoke()

    assert out["security_hub"]["reasserted"] == 1
    assert hub.by_id()[ALICE]["Workflow"]["Status"] == "NEW"
    [alert] = [a for a in lambda_env.alerts if a.kind is AlertKind.SECURITY_HUB_FINDING_SUPPRESSED]
    assert MALLORY in alert.summary
