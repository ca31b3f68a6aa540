"""The sweep Lambda with SecurityHub=true: it imports, and fails the invocation after the digest when
findings did not all reach Security Hub."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from tests.conftest import load_event
from tests.harness.metrics import EmittedMetrics
from tests.report.securityhub.conftest import ACCOUNT_ID, Account, Hub, PartlyFailing
from tests.sweep.conftest import sweep_handler_env

from core.model.alerts import AlertKind, RecordingSink
from core.model.errors import SecurityHubImportError
from core.report.securityhub import finding_id
from demo.lambda_context import FakeLambdaContext


@pytest.fixture
def lambda_env(
    monkeypatch: pytest.MonkeyPatch, account: Account, lambda_metrics: EmittedMetrics
) -> Iterator[RecordingSink]:
    from handlers import common

    monkeypatch.setenv("IAM_GUARD_SECURITY_HUB", "true")
    yield sweep_handler_env(monkeypatch, account)
    common.reset_caches()


def invoke() -> Any:
    from handlers.sweep import lambda_handler

    return lambda_handler(load_event("sweep-schedule.json"), FakeLambdaContext("iam-guard-sweep"))


def test_the_scheduled_sweep_imports_its_findings(
    lambda_env: RecordingSink, account: Account, hub: Hub, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("handlers.sweep.security_hub", lambda: hub.gateway)
    account.user("alice", password=True)
    account.user("outsider", password=True, virtual_mfa=True, in_group=False)

    out = invoke()

    assert set(hub.active()) == {
        finding_id(ACCOUNT_ID, "root-without-mfa", "<root_account>"),
        finding_id(ACCOUNT_ID, "console-without-mfa", "alice"),
        finding_id(ACCOUNT_ID, "not-in-secured-group", "outsider"),
    }
    assert out["security_hub"] == {"imported": 3, "archived": 0, "failed": 0, "reasserted": 0}


def test_the_default_gateway_uses_the_functions_own_credentials(
    lambda_env: RecordingSink, account: Account, hub: Hub
) -> None:
    account.user("alice", password=True)

    out = invoke()  # handlers.common.security_hub(): a client from the default session

    assert out["security_hub"]["imported"] == len(hub.active()) == 2


def test_findings_that_did_not_reach_security_hub_fail_the_invocation_after_the_digest(
    lambda_env: RecordingSink, account: Account, hub: Hub, monkeypatch: pytest.MonkeyPatch
) -> None:
    alice = finding_id(ACCOUNT_ID, "console-without-mfa", "alice")
    failing = Hub(
        PartlyFailing(boto3.client("securityhub", region_name="us-east-1"), lambda f: f["Id"] == alice)
    )
    monkeypatch.setattr("handlers.sweep.security_hub", lambda: failing.gateway)
    account.user("alice", password=True)

    with pytest.raises(SecurityHubImportError, match=alice):
        invoke()

    (digest,) = lambda_env.alerts  # sent before the failure
    assert digest.kind is AlertKind.SWEEP_DIGEST
    assert dict(digest.details)["security_hub"] == "Security Hub: 1 imported, 0 archived, 1 failed"
    assert alice not in hub.by_id()


def test_with_the_setting_off_nothing_goes_to_security_hub(
    lambda_env: RecordingSink, account: Account, hub: Hub, monkeypatch: pytest.MonkeyPatch
) -> None:
    from handlers import common

    monkeypatch.setenv("IAM_GUARD_SECURITY_HUB", "false")
    common.reset_caches()
    account.user("alice", password=True)

    out = invoke()

    assert "security_hub" not in out
    assert hub.findings() == []
