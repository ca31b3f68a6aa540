"""The organisation sweep's per-account step: the single-account sweep in one member, with its roles.

The three functions of the hub's organisation sweep, driven by the Step Functions workflow
(``core.org.workflow``), each in its own module so that each cold start loads only what it uses:
``org_list_accounts`` lists the accounts, ``org_sweep`` sweeps one account, ``org_digest`` sends the run's
one digest. Each handler: Powertools decorators, parse the state's input into a typed model, one core call.
"""

from __future__ import annotations

import re
from functools import cache
from typing import TYPE_CHECKING, Any, NamedTuple

from core.aws.assume import RoleAssumer
from core.model.naming import ACCOUNT_ID
from core.model.validation import Fields, validated
from core.org.sweep import OrgSweepOptions, summarize, sweep_account
from handlers.common import logger, metrics, settings, trace_handler

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext


@cache
def assumer() -> RoleAssumer:
    """One boto3 session per container; one AssumeRole per account swept."""
    return RoleAssumer()


ORGANIZATION_ID = re.compile(r"o-[a-z0-9]{10,32}")


class SweepAccountInput(NamedTuple):
    """One item of the Distributed Map: the account to sweep."""

    account_id: str
    organization_id: str

    @classmethod
    def read(cls, f: Fields) -> SweepAccountInput:
        return cls(
            account_id=f.text("account_id", pattern=ACCOUNT_ID),
            organization_id=f.text("organization_id", pattern=ORGANIZATION_ID),
        )


@logger.inject_lambda_context
@metrics.log_metrics
@trace_handler
def sweep_account_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request = validated(SweepAccountInput.read, event, "a SweepAccountInput")
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
