"""The CloudTrail adapter: event history by access key (``LookupEvents``), one region per gateway.

``LookupEvents`` reads one region's 90 days of management events, 50 per page, newest first, and is
rate limited to 2 calls per second per account and region: the callers read at most a few pages.
"""

from __future__ import annotations

from typing import Any

from core.aws.gateway import Gateway
from core.aws.iam import requires

PAGE_SIZE = 50


class CloudTrailGateway(Gateway):
    """CloudTrail in one region; the client is created on first use."""

    def __init__(self, region: str, client: Any = None, **kw: Any) -> None:
        self.region = region
        super().__init__(client, client_factory=lambda: _client(region), **kw)

    @requires("cloudtrail:LookupEvents")
    def events_of_access_key(self, access_key_id: str, max_pages: int) -> list[dict[str, Any]]:
        """The newest ``max_pages`` pages of events signed with this key, newest first."""
        found: list[dict[str, Any]] = []
        token: str | None = None
        for _ in range(max_pages):
            page = self._call(
                "LookupEvents",
                LookupAttributes=[{"AttributeKey": "AccessKeyId", "AttributeValue": access_key_id}],
                MaxResults=PAGE_SIZE,
                **({"NextToken": token} if token else {}),
            )
            found += page.get("Events", [])
            token = page.get("NextToken")
            if not token:
                break
        return found


def _client(region: str) -> Any:
    from core.aws.clients import client

    return client("cloudtrail", region=region)
