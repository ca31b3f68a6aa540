"""Who is never enrolled: users listed in settings, and users tagged with the exemption tag key. Pure.

Tag value ``true`` exempts for good; ``YYYY-MM-DD`` exempts until the end of that day (UTC); any other
value is not an exemption (a typo must not silently exempt anyone).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date

from core.settings import Settings


@dataclass(frozen=True)
class Exemption:
    reason: str  # "listed in settings" or "tag iam-guard:exempt=true"
    until: date | None = None  # last exempt day, for dated tags


def tags_to_dict(tags: Iterable[Mapping[str, str]] | Mapping[str, str] | None) -> dict[str, str]:
    """IAM's ``[{"Key": k, "Value": v}]`` (or CloudTrail's ``key``/``value``) as a plain dict."""
    if tags is None:
        return {}
    if isinstance(tags, Mapping):
        return {str(k): str(v) for k, v in tags.items()}
    result: dict[str, str] = {}
    for tag in tags:
        key = tag.get("Key", tag.get("key"))
        if key is not None:
            result[str(key)] = str(tag.get("Value", tag.get("value", "")))
    return result


def exemption_for(
    user_name: str, tags: Mapping[str, str], settings: Settings, today: date
) -> Exemption | None:
    """The user's exemption in force today, or None."""
    if settings.is_listed_exempt(user_name):
        return Exemption("listed in settings")
    value = tags.get(settings.exempt_tag_key)
    if value is None:
        return None
    text = value.strip()
    if text.lower() == "true":
        return Exemption(f"tag {settings.exempt_tag_key}=true")
    until = parse_exemption_date(text)
    if until is not None and today <= until:
        return Exemption(f"tag {settings.exempt_tag_key}={text}", until)
    return None


def parse_exemption_date(value: str) -> date | None:
    """``YYYY-MM-DD`` as a date, or None for anything else."""
    if len(value) != 10:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None
