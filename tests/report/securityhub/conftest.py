"""Fixtures for the Security Hub tests: moto's IAM account (tests/sweep) plus moto's Security Hub, enabled,
with a counted client for IAM Guard and a separate reader for the tests' own look-ups."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from tests.sweep.conftest import Account, make_settings

from core.aws.gateway import CallCounter, Retrier
from core.aws.securityhub import SecurityHubGateway
from core.model.settings import Settings
from core.sweep.result import SweepResult
from core.sweep.run import run_sweep

ACCOUNT_ID = "123456789012"  # moto's default account


class Hub:
    """moto's Security Hub of the account: IAM Guard's counted gateway, and the tests' reader."""

    def __init__(self, client: Any | None = None) -> None:
        import boto3

        self.reader = boto3.client("securityhub", region_name="us-east-1")
        self.reader.enable_security_hub()
        self.client = client or boto3.client("securityhub", region_name="us-east-1")
        self.counter = CallCounter()
        self.counter.attach(self.client)
        self.gateway = SecurityHubGateway(self.client, retrier=Retrier(sleep=lambda _: None))

    def findings(self) -> list[dict[str, Any]]:
        """Every finding in the hub (moto ignores Filters; the tests look at everything)."""
        found: list[dict[str, Any]] = []
        params: dict[str, Any] = {"MaxResults": 100}
        while True:
            page = self.reader.get_findings(**params)
            found += page["Findings"]
            if not page.get("NextToken"):
                return found
            params["NextToken"] = page["NextToken"]

    def by_id(self) -> dict[str, dict[str, Any]]:
        return {f["Id"]: f for f in self.findings()}

    def active(self) -> dict[str, dict[str, Any]]:
        return {i: f for i, f in self.by_id().items() if f.get("RecordState") == "ACTIVE"}


@pytest.fixture
def account(mock_iam: Any) -> Account:
    return Account(mock_iam)


@pytest.fixture
def hub(mock_iam: Any) -> Hub:
    return Hub()


def sweep(
    account: Account,
    hub: Hub,
    settings: Settings | None = None,
    *,
    now: datetime | None = None,
    account_id: str = "",
) -> SweepResult:
    """One sweep with the Security Hub import on, through ``hub``'s counted gateway."""
    account.counter.reset()
    hub.counter.reset()
    return run_sweep(
        account.gateway,
        account.sink,
        settings or make_settings(security_hub=True, grace_days=0),
        now=now or datetime.now(UTC),
        sleep=account.sleeps.append,
        account_id=account_id,
        security_hub=hub.gateway,
    )


class PartlyFailing:
    """A Security Hub client that refuses the findings ``refuse`` picks, as BatchImportFindings does:
    FailedCount > 0 and a FailedFindings entry per refused ID; everything else goes to the real client."""

    def __init__(self, client: Any, refuse: Callable[[dict[str, Any]], bool]) -> None:
        self._client = client
        self._refuse = refuse

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def batch_import_findings(self, Findings: list[dict[str, Any]]) -> dict[str, Any]:
        refused = [f for f in Findings if self._refuse(f)]
        kept = [f for f in Findings if not self._refuse(f)]
        answer: dict[str, Any] = {"FailedCount": 0, "SuccessCount": 0, "FailedFindings": []}
        if kept:
            answer = self._client.batch_import_findings(Findings=kept)
        failures = [
            {"Id": f["Id"], "ErrorCode": "InvalidInput", "ErrorMessage": "injected refusal"} for f in refused
        ]
        return {
            "FailedCount": answer["FailedCount"] + len(refused),
            "SuccessCount": answer["SuccessCount"],
            "FailedFindings": [*answer.get("FailedFindings", []), *failures],
        }


__all__ = ["ACCOUNT_ID", "Account", "Hub", "PartlyFailing", "make_settings", "sweep"]
