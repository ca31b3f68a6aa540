"""CloudFormation custom resource Lambda (``Custom::Guardrail``) -> ``core.guardrail.custom_resource.handle``.

Settings come from the resource's properties (the same ``IAM_GUARD_*`` names as the environment), not
from this function's environment. A request is acted on only when CloudFormation is making it now, on
this function's own stack (``IAM_GUARD_STACK_ID``, set by the template): anything else is refused, logged,
alerted, and never answered (its ResponseURL is the requester's). A verified request gets exactly one
reply: SUCCESS, FAILED with the one-line reason, or - if the function is about to time out - FAILED from
a watchdog, so a stack never waits an hour for an answer that will not come.
"""

from __future__ import annotations

import os
import threading
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.metrics import MetricUnit

from core.aws.cfn_response import Replier
from core.guardrail.custom_resource import handle, parse_request, verify_request
from core.guardrail.replies import failure_body, refused_alert, response_body
from core.model.errors import DeliveryError, IamGuardError
from core.model.metric_names import GUARDRAIL_REQUEST_REFUSED
from handlers.common import alert_sink, cloudformation, iam, logger, metrics, trace_handler

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

WATCHDOG_MARGIN_SECONDS = 5.0
STACK_ID_VAR = "IAM_GUARD_STACK_ID"


@logger.inject_lambda_context
@metrics.log_metrics
@trace_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    try:
        request = parse_request(event)
    except IamGuardError as exc:
        return _refuse(event, str(exc), context)
    refusal = verify_request(request, os.environ.get(STACK_ID_VAR, ""), cloudformation())
    if refusal is not None:
        return _refuse(event, refusal, context)
    replier = Replier(request.ResponseURL)
    watchdog = _start_watchdog(replier, event, context)
    try:
        outcome = handle(request, iam())
    except Exception as exc:  # a bug: still answer CloudFormation, then keep the traceback in the log
        logger.exception("custom resource crashed", extra={"request_type": request.RequestType})
        replier.reply(failure_body(event, f"internal error: {type(exc).__name__}: {exc}") or {})
        raise
    finally:
        watchdog.cancel()
    replier.reply(response_body(request, outcome))
    metrics.add_metric(
        name=f"Guardrail{request.RequestType}{outcome.status.title()}", unit=MetricUnit.Count, value=1
    )
    log = logger.info if outcome.status == "SUCCESS" else logger.error
    log(
        "custom resource handled",
        extra={
            "request_type": request.RequestType,
            "status": outcome.status,
            "reason": outcome.reason,
            "changes": [f"{c.resource} {c.change} {c.detail}".strip() for c in outcome.changes],
        },
    )
    return {"Status": outcome.status, "Reason": outcome.reason, "PhysicalResourceId": outcome.physical_id}


def _refuse(event: Any, reason: str, context: LambdaContext) -> dict[str, Any]:
    """Not CloudFormation's request: change nothing, answer nobody, tell the security team."""
    metrics.add_metric(name=GUARDRAIL_REQUEST_REFUSED, unit=MetricUnit.Count, value=1)
    logger.warning(
        "custom resource request refused: nothing changed, no reply sent", extra={"reason": reason}
    )
    account = context.invoked_function_arn.split(":")[4]
    try:
        alert_sink().send(refused_alert(event, reason, account, datetime.now(UTC)))
    except (DeliveryError, IamGuardError) as exc:
        logger.error("refusal alert not delivered", extra={"error": str(exc)})
    return {"Status": "REFUSED", "Reason": reason}


def _start_watchdog(replier: Replier, event: Any, context: LambdaContext) -> threading.Timer:
    remaining = context.get_remaining_time_in_millis() / 1000 - WATCHDOG_MARGIN_SECONDS
    reason = "timed out: IAM did not answer in time; retry the stack operation"
    timer = threading.Timer(max(remaining, 0.0), lambda: replier.reply(failure_body(event, reason) or {}))
    timer.daemon = True
    timer.start()
    return timer
