"""The GuardDuty adapter: one finding read back by its detector and ID (``GetFindings``), in one region.

GuardDuty findings are regional: the finding is asked for in the region it was raised in, so the
event's claim can be held to GuardDuty's own answer (``core.enforce.guardduty.corroborates``).
"""

from __future__ import annotations

from typing import Any

from core.aws.gateway import Gateway
from core.aws.iam import requires


class FindingsGateway(Gateway):
    """GuardDuty in one region; the client is created on first use."""

    def __init__(self, region: str, client: Any = None, **kw: Any) -> None:
        self.region = region
        super().__init__(client, client_factory=lambda: _client(region), **kw)

    @requires("guardduty:GetFindings")
    def finding(self, detector_id: str, finding_id: str) -> dict[str, Any] | None:
        """The finding as GuardDuty holds it (its API's shape), or None when GuardDuty returns none."""
        answer = self._call("GetFindings", DetectorId=detector_id, FindingIds=[finding_id])
        found: list[dict[str, Any]] = answer.get("Findings", [])
        return found[0] if found else None


def _client(region: str) -> Any:
    from core.aws.clients import client

    return client("guardduty", region=region)
