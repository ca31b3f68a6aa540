"""The hub's organisation sweep, three Lambda functions driven by the Step Functions workflow
(``core.org.workflow``): list the accounts, sweep one account, send the run's one digest.

Each handler: Powertools decorators, parse the state's input into a typed model, one core call.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, ConfigDict, Field

from core.errors import DeliveryError
from core.metric_names import ORG_ACCOUNTS_TARGETED
from core.org.access import RoleAssumer
from core.org.accounts import OrganizationsGateway
from core.org.report import org_digest_alert
from core.org.summary import ResultFiles
from core.org.sweep import OrgSweepOptions, list_targets, summarize, sweep_account
from core.sts import caller_account_id
from core.validation import validated
from handlers.common import alert_sink, logger, metrics, settings, trace_handler


@cache
def assumer() -> RoleAssumer:
    """One boto3 session per container; one AssumeRole per account swept."""
    return RoleAssumer()


@cache
def organizations() -> OrganizationsGateway:
    return OrganizationsGateway()


@cache
def result_files() -> ResultFiles:
    return ResultFiles()


class SweepAccountInput(BaseModel):
    model_config = ConfigDict(extra="ignore")

    account_id: str = Field(pattern=r"^\d{12}$")
    organization_id: str = Field(pattern=r"^o-[a-z0-9]{10,32}$")


class ResultWriterDetails(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="ignore")

    bucket: str = Field(alias="Bucket")
    key: str = Field(alias="Key")


class MapResults(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="ignore")

    details: ResultWriterDetails = Field(alias="ResultWriterDetails")


class Targets(BaseModel):
    model_config = ConfigDict(extra="ignore")

    organization_id: str
    accounts: list[str]
    skipped: list[dict[str, str]] = []


class DigestInput(BaseModel):
    model_config = ConfigDict(extra="ignore")

    targets: Targets
    results: MapResults | None = None
    map_error: dict[str, Any] | None = None


def _parse(model: type[BaseModel], event: Any) -> Any:
    return validated(model, event, f"a {model.__name__}")


@logger.inject_lambda_context
@metrics.log_metrics
@trace_handler
def list_accounts_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    targets = list_targets(organizations(), caller_account_id=caller_account_id())
    metrics.add_metric(name=ORG_ACCOUNTS_TARGETED, unit=MetricUnit.Count, value=len(targets["accounts"]))
    return targets


@logger.inject_lambda_context
@metrics.log_metrics
@trace_handler
def sweep_account_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request: SweepAccountInput = _parse(SweepAccountInput, event)
    result = sweep_account(
        # The hub's own settings: each member's guardrail is compared with them and healed.
        request.account_id,
        assumer=assumer(),
        settings=settings(),
        options=OrgSweepOptions(guardrail="heal"),
    )
    if result.status != "ok":
        logger.warning("account not swept", extra={"account_id": result.account_id, "error": result.error})
    return summarize(result).to_dict()


@logger.inject_lambda_context
@metrics.log_metrics
@trace_handler
def digest_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request: DigestInput = _parse(DigestInput, event)
    summaries = []
    if request.results is not None:
        details = request.results.details
        summaries = result_files().summaries(details.bucket, details.key)
    alert = org_digest_alert(
        request.targets.organization_id,
        summaries,
        skipped=len(request.targets.skipped),
        swept_at=datetime.now(UTC),
        dry_run=settings().dry_run,
        map_error=request.map_error,
    )
    try:
        alert_sink().send(alert)
    except DeliveryError as exc:
        logger.error("org digest not delivered", extra={"error": str(exc)})
        raise
    return {
        "organization_id": request.targets.organization_id,
        "accounts": len(summaries),
        "sent": alert.kind.value,
    }
