"""The alert dead-letter queue: alerts Teams or the signed webhook did not take, kept and re-sent.

When a channel's delivery fails after its retries (``core.report.webhook``), ``DeadLetteringSink`` sends
the alert to the stack's ``<stack>_alert-dlq`` (SQS): the alert envelope (``core.report.envelope``, the
JSON the webhook receives) plus ``channel`` (``webhook`` or ``teams``), ``error`` (the delivery error's
one line: status and attempts, never the URL or the signing key) and ``failed_at`` (ISO 8601, UTC). The
URL and the signing key are never in it. The failure is still raised (the caller logs it and carries
on, the other channels are unaffected); a send to the queue that fails too is logged and raised as one
``DeliveryError`` naming both.

``redrive`` re-sends what the queue holds: each message read back as an alert (malformed ones are left
where they are), posted to its channel anew (a fresh timestamp and signature), deleted only once that
delivery succeeded. Without ``apply`` nothing is sent or deleted, and the messages are read with a
visibility timeout of 0 (visible again at once).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from aws_lambda_powertools import Logger

from core.aws.alert_queue import AlertQueueGateway, QueuedMessage, queue_name
from core.aws.iam import permissions_of
from core.model.alerts import Alert, AlertSink
from core.model.errors import AwsError, DeliveryError, InvalidEventError, SettingsError
from core.report.envelope import ENVELOPE_SCHEMA, alert_envelope, alert_from_envelope

logger = Logger(child=True)

WEBHOOK = "webhook"
TEAMS = "teams"
CHANNELS = (WEBHOOK, TEAMS)
# What a function dead-lettering alerts needs (the template grants it on the stack's queue only).
REQUIRED_PERMISSIONS = permissions_of(AlertQueueGateway.send)
# What ``iam-guard redrive-alerts --apply`` needs, besides reading the channels' secrets.
REDRIVE_PERMISSIONS = permissions_of(
    AlertQueueGateway.receive, AlertQueueGateway.delete, AlertQueueGateway.depth
)
MAX_ERROR_CHARS = 500
_URL = re.compile(r"\b[a-z][a-z0-9+.-]*://\S+", re.IGNORECASE)


class Queue(Protocol):
    queue_url: str

    def send(self, body: str, attributes: dict[str, str] | None = None) -> str: ...

    def receive(self, *, max_messages: int = 10, visibility_timeout: int = 60) -> list[QueuedMessage]: ...

    def delete(self, receipt_handle: str) -> None: ...


def safe_error(error: BaseException | str) -> str:
    """The error's first line, any URL in it hidden (a delivery error names none; belt and braces)."""
    text = (str(error).splitlines() or [type(error).__name__])[0]
    return _URL.sub("<url hidden>", text)[:MAX_ERROR_CHARS]


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def dead_letter_body(alert: Alert, channel: str, error: BaseException | str, failed_at: datetime) -> str:
    """The alert envelope plus ``channel``, ``error`` and ``failed_at``: one JSON object."""
    envelope = json.loads(alert_envelope(alert))
    record = {**envelope, "channel": channel, "error": safe_error(error), "failed_at": _iso(failed_at)}
    return json.dumps(record, separators=(",", ":"))


@dataclass(frozen=True)
class DeadLetter:
    """An alert a channel did not take after its retries, as kept in the dead-letter queue."""

    channel: str
    alert: Alert
    error: str
    failed_at: str


def read_dead_letter(body: str) -> DeadLetter:
    """A queued message as a dead letter; ``InvalidEventError`` (one line) when it is not one."""
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        data = None
    if not isinstance(data, dict) or data.get("schema") != ENVELOPE_SCHEMA:
        raise InvalidEventError("not an IAM Guard dead-lettered alert (no alert envelope)")
    channel = data.get("channel")
    if channel not in CHANNELS:
        raise InvalidEventError(f"dead-lettered alert for an unknown channel {channel!r}")
    alert = alert_from_envelope(json.dumps({"schema": ENVELOPE_SCHEMA, "alert": data.get("alert")}))
    if alert is None:  # pragma: no cover - the schema was checked above
        raise InvalidEventError("not an IAM Guard dead-lettered alert")
    return DeadLetter(str(channel), alert, str(data.get("error", "")), str(data.get("failed_at", "")))


class DeadLetteringSink:
    """One channel (Teams or the webhook); an alert it fails to deliver is kept in the queue, and the
    failure raised as before."""

    def __init__(
        self,
        sink: AlertSink,
        channel: str,
        queue: Queue,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.sink = sink
        self.channel = channel
        self.queue = queue
        self.clock = clock

    def __repr__(self) -> str:
        return f"DeadLetteringSink({self.channel})"

    def send(self, alert: Alert) -> None:
        try:
            self.sink.send(alert)
        except (DeliveryError, SettingsError) as exc:
            self._keep(alert, exc)
            raise

    def _keep(self, alert: Alert, failure: Exception) -> None:
        where = {"channel": self.channel, "queue": queue_name(self.queue.queue_url)}
        try:
            self.queue.send(
                dead_letter_body(alert, self.channel, failure, self.clock()), {"channel": self.channel}
            )
        except Exception as exc:  # an AwsError from the gateway; anything else is as undelivered
            problem = safe_error(exc)
            logger.error("alert not dead-lettered", extra={**where, "error": problem})
            raise DeliveryError(
                f"{safe_error(failure)}; and not kept in the alert dead-letter queue: {problem}"
            ) from None
        logger.warning("alert dead-lettered", extra={**where, "error": safe_error(failure)})


@dataclass(frozen=True)
class Redriven:
    """What redriving one dead-letter message did."""

    message_id: str
    status: str  # delivered | would-redrive | failed | unreadable
    channel: str = ""
    title: str = ""
    failed_at: str = ""
    error: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "message_id": self.message_id,
            "status": self.status,
            "channel": self.channel,
            "title": self.title,
            "failed_at": self.failed_at,
            "error": self.error,
        }


def redrive(
    queue: Queue,
    sinks: Mapping[str, Callable[[], AlertSink]],
    *,
    apply: bool,
    max_messages: int = 100,
    visibility_timeout: int = 60,
) -> list[Redriven]:
    """Re-send up to ``max_messages`` dead letters to their channels (``sinks``: channel -> a builder of
    its sink, built on first use); delete each one delivered. Without ``apply``: only list them."""
    seen: set[str] = set()
    results: list[Redriven] = []
    built: dict[str, AlertSink] = {}
    while len(seen) < max_messages:
        batch = queue.receive(
            max_messages=min(10, max_messages - len(seen)),
            visibility_timeout=visibility_timeout if apply else 0,
        )
        fresh = [m for m in batch if m.message_id not in seen]
        if not fresh:
            break
        for message in fresh:
            seen.add(message.message_id)
            results.append(_one(queue, message, sinks, built, apply))
    return results


def _one(
    queue: Queue,
    message: QueuedMessage,
    sinks: Mapping[str, Callable[[], AlertSink]],
    built: dict[str, AlertSink],
    apply: bool,
) -> Redriven:
    try:
        letter = read_dead_letter(message.body)
    except InvalidEventError as exc:
        return Redriven(message.message_id, "unreadable", error=safe_error(exc))
    found = Redriven(
        message.message_id, "would-redrive", letter.channel, letter.alert.title, letter.failed_at
    )
    if not apply:
        return found
    if letter.channel not in sinks:
        return _failed(found, f"no {letter.channel} channel configured to re-send to")
    try:
        if letter.channel not in built:
            built[letter.channel] = sinks[letter.channel]()
        built[letter.channel].send(letter.alert)
    except (DeliveryError, SettingsError) as exc:
        return _failed(found, safe_error(exc))
    try:
        queue.delete(message.receipt_handle)  # only once delivered
    except AwsError as exc:
        return _failed(found, f"re-sent, but not deleted (it will be sent again): {safe_error(exc)}")
    logger.info("dead-lettered alert re-sent", extra={"channel": letter.channel})
    return Redriven(found.message_id, "delivered", found.channel, found.title, found.failed_at)


def _failed(found: Redriven, error: str) -> Redriven:
    return Redriven(found.message_id, "failed", found.channel, found.title, found.failed_at, error)


__all__ = [
    "CHANNELS",
    "REDRIVE_PERMISSIONS",
    "REQUIRED_PERMISSIONS",
    "DeadLetteringSink",
    "Redriven",
    "dead_letter_body",
    "read_dead_letter",
    "redrive",
]
