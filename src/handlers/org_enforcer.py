"""Org enforcer Lambda: member accounts' IAM events, from the hub's SQS buffer -> one account each.

Each SQS record carries one EventBridge event forwarded by a member's spoke rule; ``event.account`` names
the member. The core (``core.org.enforce``) assumes ``IAMGuardEnforceRole`` there and runs the
single-account enforcer. Partial batch failures: only records worth a retry (throttling, races,
unclassified AWS errors) go back to the queue, and after ``maxReceiveCount`` to its dead-letter queue;
an expected failure that a retry cannot fix has already sent an ENFORCEMENT_FAILED alert.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from core.enforcement import GuardrailCache, is_retryable
from core.errors import IamGuardError, InvalidEventError
from core.metric_names import ENFORCEMENT_FAILED
from core.naming import ENFORCE_ROLE
from core.org.access import RoleAssumer
from core.org.enforce import enforce_member_event
from handlers.common import alert_sink, logger, metrics, settings, trace_handler

processor = BatchProcessor(event_type=EventType.SQS)


@cache
def assumer() -> RoleAssumer:
    """One boto3 session per container; one AssumeRole per event's account."""
    return RoleAssumer()


@cache
def guardrail_cache() -> GuardrailCache:
    return GuardrailCache()


def handle_record(record: SQSRecord) -> dict[str, Any]:
    try:
        raw = json.loads(record.body)
    except json.JSONDecodeError as exc:
        raise InvalidEventError(f"SQS message {record.message_id} is not JSON: {exc}") from None
    try:
        result = enforce_member_event(
            raw,
            assumer=assumer(),
            role_name=ENFORCE_ROLE,
            settings=settings(),
            sink=alert_sink(),
            cache=guardrail_cache(),
        )
    except IamGuardError as exc:
        retry = is_retryable(exc)
        metrics.add_metric(name=ENFORCEMENT_FAILED, unit=MetricUnit.Count, value=1)
        logger.error("enforcement failed", extra={"error": str(exc), "retried": retry})
        if retry:
            raise  # the record goes back to the queue
        return {"action": "failed", "reason": str(exc)}
    metrics.add_metric(name=f"Action-{result.action}", unit=MetricUnit.Count, value=1)
    outcome = result.to_dict()
    logger.info(
        "event handled", extra={k: outcome[k] for k in ("event", "event_id", "action", "reason", "user")}
    )
    return outcome


@logger.inject_lambda_context
@metrics.log_metrics
@trace_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    response = process_partial_response(
        event=event, record_handler=handle_record, processor=processor, context=context
    )
    return dict(response)
