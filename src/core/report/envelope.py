"""The alert as versioned JSON and back: what the Slack notifier receives through SNS. Pure.

Written out field by field: the envelope is a wire format, and what it carries should be readable here.
Enums travel as their values (``severity`` as its number), times as ISO 8601, tuples as lists.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, TypeVar

from core.model.alerts import Alert, AlertItem, AlertKind, Severity
from core.model.errors import InvalidEventError
from core.model.validation import FieldError, Fields

ENVELOPE_SCHEMA = "iam-guard.alert.v1"

V = TypeVar("V")


def alert_envelope(alert: Alert) -> str:
    """The alert as versioned JSON (what the Slack notifier receives through SNS)."""
    body = {
        "kind": alert.kind.value,
        "severity": int(alert.severity),
        "title": alert.title,
        "summary": alert.summary,
        "account_id": alert.account_id,
        "region": alert.region,
        "actor": alert.actor,
        "occurred_at": _time(alert.occurred_at),
        "items": [_item(item) for item in alert.items],
        "counts": [[finding, count] for finding, count in alert.counts],
        "report_generated_at": _time(alert.report_generated_at),
        "event_id": alert.event_id,
        "dry_run": alert.dry_run,
        "details": [[key, value] for key, value in alert.details],
        "items_omitted": alert.items_omitted,
    }
    return json.dumps({"schema": ENVELOPE_SCHEMA, "alert": body}, separators=(",", ":"))


def alert_from_envelope(text: str) -> Alert | None:
    """The alert in an envelope; None when ``text`` is not an envelope (someone else's message)."""
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        return None
    if not isinstance(data, dict) or data.get("schema") != ENVELOPE_SCHEMA:
        return None
    try:
        return _alert(Fields(data.get("alert"), "alert"))
    except FieldError as exc:
        raise InvalidEventError(f"malformed alert envelope: {exc}") from None


def _item(item: AlertItem) -> dict[str, Any]:
    return {
        "subject": item.subject,
        "finding": item.finding,
        "severity": int(item.severity),
        "status": item.status,
        "since": _time(item.since),
        "deadline": _time(item.deadline),
        "action": item.action,
    }


def _time(moment: datetime | None) -> str | None:
    """ISO 8601, UTC written as ``Z`` (as CloudTrail and EventBridge write it)."""
    if moment is None:
        return None
    text = moment.isoformat()
    return text.removesuffix("+00:00") + "Z" if text.endswith("+00:00") else text


def _alert(f: Fields) -> Alert:
    return Alert(
        kind=_enum(f, "kind", AlertKind),
        severity=_severity(f, "severity"),
        title=f.text("title"),
        summary=f.text("summary"),
        account_id=f.text("account_id", ""),
        region=f.text("region", ""),
        actor=f.text("actor", ""),
        occurred_at=f.timestamp("occurred_at"),
        items=tuple(_read_item(item) for item in f.records("items")),
        counts=tuple((name, _count(f, "counts", n)) for name, n in _pairs(f, "counts", int)),
        report_generated_at=f.timestamp("report_generated_at"),
        event_id=f.text("event_id", ""),
        dry_run=_flag(f, "dry_run"),
        details=tuple(_pairs(f, "details", str)),
        items_omitted=_count(f, "items_omitted", f.value("items_omitted") or 0),
    )


def _read_item(f: Fields) -> AlertItem:
    return AlertItem(
        subject=f.text("subject"),
        finding=f.text("finding"),
        severity=_severity(f, "severity"),
        status=f.text("status", ""),
        since=f.timestamp("since"),
        deadline=f.timestamp("deadline"),
        action=f.text("action", ""),
    )


def _enum(f: Fields, key: str, kind: type[AlertKind]) -> AlertKind:
    value = f.text(key)
    try:
        return kind(value)
    except ValueError:
        raise FieldError(f.path(key), f"{value!r} is not an alert kind") from None


def _severity(f: Fields, key: str) -> Severity:
    value = f.value(key, required=True)
    try:
        return (
            Severity(value)
            if isinstance(value, int) and not isinstance(value, bool)
            else Severity[value.upper()]
        )
    except (KeyError, ValueError, AttributeError):
        raise FieldError(f.path(key), f"{value!r} is not a severity") from None


def _pairs(f: Fields, key: str, kind: type[V]) -> list[tuple[str, V]]:
    """``[[name, value], ...]`` with string names and values of ``kind`` (a count is not a boolean)."""
    pairs = f.items(key)
    for index, pair in enumerate(pairs):
        well_formed = isinstance(pair, list) and len(pair) == 2 and isinstance(pair[0], str)
        if not well_formed or not isinstance(pair[1], kind) or isinstance(pair[1], bool):
            raise FieldError(f"{f.path(key)}.{index}", f"should be a [name, {kind.__name__}] pair")
    return [(name, value) for name, value in pairs]


def _count(f: Fields, where: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise FieldError(f.path(where), f"{value!r} is not a count")
    return int(value)


def _flag(f: Fields, key: str) -> bool:
    value = f.value(key)
    if value is None or isinstance(value, bool):
        return bool(value)
    raise FieldError(f.path(key), f"{value!r} should be true or false")
