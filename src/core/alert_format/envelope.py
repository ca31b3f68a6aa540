"""The alert as versioned JSON and back: what the Slack notifier receives through SNS. Pure."""

from __future__ import annotations

import json

from pydantic import TypeAdapter, ValidationError

from core.alerts import Alert
from core.errors import InvalidEventError

ENVELOPE_SCHEMA = "iam-guard.alert.v1"

_ALERT_JSON: TypeAdapter[Alert] = TypeAdapter(Alert)


def alert_envelope(alert: Alert) -> str:
    """The alert as versioned JSON (what the Slack notifier receives through SNS)."""
    body = _ALERT_JSON.dump_python(alert, mode="json")
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
        return _ALERT_JSON.validate_python(data.get("alert"))
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise InvalidEventError(f"malformed alert envelope: {where}: {first['msg']}") from None
