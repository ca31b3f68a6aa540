"""What the alert renderings share: console links, dates and ages, per-finding counts, trimming. Pure."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime
from urllib.parse import quote

from core.model.alerts import Alert, AlertItem

CONSOLE = "https://us-east-1.console.aws.amazon.com/iam/home"  # IAM is global; its console lives here
ROOT_SUBJECT = "<root_account>"

_USER_NAME = re.compile(r"^[\w+=,.@-]{1,64}$")


def console_url(subject: str, account_id: str = "") -> str | None:
    """The IAM console page where a person fixes this item, when there is one."""
    if subject == ROOT_SUBJECT:
        return f"{CONSOLE}#/security_credentials"
    kind, _, name = subject.partition("/")
    if name and kind == "group":
        return f"{CONSOLE}#/groups/details/{quote(name, safe='')}"
    if name and kind == "policy" and account_id:
        arn = f"arn:aws:iam::{account_id}:policy/{name}"
        return f"{CONSOLE}#/policies/details/{quote(arn, safe='')}"
    if _USER_NAME.match(subject):
        return f"{CONSOLE}#/users/details/{quote(subject, safe='')}"
    return None


def format_time(moment: datetime | None) -> str:
    if moment is None:
        return ""
    utc = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%d %H:%M UTC")


def _days_between(start: datetime, end: datetime) -> int:
    def aware(moment: datetime) -> datetime:
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment

    return (aware(end) - aware(start)).days


def _reference_time(alert: Alert) -> datetime | None:
    """'Now' for relative ages: when the alert's facts were true (renderings never read the clock)."""
    return alert.report_generated_at or alert.occurred_at


def format_date(moment: datetime) -> str:
    utc = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%d")


def age_text(item: AlertItem, alert: Alert) -> str:
    """'12 days ago', measured to when the alert's facts were true; empty when that is unknown."""
    reference = _reference_time(alert)
    if item.since is None or reference is None:
        return ""
    days = _days_between(item.since, reference)
    if days < 0:
        return ""
    return "under a day ago" if days == 0 else f"{days} day{'s' if days != 1 else ''} ago"


def since_text(item: AlertItem, alert: Alert) -> str:
    """'2026-03-01 (12 days ago)'."""
    if item.since is None:
        return ""
    age = age_text(item, alert)
    return format_date(item.since) + (f" ({age})" if age else "")


def finding_counts(alert: Alert) -> list[tuple[str, int]]:
    """Per-finding counts: the digest's own (computed over every user) or, failing that, the items'."""
    if alert.counts:
        return [(finding, count) for finding, count in alert.counts if count]
    return sorted(Counter(item.finding for item in alert.items).items(), key=lambda fc: (-fc[1], fc[0]))


def actions_by_finding(items: list[AlertItem]) -> list[tuple[str, str]]:
    """One 'what to do' per finding (the same advice is not repeated for every user)."""
    seen: dict[str, str] = {}
    for item in items:
        if item.action and item.finding not in seen:
            seen[item.finding] = item.action
    return list(seen.items())


def clip(text: str, limit: int, marker: str = "…") -> str:
    return text if len(text) <= limit else text[: limit - len(marker)] + marker


def plural(count: int, word: str) -> str:
    return f"{count:,} {word}{'' if count == 1 else 's'}"


def trimmed(alert: Alert, max_items: int) -> Alert:
    """The alert with at most ``max_items`` items (the most severe); the rest counted in items_omitted."""
    if len(alert.items) <= max_items:
        return alert
    kept = tuple(alert.sorted_items()[:max_items])
    return replace(alert, items=kept, items_omitted=alert.items_omitted + len(alert.items) - len(kept))
