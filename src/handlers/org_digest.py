"""The organisation sweep's last step: one digest for the run, from the Distributed Map's result files.

Step 3 of the organisation sweep's three functions (``handlers.org_sweep`` says how they fit together).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from typing import TYPE_CHECKING, Any

from core.model.alerts import AlertItem
from core.model.errors import DeliveryError
from core.model.validation import Fields, validated
from core.org.report import org_digest_alert, organization_item, relayed_alerts
from core.org.summary import ResultFiles
from handlers.common import alert_sink, logger, metrics, settings, trace_handler

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext


@cache
def result_files() -> ResultFiles:
    return ResultFiles()


@dataclass(frozen=True)
class ResultWriterDetails:
    """Where the Distributed Map wrote its results (the manifest), as Step Functions names it."""

    bucket: str
    key: str

    @classmethod
    def read(cls, f: Fields) -> ResultWriterDetails:
        return cls(bucket=f.text("Bucket"), key=f.text("Key"))


@dataclass(frozen=True)
class Targets:
    """The list-accounts state's output, passed through the workflow."""

    organization_id: str
    accounts: tuple[str, ...]
    skipped: tuple[str, ...] = ()  # the accounts not swept (their IDs)
    organization: tuple[AlertItem, ...] = ()  # the organisation's own findings (centralized root access)

    @classmethod
    def read(cls, f: Fields) -> Targets:
        return cls(
            organization_id=f.text("organization_id"),
            accounts=tuple(f.texts("accounts", required=True)),
            skipped=tuple(r.text("account_id", "") for r in f.records("skipped")),
            organization=tuple(organization_item(r) for r in f.records("organization_findings")),
        )


@dataclass(frozen=True)
class DigestInput:
    """The digest state's input: the targets, and the map's results or the error that ended it."""

    targets: Targets
    results: ResultWriterDetails | None = None
    map_error: dict[str, Any] | None = None

    @classmethod
    def read(cls, f: Fields) -> DigestInput:
        results = f.record("results")
        return cls(
            targets=Targets.read(f.required_record("targets")),
            results=ResultWriterDetails.read(results.required_record("ResultWriterDetails"))
            if results
            else None,
            map_error=f.mapping("map_error"),
        )


@logger.inject_lambda_context
@metrics.log_metrics
@trace_handler
def digest_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request = validated(DigestInput.read, event, "a DigestInput")
    summaries = []
    if request.results is not None:
        summaries = result_files().summaries(request.results.bucket, request.results.key)
    alert = org_digest_alert(
        request.targets.organization_id,
        summaries,
        skipped=len(request.targets.skipped),
        swept_at=datetime.now(UTC),
        dry_run=settings().dry_run,
        map_error=request.map_error,
        organization=request.targets.organization,
    )
    relayed, unreadable = relayed_alerts(summaries)
    if unreadable:
        logger.warning("members' alerts not relayed: unreadable", extra={"count": unreadable})
    try:
        for sending in (alert, *relayed):
            alert_sink().send(sending)
    except DeliveryError as exc:
        logger.error("org digest not delivered", extra={"error": str(exc)})
        raise
    return {
        "organization_id": request.targets.organization_id,
        "accounts": len(summaries),
        "sent": alert.kind.value,
        "relayed": len(relayed),
    }
