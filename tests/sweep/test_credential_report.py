"""Parsing the credential report as IAM writes it (pure): both key slots, every special value, root."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta

import pytest

from core.model.credential_report import (
    HEADER,
    ROOT,
    AccessKeySlot,
    parse_flag,
    parse_report,
    parse_row,
    parse_timestamp,
)
from core.model.errors import CredentialReportError

# The shape of a real report (header and the kinds of rows a real account has; the data is made up).
REAL = "\n".join(
    [
        ",".join(HEADER),
        "<root_account>,arn:aws:iam::111122223333:root,2016-05-16T18:13:11+00:00,not_supported,"
        "2016-10-06T15:47:11+00:00,not_supported,not_supported,true,false,N/A,N/A,N/A,N/A,false,N/A,N/A,"
        "N/A,N/A,false,N/A,false,N/A",
        "kit,arn:aws:iam::111122223333:user/kit,2016-07-27T14:40:59+00:00,true,2016-11-23T16:12:45+00:00,"
        "2016-10-25T18:25:21+00:00,2017-01-23T18:25:21+00:00,false,true,2016-09-07T14:37:53+00:00,"
        "2016-11-22T17:07:00+00:00,us-east-1,sts,true,2016-09-30T12:43:53+00:00,2016-11-23T22:21:00+00:00,"
        "us-west-2,ec2,false,N/A,false,N/A",
        "jeff,arn:aws:iam::111122223333:user/jeff,2016-07-27T14:40:59+00:00,true,no_information,"
        "2016-07-27T14:41:16+00:00,2016-10-25T14:41:16+00:00,false,false,N/A,N/A,N/A,N/A,false,N/A,N/A,N/A,"
        "N/A,false,N/A,false,N/A",
        "ci,arn:aws:iam::111122223333:user/ci,2016-11-15T21:04:17+00:00,false,N/A,N/A,N/A,false,false,"
        "2016-11-15T21:04:17+00:00,N/A,N/A,N/A,true,2016-11-16T09:00:00+00:00,N/A,N/A,N/A,false,N/A,false,N/A",
    ]
)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def test_the_header_is_iams() -> None:
    assert len(HEADER) == 22
    assert HEADER[:8] == (
        "user",
        "arn",
        "user_creation_time",
        "password_enabled",
        "password_last_used",
        "password_last_changed",
        "password_next_rotation",
        "mfa_active",
    )
    assert "access_key_2_last_used_date" in HEADER
    assert HEADER[-1] == "cert_2_last_rotated"


def test_a_user_with_both_keys_in_use() -> None:
    kit = parse_report(csv.DictReader(io.StringIO(REAL)))["kit"]
    assert kit.password_enabled is True
    assert kit.password_last_used == at("2016-11-23T16:12:45+00:00")
    assert kit.password_last_changed == at("2016-10-25T18:25:21+00:00")
    assert kit.mfa_active is False
    assert kit.created == at("2016-07-27T14:40:59+00:00")
    assert kit.keys == (
        AccessKeySlot(1, True, at("2016-09-07T14:37:53+00:00"), at("2016-11-22T17:07:00+00:00")),
        AccessKeySlot(2, True, at("2016-09-30T12:43:53+00:00"), at("2016-11-23T22:21:00+00:00")),
    )
    assert [k.slot for k in kit.active_keys] == [1, 2]


def test_a_password_never_used_is_no_information() -> None:
    jeff = parse_report(csv.DictReader(io.StringIO(REAL)))["jeff"]
    assert jeff.password_enabled is True
    assert jeff.password_last_used is None
    assert jeff.password_last_changed == at("2016-07-27T14:41:16+00:00")
    assert jeff.active_keys == ()


def test_slot_1_inactive_slot_2_active_never_used() -> None:
    ci = parse_report(csv.DictReader(io.StringIO(REAL)))["ci"]
    assert ci.password_enabled is False
    assert ci.password_last_used is ci.password_last_changed is None
    assert ci.keys[0] == AccessKeySlot(1, False, at("2016-11-15T21:04:17+00:00"), None)
    assert ci.keys[1] == AccessKeySlot(2, True, at("2016-11-16T09:00:00+00:00"), None)
    assert ci.active_keys == (ci.keys[1],)
    assert ci.keys[1].last_activity == at("2016-11-16T09:00:00+00:00")  # never used: its creation


def test_the_root_row() -> None:
    root = parse_report(csv.DictReader(io.StringIO(REAL)))[ROOT]
    assert root.is_root
    assert root.password_enabled is None  # not_supported: GetAccountSummary says
    assert root.password_last_changed is None
    assert root.password_last_used == at("2016-10-06T15:47:11+00:00")
    assert root.mfa_active is True
    assert root.active_keys == ()
    assert root.arn == "arn:aws:iam::111122223333:root"


@pytest.mark.parametrize("value", ["N/A", "no_information", "not_supported", ""])
def test_special_values_are_no_value(value: str) -> None:
    assert parse_timestamp(value) is None
    assert parse_flag(value) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2016-10-06T16:11:27+00:00", datetime(2016, 10, 6, 16, 11, 27, tzinfo=UTC)),
        ("2016-10-06T16:11:27Z", datetime(2016, 10, 6, 16, 11, 27, tzinfo=UTC)),
        ("2016-10-06T18:11:27+02:00", datetime(2016, 10, 6, 16, 11, 27, tzinfo=UTC)),
        ("2016-10-06T16:11:27", datetime(2016, 10, 6, 16, 11, 27, tzinfo=UTC)),
    ],
)
def test_timestamps_are_aware_utc(text: str, expected: datetime) -> None:
    parsed = parse_timestamp(text)
    assert parsed == expected
    assert parsed is not None
    assert parsed.utcoffset() == UTC.utcoffset(None) == timedelta(0)


@pytest.mark.parametrize(("value", "expected"), [("true", True), ("false", False), ("TRUE", True)])
def test_flags(value: str, expected: bool) -> None:
    assert parse_flag(value) is expected


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("access_key_1_active", "yes"),
        ("mfa_active", "1"),
        ("password_enabled", "enabled"),
        ("access_key_2_last_used_date", "yesterday"),
        ("password_last_changed", "2016-13-45T00:00:00+00:00"),
    ],
)
def test_a_value_iam_never_writes_is_refused_naming_user_and_column(column: str, value: str) -> None:
    row = dict(next(iter(csv.DictReader(io.StringIO(REAL)))))
    row = {**row, "user": "mallory", column: value}
    with pytest.raises(
        CredentialReportError, match=re.escape(f"user 'mallory': {column} is '{value}'")
    ) as caught:
        parse_row(row)
    assert "\n" not in str(caught.value)


def test_missing_columns_read_as_no_value() -> None:
    record = parse_row({"user": "old", "arn": "arn:aws:iam::111122223333:user/old"})
    assert record.password_enabled is None
    assert record.mfa_active is False
    assert record.keys == (AccessKeySlot(1, False, None, None), AccessKeySlot(2, False, None, None))


def test_rows_without_a_user_are_skipped() -> None:
    assert parse_report([{"user": ""}, {}]) == {}
