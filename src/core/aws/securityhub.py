"""The Security Hub adapter.

Where findings go (account, region, partition), reading IAM Guard's active findings, importing batches
of them, and reasserting one someone hid: its Workflow back to NEW, its history (who changed it).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from botocore.exceptions import BotoCoreError

from core.aws.gateway import Gateway, translate
from core.aws.iam import permissions_of, requires
from core.model.errors import FindingAccountError

GENERATOR_PREFIX = "iam-guard/"


GET_FINDINGS_PAGE = 100  # GetFindings MaxResults upper bound
UPDATE_BATCH = 100  # BatchUpdateFindings: at most 100 findings a call
HISTORY_PAGE = 100  # GetFindingHistory MaxResults upper bound


@dataclass(frozen=True)
class Target:
    """Where findings go: the account (= the caller's account), its region and partition."""

    account_id: str
    region: str
    partition: str = "aws"

    @property
    def product_arn(self) -> str:
        return product_arn(self.account_id, self.region, self.partition)


def product_arn(account_id: str, region: str, partition: str = "aws") -> str:
    """The account's default product: what a custom integration imports findings as."""
    return f"arn:{partition}:securityhub:{region}:{account_id}:product/{account_id}/default"


def is_ours(asff: Mapping[str, Any], target: Target) -> bool:
    """An ACTIVE IAM Guard finding of this account: what GetFindings' filters ask for, checked again
    here (some implementations ignore the filters; a Security Hub administrator sees its members')."""
    return (
        asff.get("ProductArn") == target.product_arn
        and asff.get("AwsAccountId") == target.account_id
        and str(asff.get("GeneratorId", "")).startswith(GENERATOR_PREFIX)
        and asff.get("RecordState", "ACTIVE") == "ACTIVE"
    )


def default_securityhub_client() -> Any:
    """A Security Hub client with botocore's retries off (``Retrier`` retries, so counts stay exact).

    Parameter validation stays on: botocore checks every finding against the service model (required
    fields, types) before it leaves the process.
    """
    from core.aws.clients import client

    return client("securityhub")


@dataclass(frozen=True)
class FailedFinding:
    """A finding Security Hub (or IAM Guard's own ASFF check) rejected, with the reason."""

    id: str
    code: str
    message: str


@dataclass(frozen=True)
class BatchOutcome:
    """What one BatchImportFindings call did: how many were taken, which failed."""

    succeeded: int
    failed: tuple[FailedFinding, ...]


class SecurityHubGateway(Gateway):
    """Thin wrapper over the Security Hub API. The client is injected or created lazily on first use."""

    default_client_factory = staticmethod(default_securityhub_client)

    def target(self, account_id: str) -> Target:
        """The client's region and partition, for findings of ``account_id`` (= its credentials')."""
        try:
            meta = self.client.meta
        except BotoCoreError as exc:  # no region configured, no credentials found, ...
            raise translate("SecurityHub", exc) from None
        return Target(account_id=account_id, region=str(meta.region_name), partition=str(meta.partition))

    @requires("securityhub:GetFindings")
    def active_findings(self, target: Target) -> list[dict[str, Any]]:
        """IAM Guard's ACTIVE findings of this account, every page (each retried on its own)."""
        filters = {
            "ProductArn": [{"Value": target.product_arn, "Comparison": "EQUALS"}],
            "AwsAccountId": [{"Value": target.account_id, "Comparison": "EQUALS"}],
            "GeneratorId": [{"Value": GENERATOR_PREFIX, "Comparison": "PREFIX"}],
            "RecordState": [{"Value": "ACTIVE", "Comparison": "EQUALS"}],
        }
        found: list[dict[str, Any]] = []
        for page in self._paged("GetFindings", Filters=filters, MaxResults=GET_FINDINGS_PAGE):
            found += [f for f in page.get("Findings", []) if is_ours(f, target)]
        return found

    @requires("securityhub:BatchImportFindings")
    def batch_import(self, findings: list[dict[str, Any]], *, account_id: str) -> BatchOutcome:
        """One BatchImportFindings call. Refuses findings of another account than the caller's."""
        others = sorted({str(f.get("AwsAccountId")) for f in findings} - {account_id})
        if others:
            raise FindingAccountError(
                f"refusing to import findings of account {', '.join(others)} with the credentials of "
                f"{account_id}: Security Hub accepts only the caller's own findings"
            )
        answer = self.retrier.call(
            "BatchImportFindings", lambda: self.client.batch_import_findings(Findings=findings)
        )
        failed = tuple(
            FailedFinding(str(f.get("Id", "")), str(f.get("ErrorCode", "")), str(f.get("ErrorMessage", "")))
            for f in answer.get("FailedFindings") or []
        )
        unnamed = int(answer.get("FailedCount", 0)) - len(failed)
        if unnamed > 0:  # counted as failed but not listed: still never silent
            failed += (FailedFinding("(unnamed)", "Unknown", f"{unnamed} more counted failed, not listed"),)
        return BatchOutcome(int(answer.get("SuccessCount", 0)), failed)

    @requires("securityhub:BatchUpdateFindings")
    def reopen(self, ids: list[str], target: Target) -> tuple[FailedFinding, ...]:
        """Workflow.Status back to NEW for these findings of IAM Guard's (100 a call, BatchUpdateFindings'
        limit); the findings Security Hub did not update, with its reason."""
        failed: list[FailedFinding] = []
        for start in range(0, len(ids), UPDATE_BATCH):
            answer = self._call(
                "BatchUpdateFindings",
                FindingIdentifiers=[
                    {"Id": i, "ProductArn": target.product_arn} for i in ids[start : start + UPDATE_BATCH]
                ],
                Workflow={"Status": "NEW"},
            )
            failed += [
                FailedFinding(
                    str((u.get("FindingIdentifier") or {}).get("Id", "")),
                    str(u.get("ErrorCode", "")),
                    str(u.get("ErrorMessage", "")),
                )
                for u in answer.get("UnprocessedFindings") or []
            ]
        return tuple(failed)

    @requires("securityhub:GetFindingHistory")
    def history(self, finding_id: str, target: Target, *, since: datetime) -> list[dict[str, Any]]:
        """The finding's change records since ``since``, every page (who changed what, and how)."""
        records: list[dict[str, Any]] = []
        identifier = {"Id": finding_id, "ProductArn": target.product_arn}
        for page in self._paged(
            "GetFindingHistory", FindingIdentifier=identifier, StartTime=since, MaxResults=HISTORY_PAGE
        ):
            records += page.get("Records", [])
        return records


REQUIRED_PERMISSIONS = permissions_of(
    SecurityHubGateway.active_findings,
    SecurityHubGateway.batch_import,
    SecurityHubGateway.reopen,
    SecurityHubGateway.history,
)
