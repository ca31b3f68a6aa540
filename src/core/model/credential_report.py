"""The IAM credential report, read as IAM writes it: one typed record per user. Pure: no I/O.

IAM sends a CSV whose header is ``HEADER`` (22 columns, both access key slots). Besides ``true`` /
``false`` and ISO 8601 timestamps (``2016-10-06T16:11:27+00:00``), a cell may hold:

- ``N/A``: not applicable - no password, no key in that slot, or a key never used (or not since IAM
  began tracking key use, 2015-04-22);
- ``no_information``: a password never used (or not since IAM began tracking, 2014-10-20);
- ``not_supported``: the field does not apply to this row; the ``<root_account>`` row always says it
  for ``password_enabled`` and ``password_last_changed`` (GetAccountSummary tells whether root has a
  password).

All three read as "no value" (``None``). Anything else in a column this module reads is refused with a
``CredentialReportError`` naming the user and the column: a misread report must fail loudly, never hide a
finding. A column missing altogether reads as "no value" (older or trimmed reports).

Key slots are kept apart: a user mid-rotation may have slot 1 inactive and slot 2 active, and a user who
deleted key 1 keeps key 2 in slot 2.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import NamedTuple

from core.model.errors import CredentialReportError
from core.model.naming import ROOT_USER

ROOT = ROOT_USER  # the root user's row

# The header exactly as IAM sends it.
HEADER: tuple[str, ...] = (
    "user",
    "arn",
    "user_creation_time",
    "password_enabled",
    "password_last_used",
    "password_last_changed",
    "password_next_rotation",
    "mfa_active",
    "access_key_1_active",
    "access_key_1_last_rotated",
    "access_key_1_last_used_date",
    "access_key_1_last_used_region",
    "access_key_1_last_used_service",
    "access_key_2_active",
    "access_key_2_last_rotated",
    "access_key_2_last_used_date",
    "access_key_2_last_used_region",
    "access_key_2_last_used_service",
    "cert_1_active",
    "cert_1_last_rotated",
    "cert_2_active",
    "cert_2_last_rotated",
)
KEY_SLOTS = (1, 2)
CERT_SLOTS = (1, 2)  # X.509 signing certificates: ``cert_1_*`` and ``cert_2_*``

NOT_APPLICABLE = "N/A"
NO_INFORMATION = "no_information"
NOT_SUPPORTED = "not_supported"
NO_VALUE = frozenset({NOT_APPLICABLE, NO_INFORMATION, NOT_SUPPORTED, ""})


class AccessKeySlot(NamedTuple):
    """One access key slot of a user (1 or 2), as the report (or a live ListAccessKeys) shows it."""

    slot: int
    active: bool
    last_rotated: datetime | None  # when the key was created (None: no key in the slot)
    last_used: datetime | None  # None: never used (N/A), or not known (a live check)

    @property
    def last_activity(self) -> datetime | None:
        """The key's last use, or its creation if it was never used."""
        return _latest(self.last_used, self.last_rotated)


class CertificateSlot(NamedTuple):
    """One X.509 signing certificate slot of a user (1 or 2): ``cert_<n>_active``, ``cert_<n>_last_rotated``.

    The report names no certificate ID; ``last_rotated`` is when the certificate was uploaded (moto writes
    ``N/A`` there: no value)."""

    slot: int
    active: bool
    last_rotated: datetime | None


class CredentialRecord(NamedTuple):
    """One row of the credential report."""

    user: str
    arn: str
    created: datetime | None
    password_enabled: bool | None  # None: not_supported (the root row: ask GetAccountSummary)
    password_last_used: datetime | None  # None: never used, or no password
    password_last_changed: datetime | None
    mfa_active: bool  # any MFA device (virtual, hardware, FIDO/passkey) as of the report
    keys: tuple[AccessKeySlot, ...]  # both slots, in slot order
    certificates: tuple[CertificateSlot, ...] = ()  # both signing certificate slots, in slot order

    @property
    def active_certificates(self) -> tuple[CertificateSlot, ...]:
        return tuple(c for c in self.certificates if c.active)

    @property
    def is_root(self) -> bool:
        return self.user == ROOT

    @property
    def active_keys(self) -> tuple[AccessKeySlot, ...]:
        return tuple(k for k in self.keys if k.active)


def parse_report(rows: Iterable[Mapping[str, str]]) -> dict[str, CredentialRecord]:
    """Every row (``csv.DictReader`` over the report) by user name; the root row under ``ROOT``."""
    records: dict[str, CredentialRecord] = {}
    for row in rows:
        if row.get("user"):
            record = parse_row(row)
            records[record.user] = record
    return records


def parse_row(row: Mapping[str, str]) -> CredentialRecord:
    user = str(row.get("user", ""))
    return CredentialRecord(
        user=user,
        arn=str(row.get("arn", "")),
        created=_timestamp(row, "user_creation_time", user),
        password_enabled=_flag(row, "password_enabled", user),
        password_last_used=_timestamp(row, "password_last_used", user),
        password_last_changed=_timestamp(row, "password_last_changed", user),
        mfa_active=_flag(row, "mfa_active", user) is True,
        keys=tuple(
            AccessKeySlot(
                slot=slot,
                active=_flag(row, f"access_key_{slot}_active", user) is True,
                last_rotated=_timestamp(row, f"access_key_{slot}_last_rotated", user),
                last_used=_timestamp(row, f"access_key_{slot}_last_used_date", user),
            )
            for slot in KEY_SLOTS
        ),
        certificates=tuple(
            CertificateSlot(
                slot=slot,
                active=_flag(row, f"cert_{slot}_active", user) is True,
                last_rotated=_timestamp(row, f"cert_{slot}_last_rotated", user),
            )
            for slot in CERT_SLOTS
        ),
    )


def parse_timestamp(value: str) -> datetime | None:
    """An ISO 8601 cell as an aware UTC datetime; ``None`` for N/A, no_information, not_supported.

    Raises ``ValueError`` for anything else.
    """
    text = value.strip()
    if text in NO_VALUE:
        return None
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


def parse_flag(value: str) -> bool | None:
    """``true`` / ``false`` (any case); ``None`` for N/A, no_information, not_supported.

    Raises ``ValueError`` for anything else.
    """
    text = value.strip()
    if text in NO_VALUE:
        return None
    lowered = text.lower()
    if lowered in {"true", "false"}:
        return lowered == "true"
    raise ValueError(f"{value!r} is not true or false")


def _timestamp(row: Mapping[str, str], column: str, user: str) -> datetime | None:
    value = row.get(column)
    if value is None:
        return None
    try:
        return parse_timestamp(value)
    except ValueError:
        raise _malformed(user, column, value) from None


def _flag(row: Mapping[str, str], column: str, user: str) -> bool | None:
    value = row.get(column)
    if value is None:
        return None
    try:
        return parse_flag(value)
    except ValueError:
        raise _malformed(user, column, value) from None


def _malformed(user: str, column: str, value: str) -> CredentialReportError:
    shown = value if len(value) <= 40 else f"{value[:37]}..."
    return CredentialReportError(
        "GetCredentialReport", "Malformed", f"user {user!r}: {column} is {shown!r}, not a value IAM writes"
    )


def _latest(*moments: datetime | None) -> datetime | None:
    known = [m for m in moments if m is not None]
    return max(known) if known else None
