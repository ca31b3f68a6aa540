"""The organisation sweep's first step: the accounts the workflow's Distributed Map iterates over.

Step 1 of the organisation sweep's three functions (``handlers.org_sweep`` says how they fit together).
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.metrics import MetricUnit

from core.aws.iam import IamGateway
from core.aws.organizations import OrganizationsGateway, list_targets
from core.aws.sts import caller_account_id
from core.model.metric_names import ORG_ACCOUNTS_TARGETED
from core.org.root_access import organization_records
from handlers.common import logger, metrics, settings, trace_handler

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext


@cache
def organizations() -> OrganizationsGateway:
    return OrganizationsGateway()


@cache
def iam() -> IamGateway:
    """The hub's own IAM: centralized root access, checked once per run (one ListOrganizationsFeatures)."""
    return IamGateway()


@logger.inject_lambda_context
@metrics.log_metrics
@trace_handler
def list_accounts_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    targets = list_targets(
        organizations(), caller_account_id=caller_account_id(), exclude=settings().org_exclude_accounts
    )
    if targets["unknown_excluded"]:
        unknown = targets["unknown_excluded"]
        logger.warning(
            "OrgExcludeAccounts names accounts not in the organisation", extra={"accounts": unknown}
        )
    metrics.add_metric(name=ORG_ACCOUNTS_TARGETED, unit=MetricUnit.Count, value=len(targets["accounts"]))
    # Carried to the digest in the workflow's state (``$.targets``), never to the per-account sweeps.
    targets["organization_findings"] = organization_records(iam())
    return targets
