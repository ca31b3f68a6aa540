"""What a leaked key did, from CloudTrail's event history: first and last use, source addresses (inside or
outside the allowed networks), regions, the most frequent calls, any writes. Pure, but for ``read``.

``read`` asks ``LookupEvents`` by ``AccessKeyId`` (newest first, at most ``MAX_PAGES`` pages) in each
region at once, and follows the session keys the key's ``GetSessionToken`` calls returned (one level).
CloudTrail delivers events 5 to 15 minutes late: the newest calls may be missing, and the summary says so.
"""

from __future__ import annotations

import ipaddress
import json
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from core.aws.cloudtrail import CloudTrailGateway
from core.model.errors import IamGuardError

MAX_PAGES = 3
TOP_CALLS = 5
LAG_NOTE = "CloudTrail lags 5-15 minutes: the newest calls may be missing"


@dataclass(frozen=True)
class KeySummary:
    """What a leaked key did, read from CloudTrail in the regions named."""

    regions_read: tuple[str, ...]
    calls: int = 0
    first_use: datetime | None = None
    last_use: datetime | None = None
    outside_ips: tuple[str, ...] = ()  # source addresses outside the allowed networks
    inside_ips: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()  # where the calls were made
    top_calls: tuple[tuple[str, int], ...] = ()
    writes: tuple[str, ...] = ()  # "eventSource:eventName", each once, newest first
    session_keys: tuple[str, ...] = ()  # keys GetSessionToken returned, followed
    problems: tuple[str, ...] = ()  # regions that could not be read, and why

    def text(self) -> str:
        if not self.calls:
            found = f"No CloudTrail events of the key in {', '.join(self.regions_read)}"
        else:
            top = ", ".join(f"{name} x{count}" for name, count in self.top_calls)
            found = (
                f"{self.calls} call(s) in {', '.join(self.regions) or '?'} from {_at(self.first_use)} to "
                f"{_at(self.last_use)}; top: {top}; writes: {', '.join(self.writes) or 'none'}; "
                f"addresses outside the allowed networks: {', '.join(self.outside_ips) or 'none'}"
                + (f"; inside: {', '.join(self.inside_ips)}" if self.inside_ips else "")
                + (f"; session keys followed: {', '.join(self.session_keys)}" if self.session_keys else "")
                + f" (regions read: {', '.join(self.regions_read)})"
            )
        unread = f"; not read: {'; '.join(self.problems)}" if self.problems else ""
        return f"{found}{unread}. {LAG_NOTE}."


def _at(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else "?"


def summary_regions(last_used_region: str, configured: Sequence[str]) -> tuple[str, ...]:
    """us-east-1, then the configured regions (default: the key's last-used region), at most 6."""
    extra = list(configured) or ([last_used_region] if last_used_region else [])
    return tuple(dict.fromkeys(["us-east-1", *extra[:5]]))


def read(
    key: str,
    regions: Sequence[str],
    trail: Callable[[str], CloudTrailGateway],
    allowed_cidrs: Sequence[str],
) -> KeySummary:
    """The key's events in every region (in parallel), then those of the session keys it minted."""
    events, problems = _lookup([key], regions, trail)
    sessions = tuple(dict.fromkeys(k for e in events for k in _session_keys(e)))
    if sessions:
        more, more_problems = _lookup(list(sessions), regions, trail)
        events += more
        problems += more_problems
    return summarize(events, tuple(regions), allowed_cidrs, sessions, tuple(problems))


def _lookup(
    keys: list[str], regions: Sequence[str], trail: Callable[[str], CloudTrailGateway]
) -> tuple[list[dict[str, Any]], list[str]]:
    def one(job: tuple[str, str]) -> tuple[list[dict[str, Any]], str]:
        key, region = job
        try:
            return trail(region).events_of_access_key(key, MAX_PAGES), ""
        except IamGuardError as exc:  # the response goes on: the summary says what it could not read
            return [], f"{region} ({exc})"

    jobs = [(k, r) for k in keys for r in regions]
    with ThreadPoolExecutor(max_workers=min(len(jobs), 6) or 1) as pool:
        results = list(pool.map(one, jobs))
    return [e for found, _ in results for e in found], [p for _, p in results if p]


def _record(event: dict[str, Any]) -> dict[str, Any]:
    raw = event.get("CloudTrailEvent")
    try:
        record = json.loads(raw) if isinstance(raw, str) else {}
    except json.JSONDecodeError:
        record = {}
    return record if isinstance(record, dict) else {}


def _session_keys(event: dict[str, Any]) -> Iterable[str]:
    if event.get("EventName") != "GetSessionToken":
        return ()
    credentials = (_record(event).get("responseElements") or {}).get("credentials") or {}
    key = credentials.get("accessKeyId") if isinstance(credentials, dict) else None
    return (key,) if isinstance(key, str) and key.startswith("ASIA") else ()


def summarize(
    events: Sequence[dict[str, Any]],
    regions_read: tuple[str, ...],
    allowed_cidrs: Sequence[str],
    session_keys: tuple[str, ...] = (),
    problems: tuple[str, ...] = (),
) -> KeySummary:
    """LookupEvents entries (each with its ``CloudTrailEvent`` JSON) -> the summary."""
    networks = [ipaddress.ip_network(c) for c in allowed_cidrs]
    times = [e["EventTime"] for e in events if isinstance(e.get("EventTime"), datetime)]
    names: Counter[str] = Counter()
    inside: dict[str, None] = {}
    outside: dict[str, None] = {}
    regions: dict[str, None] = {}
    writes: dict[str, None] = {}
    for event in events:
        record = _record(event)
        name = str(event.get("EventName") or record.get("eventName") or "?")
        names[name] += 1
        region = record.get("awsRegion")
        if isinstance(region, str) and region:
            regions[region] = None
        address = record.get("sourceIPAddress")
        if isinstance(address, str) and address:
            (inside if _inside(address, networks) else outside)[address] = None
        if str(event.get("ReadOnly", record.get("readOnly", "true"))).lower() == "false":
            source = str(event.get("EventSource") or record.get("eventSource") or "?")
            writes[f"{source.removesuffix('.amazonaws.com')}:{name}"] = None
    return KeySummary(
        regions_read=regions_read,
        calls=len(events),
        first_use=min(times) if times else None,
        last_use=max(times) if times else None,
        outside_ips=tuple(outside),
        inside_ips=tuple(inside),
        regions=tuple(regions),
        top_calls=tuple(names.most_common(TOP_CALLS)),
        writes=tuple(writes),
        session_keys=session_keys,
        problems=problems,
    )


def _inside(address: str, networks: Sequence[ipaddress.IPv4Network | ipaddress.IPv6Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:  # an AWS service name (e.g. "ec2.amazonaws.com"), not an address
        return True
    return any(ip in n for n in networks if n.version == ip.version)
