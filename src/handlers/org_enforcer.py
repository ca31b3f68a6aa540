"""Org enforcer Lambda: member accounts' IAM events, from the hub's SQS buffer -> one account each.

Each SQS record carries one EventBridge event forwarded by a member's spoke rule; ``event.account`` names
the member. The core (``core.org.enforce``) assumes ``IAMGuardEnforceRole`` there and runs the
single-account enforcer. Partial batch failures: only records worth a retry (throttling, races,
unclassified AWS errors) go back to the queue, and after ``maxReceiveCount`` to its dead-letter queue;
an expected failure that a retry cannot fix has already sent an ENFORCEMENT_FAILED alert.

The partial batch response is written out here rather than taken from Powertools' batch utility: that
package imports its asyncio processor and every event data class, about 50 ms of each cold start, for a
loop of ten lines. Its contract is kept: a record that raises goes back to the queue, the others do not.
"""

from __future__ import annotations

import json
from functools import cache
from typing import TYPE_CHECKING, Any, NamedTuple

from aws_lambda_powertools.metrics import MetricUnit

from core.aws.assume import RoleAssumer
from core.aws.cloudformation import CloudFormationGateway
from core.enforce.actions import GuardrailCache
from core.enforce.enforcer import is_retryable
from core.model.errors import IamGuardError, InvalidEventError
from core.model.metric_names import ENFORCEMENT_FAILED
from core.model.naming import ENFORCE_ROLE
from core.model.validation import Fields, validated
from core.org.enforce import enforce_member_event
from handlers.common import alert_sink, logger, metrics, settings, trace_handler

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext


class SqsMessage(NamedTuple):
    """One record of an SQS event: the fields the enforcer uses."""

    message_id: str
    body: str

    @classmethod
    def read(cls, f: Fields) -> SqsMessage:
        f.choice("eventSource", ("aws:sqs",))
        return cls(message_id=f.text("messageId"), body=f.text("body"))


def sqs_messages(f: Fields) -> list[SqsMessage]:
    return [SqsMessage.read(record) for record in f.records("Records", required=True)]


@cache
def assumer() -> RoleAssumer:
    """One boto3 session per container; one AssumeRole per member account every 10 minutes at most."""
    return RoleAssumer(reuse=True)


@cache
def stacksets() -> CloudFormationGateway:
    """The hub's CloudFormation: was a spoke change made by the spoke StackSet's running operation?"""
    return CloudFormationGateway()


@cache
def guardrail_cache() -> GuardrailCache:
    return GuardrailCache()


def handle_record(record: SqsMessage) -> dict[str, Any]:
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
            stacksets=stacksets(),
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
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, list[dict[str, str]]]:
    failures = []
    for message in validated(sqs_messages, event, "an SQS event"):
        try:
            handle_record(message)
        except Exception as exc:  # any failure, a bug included: this record goes back to the queue
            logger.exception("record returned to the queue", extra={"message_id": message.message_id})
            failures.append({"itemIdentifier": message.message_id})
            if not isinstance(exc, IamGuardError):
                metrics.add_metric(name=ENFORCEMENT_FAILED, unit=MetricUnit.Count, value=1)
    return {"batchItemFailures": failures}
