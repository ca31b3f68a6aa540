"""The AWS Health adapter: one event and its affected entities, through the global endpoint (us-east-1).

The Health API needs Business, Enterprise On-Ramp or Enterprise Support: on other plans every call fails
with ``SubscriptionRequiredException`` (``SubscriptionRequiredError``, never retried).
"""

from __future__ import annotations

from typing import Any

from core.aws.gateway import Gateway
from core.aws.iam import requires

HEALTH_REGION = "us-east-1"  # the Health API's global endpoint


def default_health_client() -> Any:
    from core.aws.clients import client

    return client("health", region=HEALTH_REGION)


class HealthGateway(Gateway):
    """AWS Health's API (the events themselves arrive through EventBridge on every plan)."""

    default_client_factory = staticmethod(default_health_client)

    @requires("health:DescribeEventDetails")
    def event(self, event_arn: str) -> dict[str, Any] | None:
        """The event as Health holds it (``successfulSet[].event``), or None when Health does not know it."""
        answer = self._call("DescribeEventDetails", eventArns=[event_arn])
        found = [d.get("event") or {} for d in answer.get("successfulSet", [])]
        return next((e for e in found if e.get("arn") == event_arn), None)

    @requires("health:DescribeAffectedEntities")
    def entity_values(self, event_arn: str) -> list[str]:
        """The event's affected entities' values (for a RISK event: the access key IDs), at most 2 pages."""
        values: list[str] = []
        token: str | None = None
        for _ in range(2):
            page = self._call(
                "DescribeAffectedEntities",
                filter={"eventArns": [event_arn]},
                **({"nextToken": token} if token else {}),
            )
            values += [str(e.get("entityValue", "")) for e in page.get("entities", [])]
            token = page.get("nextToken")
            if not token:
                break
        return values
