"""The credential report's poll schedule, on a fake clock: how often IAM is asked, and how late a report
is seen. Pure: a fake IAM whose report is ready at a chosen moment, a sleep that only moves the clock.

The schedule (issue 27): at most one poll a second for the first 10 s, then backing off to 15 s between
polls, at most 20 polls over the ~45 s wait. Speed is not timed here (that is ``make bench``); these
tests hold the schedule's shape and what it guarantees.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import cast

import pytest

from core.aws.iam import CredentialReport, IamGateway
from core.model.errors import AccessDeniedError, CredentialReportError
from core.sweep.report import REPORT_ATTEMPTS, REPORT_DELAYS, fetch_credential_report

GENERATED = datetime(2026, 12, 7, 3, 0, tzinfo=UTC)


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def sleep(self, seconds: float) -> None:
        assert seconds >= 0
        self.now += seconds


class ReportInSeconds:
    """IAM as the bench's cost model plays it: STARTED, INPROGRESS until ``ready_at``, then COMPLETE;
    ``GetCredentialReport`` before then answers ``ReportInProgress`` (only if asked early)."""

    def __init__(self, clock: FakeClock, ready_at: float, *, call_seconds: float = 0.0) -> None:
        self.clock = clock
        self.ready_at = ready_at
        self.call_seconds = call_seconds  # each call's own round trip, on the same clock
        self.polls: list[float] = []  # when each GenerateCredentialReport was sent
        self.reads: list[float] = []

    def generate_credential_report(self) -> str:
        self.polls.append(self.clock.now)
        self.clock.now += self.call_seconds
        if self.clock.now >= self.ready_at:
            return "COMPLETE"
        return "STARTED" if len(self.polls) == 1 else "INPROGRESS"

    def get_credential_report(self) -> CredentialReport:
        self.reads.append(self.clock.now)
        self.clock.now += self.call_seconds
        if self.clock.now < self.ready_at:
            raise CredentialReportError("GetCredentialReport", "ReportInProgress", "not yet")
        return CredentialReport(GENERATED, [])


def fetch(iam: ReportInSeconds, clock: FakeClock) -> CredentialReport:
    return fetch_credential_report(cast(IamGateway, iam), sleep=clock.sleep)


def poll_times(delays: tuple[float, ...] = REPORT_DELAYS) -> list[float]:
    times = [0.0]
    for d in delays:
        times.append(times[-1] + d)
    return times


def test_the_schedule_polls_every_second_for_10_s_then_backs_off_to_15_s() -> None:
    assert poll_times() == [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 12, 15, 20, 30, 45]
    assert REPORT_ATTEMPTS == len(REPORT_DELAYS) + 1 == 16


def test_the_schedule_keeps_its_bounds() -> None:
    assert REPORT_ATTEMPTS <= 20  # polls, counted apart from the call budget
    assert all(d >= 1.0 for d in REPORT_DELAYS)  # never more than one poll a second
    assert list(REPORT_DELAYS) == sorted(REPORT_DELAYS)  # a wait never shortens
    assert max(REPORT_DELAYS) == 15.0  # backs off to 15 s, no further
    within_10 = [d for t, d in zip(poll_times(), REPORT_DELAYS, strict=False) if t < 10]
    assert set(within_10) == {1.0}  # once a second over the first 10 s
    assert 40 <= sum(REPORT_DELAYS) <= 50  # the ~45 s wait (what the Lambda's timeout budgets for)


def test_a_warm_report_costs_one_poll_and_no_wait() -> None:
    clock = FakeClock()
    iam = ReportInSeconds(clock, ready_at=0.0)
    assert fetch(iam, clock).generated_at == GENERATED
    assert (iam.polls, iam.reads, clock.now) == ([0.0], [0.0], 0.0)


@pytest.mark.parametrize("ready_at", [0.3, 1.0, 2.5, 5.0, 7.9, 10.0])
def test_a_report_ready_within_10_s_is_seen_within_a_second(ready_at: float) -> None:
    clock = FakeClock()
    iam = ReportInSeconds(clock, ready_at=ready_at)
    fetch(iam, clock)
    assert iam.reads[-1] - ready_at < 1.0  # the old schedule saw a 5 s report at 7.5 s
    assert len(iam.polls) == int(ready_at) + (0 if ready_at == int(ready_at) else 1) + 1
    assert len(iam.reads) == 1  # read only once it is COMPLETE


def test_a_report_ready_later_waits_for_the_backed_off_poll() -> None:
    clock = FakeClock()
    iam = ReportInSeconds(clock, ready_at=16.0)
    fetch(iam, clock)
    assert iam.polls == [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 12, 15, 20]
    assert iam.reads == [20.0]


def test_call_time_adds_to_the_waits_and_never_crowds_polls() -> None:
    clock = FakeClock()
    iam = ReportInSeconds(clock, ready_at=5.0, call_seconds=0.05)  # 50 ms a call
    fetch(iam, clock)
    gaps = [b - a for a, b in zip(iam.polls, iam.polls[1:], strict=False)]
    assert all(g >= 1.0 for g in gaps)
    assert iam.reads[-1] - 5.0 < 1.0 + 0.05 * len(iam.polls)


def test_report_in_progress_on_the_read_is_waited_for_on_the_same_schedule() -> None:
    clock = FakeClock()
    iam = ReportInSeconds(clock, ready_at=3.5)
    iam.generate_credential_report = lambda: iam.polls.append(clock.now) or "COMPLETE"  # type: ignore[method-assign]
    fetch(iam, clock)
    assert iam.polls == [0, 1, 2, 3, 4]  # each 404 ReportInProgress costs one attempt, then a wait
    assert iam.reads == [0, 1, 2, 3, 4]


def test_never_ready_gives_up_after_the_last_poll_at_45_s() -> None:
    clock = FakeClock()
    iam = ReportInSeconds(clock, ready_at=float("inf"))
    with pytest.raises(CredentialReportError, match=r"not ready after 16 attempts over 45 s") as caught:
        fetch(iam, clock)
    assert "report generation INPROGRESS" in str(caught.value)
    assert iam.polls == poll_times()
    assert clock.now == 45.0
    assert iam.reads == []


def test_other_errors_are_not_waited_for() -> None:
    clock = FakeClock()
    iam = ReportInSeconds(clock, ready_at=0.0)

    def denied() -> str:
        raise AccessDeniedError("GenerateCredentialReport", "AccessDenied", "no")

    iam.generate_credential_report = denied  # type: ignore[method-assign]
    with pytest.raises(AccessDeniedError):
        fetch(iam, clock)
    assert clock.now == 0.0
