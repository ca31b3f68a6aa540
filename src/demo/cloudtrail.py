"""CloudTrail-via-EventBridge events for the demo, built from the samples in ``events/``.

The envelope (source, detail-type, shape of ``detail``) comes from the sample whose ``detail.eventName``
matches; who, when, and the request/response come from the API call the story just made on the emulator,
the way CloudTrail records it (parameters in lowerCamelCase, no secrets in the response).
"""

from __future__ import annotations

import copy
import json
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from core.model.errors import InvalidInputError
from demo.emulator import ACCOUNT_ID, REGION

# The repository's events/ (src/demo/events links to it); in the wheel, package data copied from it.
EVENTS_DIR = Path(__file__).resolve().parent / "events"
_SECRET_FIELDS = frozenset({"secretAccessKey", "password"})


def load_sample(file_name: str, events_dir: Path = EVENTS_DIR) -> dict[str, Any]:
    """One sample event from ``events/`` (the files ``sam local invoke -e`` uses)."""
    path = events_dir / file_name
    try:
        event = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise InvalidInputError(f"cannot read the sample event {path}: {exc}") from None
    if not isinstance(event, dict):
        raise InvalidInputError(f"the sample event {path} is not a JSON object")
    return event


def iam_user_identity(user_name: str) -> dict[str, Any]:
    return {
        "type": "IAMUser",
        "principalId": f"AIDA{uuid.uuid5(uuid.NAMESPACE_DNS, user_name).hex[:17].upper()}",
        "arn": f"arn:aws:iam::{ACCOUNT_ID}:user/{user_name}",
        "accountId": ACCOUNT_ID,
        "userName": user_name,
    }


def cloudtrail_event(
    sample: dict[str, Any],
    *,
    actor: str,
    request: dict[str, Any] | None,
    response: dict[str, Any] | None,
    source_ip: str = "203.0.113.10",
    now: datetime | None = None,
) -> dict[str, Any]:
    """The EventBridge event CloudTrail would deliver for the sample's API call made by ``actor``
    (an IAM user) with this request and response (None: CloudTrail's null)."""
    moment = (now or datetime.now(UTC)).replace(microsecond=0)
    stamp = moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    event = copy.deepcopy(sample)
    event.update(id=str(uuid.uuid4()), time=stamp, account=ACCOUNT_ID, region=REGION)
    detail = event["detail"]
    detail.update(
        eventTime=stamp,
        eventID=str(uuid.uuid4()),
        awsRegion=REGION,
        sourceIPAddress=source_ip,
        userIdentity=iam_user_identity(actor),
        requestParameters=cloudtrail_fields(request) if request else None,
        responseElements=cloudtrail_fields(response) if response else None,
        recipientAccountId=ACCOUNT_ID,
    )
    for key in ("errorCode", "errorMessage"):
        detail.pop(key, None)
    return event


def cloudtrail_fields(value: Any) -> Any:
    """An API request or response as CloudTrail writes it: lowerCamelCase keys, dates as text,
    secrets left out."""
    if isinstance(value, dict):
        return {
            _lower_camel(k): cloudtrail_fields(v)
            for k, v in value.items()
            if k != "ResponseMetadata" and _lower_camel(k) not in _SECRET_FIELDS
        }
    if isinstance(value, list):
        return [cloudtrail_fields(v) for v in value]
    if isinstance(value, datetime):  # CloudTrail's own format: "Jan 15, 2025, 9:37:30 AM"
        hour = value.hour % 12 or 12
        return f"{value:%b} {value.day}, {value.year}, {hour}:{value:%M:%S %p}"
    return value


def _lower_camel(key: str) -> str:
    return key[:1].lower() + key[1:]
