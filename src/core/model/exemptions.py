"""Who is never enrolled: users listed in settings, and users tagged with the exemption tag key. Pure.

Tag value ``true`` (any case) exempts for good; ``YYYY-MM-DD`` exempts until the end of that day (UTC);
surrounding white space is ignored. Any other value is not an exemption (a typo must not silently exempt
anyone): ``date.fromisoformat`` alone would also take ISO week dates (``2099-W52-7``) and basic forms
(``20991227``), so the shape is checked first.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import date
from typing import NamedTuple

from core.model.settings import Settings

# Exactly YYYY-MM-DD in ASCII digits (``\d`` would also match other scripts' digits).
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


class Exemption(NamedTuple):
    """Why a user is exempt, and until when for a dated exemption tag."""

    reason: str  # "listed in settings" or "tag iam-guard:exempt=true"
    until: date | None = None  # last exempt day, for dated tags


def tags_to_dict(tags: Iterable[Mapping[str, str]] | Mapping[str, str] | None) -> dict[str, str]:
    """IAM's ``[{"Key": k, "Value": v}]`` (or CloudTrail's ``key``/``value``) as a plain dict.

    Entries that are not key/value mappings are skipped; a missing or null value is ``""``.
    """
    if tags is None:
        return {}
    if isinstance(tags, Mapping):
        return {str(k): _text(v) for k, v in tags.items()}
    result: dict[str, str] = {}
    for tag in tags:
        if not isinstance(tag, Mapping):
            continue
        key = tag.get("Key", tag.get("key"))
        if key is not None:
            result[str(key)] = _text(tag.get("Value", tag.get("value")))
    return result


def _text(value: object) -> str:
    return "" if value is None else str(value)


def exemption_for(
    user_name: str, tags: Mapping[str, str], settings: Settings, today: date
) -> Exemption | None:
    """The user's exemption in force today, or None."""
    if settings.is_listed_exempt(user_name):
        return Exemption("listed in settings")
    value = tags.get(settings.exempt_tag_key)
    if not isinstance(value, str):  # absent (or not text at all: never an exemption)
        return None
    text = value.strip()
    if text.lower() == "true":
        return Exemption(f"tag {settings.exempt_tag_key}=true")
    until = parse_exemption_date(text)
    if until is not None and today <= until:
        return Exemption(f"tag {settings.exempt_tag_key}={text}", until)
    return None


def parse_exemption_date(value: str) -> date | None:
    """``YYYY-MM-DD`` as a date, or None for anything else (other ISO 8601 forms included)."""
    if not _DATE.fullmatch(value):
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None
