"""The IAM client's fast timestamp parser agrees with botocore's general one on every form IAM uses."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from botocore.utils import parse_timestamp
from moto import mock_aws

from core.aws.iam import IamGateway, default_iam_client, parse_iam_timestamp


@pytest.mark.parametrize(
    "text",
    [
        "2026-11-29T03:21:20Z",
        "2026-11-29T03:21:20.123456Z",
        "2026-11-29T03:21:20+00:00",
        "2026-11-29T12:21:20+09:00",
        "Sun, 29 Nov 2026 03:21:20 GMT",
    ],
)
def test_same_instant_as_botocore(text: str) -> None:
    ours = parse_iam_timestamp(text)
    assert ours.tzinfo is not None
    assert ours == parse_timestamp(text)


def test_a_timestamp_without_zone_is_utc() -> None:
    assert parse_iam_timestamp("2026-11-29T03:21:20") == datetime(2026, 11, 29, 3, 21, 20, tzinfo=UTC)


def test_the_default_client_returns_aware_create_dates() -> None:
    with mock_aws():
        client = default_iam_client()
        client.create_user(UserName="alice")
        created = IamGateway(client).get_user("alice")["CreateDate"]
    assert isinstance(created, datetime)
    assert created.tzinfo is not None
    assert abs((datetime.now(UTC) - created).total_seconds()) < 3600
