"""Per-user reads (the TOTP candidates' ``ListMFADevices``, the SSH-key subset's ``ListSSHPublicKeys``)
go out a few at a time: on IAM each is a round trip to us-east-1, so 150 in a row cost 150 round trips.
Each user is read exactly once, the answers keep the users' order, a failure is raised as it would be one
after another, and a handful of reads are made in order on the caller's thread."""

from __future__ import annotations

import threading

import pytest

from core.model.errors import AwsError, ThrottledError
from core.sweep.report import PER_USER_READ_POOL_FROM, PER_USER_READ_WORKERS, read_each

pytestmark = pytest.mark.unit


def test_reads_overlap_each_user_read_once_and_the_answers_keep_the_users_order() -> None:
    users = [f"user-{i:03d}" for i in range(3 * PER_USER_READ_WORKERS + 1)]
    # Returns only if PER_USER_READ_WORKERS reads are in flight together (one after another it times out).
    together = threading.Barrier(PER_USER_READ_WORKERS, timeout=10)
    asked: list[str] = []
    lock = threading.Lock()

    def read(name: str) -> str:
        with lock:
            asked.append(name)
        if name in users[:PER_USER_READ_WORKERS]:  # the first user of every worker's share
            together.wait()
        return name.upper()

    found = read_each(users, read)

    assert list(found) == users
    assert found == {u: u.upper() for u in users}
    assert sorted(asked) == users  # each exactly once


def test_a_few_reads_are_made_in_order_on_the_callers_thread() -> None:
    users = [f"u{i}" for i in range(PER_USER_READ_POOL_FROM - 1)]
    seen: list[tuple[str, str]] = []

    found = read_each(users, lambda name: seen.append((name, threading.current_thread().name)) or name)

    assert seen == [(u, threading.current_thread().name) for u in users]
    assert list(found) == users


def test_a_failing_read_is_raised() -> None:
    users = [f"u{i}" for i in range(2 * PER_USER_READ_WORKERS)]

    def read(name: str) -> str:
        if name == "u5":
            raise AwsError("ListMFADevices", "Throttling", "Rate exceeded")
        return name

    with pytest.raises(AwsError, match="Throttling"):
        read_each(users, read)


def test_once_a_read_stays_throttled_the_rest_are_read_one_after_another() -> None:
    """IAM throttles per account at a rate it does not publish: the pool gives way, the sweep finishes."""
    users = [f"u{i:02d}" for i in range(4 * PER_USER_READ_WORKERS)]
    calls: list[tuple[str, str]] = []
    lock = threading.Lock()
    refused: list[str] = []

    def read(name: str) -> str:
        with lock:
            calls.append((name, threading.current_thread().name))
            if not refused:  # the first read is refused once, as a throttled IAM would
                refused.append(name)
                raise ThrottledError("ListMFADevices", "Throttling", "Rate exceeded")
        return name

    found = read_each(users, read)

    assert found == {u: u for u in users}
    main = threading.current_thread().name
    again = [name for name, thread in calls if thread == main]
    assert refused[0] in again  # read again, after the pool, on the caller's thread
    assert sorted(name for name, _ in calls) == sorted([*users, refused[0]])  # nobody else twice
