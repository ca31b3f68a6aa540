"""Who owns an IAM user: the person a finding about that user should reach. Pure.

A user's owner comes from the owner tag (``Settings.owner_tag_key``, default ``iam-guard:owner``): an
e-mail address, a Slack member ID (``U...`` or ``W...``), or both, space-separated (IAM tag values
allow no comma). Without the tag, the stack's ``default_owner``; without that, nobody but the
administrators. An owner tag that cannot be read is a finding (``owner-invalid``), never a crash: the
user's notices then go to the default owner, if any.

Owners only ever hear about their own user: the administrators' alerts (SNS topic, Slack channel) carry
every finding whatever the owner tag says, so a tag cannot take anything away from the security team.
Guarded users cannot set, change or remove the tag (``DenyIAMGuardTags`` in the guardrail).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Literal, NamedTuple

# A plain address: one @, a dotted domain with a 2+ letter top level; ASCII only (IAM tag values are).
EMAIL = re.compile(r"^[A-Za-z0-9._%+=-]{1,64}@[A-Za-z0-9-]{1,63}(\.[A-Za-z0-9-]{1,63})*\.[A-Za-z]{2,63}$")
# Slack member IDs: U (users) or W (Enterprise Grid), then upper-case letters and digits.
SLACK_MEMBER_ID = re.compile(r"^[UW][A-Z0-9]{6,20}$")

OwnerSource = Literal["tag", "default"]


class Owner(NamedTuple):
    """Where one user's owner is reached: at most one address and one Slack member ID."""

    email: str | None = None
    slack_member_id: str | None = None
    source: OwnerSource = "tag"

    @property
    def contacts(self) -> tuple[tuple[Literal["email", "slack"], str], ...]:
        """(channel, address) pairs, e-mail first."""
        found: list[tuple[Literal["email", "slack"], str]] = []
        if self.email:
            found.append(("email", self.email))
        if self.slack_member_id:
            found.append(("slack", self.slack_member_id))
        return tuple(found)


class OwnerLookup(NamedTuple):
    """The owner a user's notices go to (None: administrators only), and why the tag was refused if it was."""

    owner: Owner | None
    tag_value: str | None = None  # the owner tag's value as found, None when absent
    problem: str | None = None  # what is wrong with that value


def parse_owner(value: str, source: OwnerSource = "tag") -> Owner:
    """``alice@example.com``, ``U012AB3CD`` or both, space-separated; ValueError says what is wrong."""
    parts = value.split()
    if not parts:
        raise ValueError("is empty (expected an e-mail address and/or a Slack member ID)")
    email: str | None = None
    member: str | None = None
    for part in parts:
        if "@" in part:
            if not EMAIL.match(part):
                raise ValueError(f"{part!r} is not an e-mail address")
            if email is not None:
                raise ValueError("names more than one e-mail address (one owner per user)")
            email = part
        elif SLACK_MEMBER_ID.match(part):
            if member is not None:
                raise ValueError("names more than one Slack member ID (one owner per user)")
            member = part
        else:
            raise ValueError(f"{part!r} is neither an e-mail address nor a Slack member ID (U... or W...)")
    return Owner(email=email, slack_member_id=member, source=source)


def owner_tag_value(tags: Mapping[str, str], tag_key: str) -> str | None:
    """The owner tag's value; IAM tag keys are unique without regard to case, so is this lookup."""
    wanted = tag_key.casefold()
    for key, value in tags.items():
        if key.casefold() == wanted:
            return value
    return None


def resolve_owner(tags: Mapping[str, str], tag_key: str, default_owner: str | None) -> OwnerLookup:
    """The tag's owner; else (absent or invalid) the default owner; else None (administrators only)."""
    value = owner_tag_value(tags, tag_key)
    default = parse_owner(default_owner, "default") if default_owner else None
    if value is None:
        return OwnerLookup(default)
    try:
        return OwnerLookup(parse_owner(value), tag_value=value)
    except ValueError as exc:
        return OwnerLookup(default, tag_value=value, problem=str(exc))
