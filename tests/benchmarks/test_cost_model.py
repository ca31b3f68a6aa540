"""The benchmark's cost model plays IAM's report states and throttle as documented (docs/sweep.md#measured).

Pure: ``ModelledIam`` in front of a fake WSGI app, requests built by hand with the model's header and the
caller's clock. The figures ``make bench`` prints are only as good as this model.
"""

from __future__ import annotations

import io
import threading
from typing import Any
from urllib.parse import urlencode

import pytest
from bench.cost_model import HEADER, CostModel, ModelledIam, Recorder, critical_path, floor_path

DELAYED = CostModel(latency=0.05, report_delay=5.0)


class Moto:
    """Stands in for moto: answers every request it gets with 200 and counts them."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    def __call__(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0)).decode()
        self.seen.append(body)
        start_response("200 OK", [])
        return [b"<State>COMPLETE</State>"]


def call(app: ModelledIam, action: str, clock: float, model: CostModel = DELAYED, run: str = "r1") -> str:
    body = urlencode({"Action": action, "Version": "2010-05-08"}).encode()
    environ = {
        "wsgi.input": io.BytesIO(body),
        "CONTENT_LENGTH": str(len(body)),
        "HTTP_" + HEADER.upper().replace("-", "_"): f"{run} {clock} {model.encode()}",
    }
    status: list[str] = []
    answer = b"".join(app(environ, lambda s, _h: status.append(s)))
    return f"{status[0]} {answer.decode()}"


def test_the_report_is_started_in_progress_then_moto_answers_after_the_delay() -> None:
    moto = Moto()
    app = ModelledIam(moto)
    assert "STARTED" in call(app, "GenerateCredentialReport", 0.4)
    assert "INPROGRESS" in call(app, "GenerateCredentialReport", 1.4)
    assert "404" in call(app, "GetCredentialReport", 2.0)
    assert "ReportInProgress" in call(app, "GetCredentialReport", 5.39)
    assert moto.seen == []  # nothing reached moto before the report was ready
    assert call(app, "GenerateCredentialReport", 5.4).startswith("200")
    assert call(app, "GetCredentialReport", 5.45).startswith("200")
    assert len(moto.seen) == 2
    assert "Action=GetCredentialReport" in moto.seen[1]  # the body is passed on intact


def test_a_read_before_any_generation_is_report_not_present() -> None:
    answer = call(ModelledIam(Moto()), "GetCredentialReport", 0.1)
    assert answer.startswith("410")
    assert "ReportNotPresent" in answer


def test_each_run_has_its_own_report_and_other_calls_pass() -> None:
    moto = Moto()
    app = ModelledIam(moto)
    call(app, "GenerateCredentialReport", 0.0, run="a")
    assert "STARTED" in call(app, "GenerateCredentialReport", 9.0, run="b")
    assert call(app, "GetAccountSummary", 0.1, run="a").startswith("200")
    assert len(moto.seen) == 1


def test_a_warm_report_and_requests_without_the_header_are_moto_s() -> None:
    moto = Moto()
    app = ModelledIam(moto)
    assert call(app, "GenerateCredentialReport", 0.0, CostModel(report_delay=0.0)).startswith("200")
    plain = {"wsgi.input": io.BytesIO(b""), "CONTENT_LENGTH": "0"}
    app(plain, lambda *_: None)
    assert len(moto.seen) == 2


def test_the_throttle_is_a_token_bucket_on_the_callers_clock() -> None:
    model = CostModel(latency=0.0, throttle_rps=2.0, throttle_burst=3)
    app = ModelledIam(Moto())
    answers = [call(app, "GetUser", 0.0, model) for _ in range(4)]
    assert [a[:3] for a in answers] == ["200", "200", "200", "400"]
    assert "Throttling" in answers[3]
    assert "Rate exceeded" in answers[3]
    assert call(app, "GetUser", 0.5, model).startswith("200")  # one token back after 0.5 s at 2/s
    assert call(app, "GetUser", 0.5, model).startswith("400")


def test_the_critical_path_is_the_main_thread_plus_each_pools_slowest_worker() -> None:
    main = [10, 10.0, 0]  # [calls, slept, polls]
    pools = [[[50, 0.0, 0], [49, 0.0, 0]], [[3, 0.0, 0]]]
    calls, latency, slept = critical_path(main, pools, 0.05)
    assert (calls, round(latency, 6), slept) == (63, 3.15, 10.0)


def test_a_pools_busiest_worker_is_on_the_critical_path_and_its_sleep_is_not_added() -> None:
    pools = [[[7, 5.0, 7], [1, 0.0, 0]]]  # the report's worker slept 5 s (for real) over 7 calls
    assert critical_path([2, 0.0, 0], pools, 0.05) == (9, pytest.approx(0.45), 5.0)
    assert critical_path([0, 0.0, 0], [[[1, 9.0, 0], [3, 0.0, 0]]], 0.05)[:1] == (3,)


def test_the_floor_counts_the_report_polls_a_thread_needs_and_the_delay() -> None:
    main = [1, 0.0, 0]
    pools = [[[9, 7.5, 9], [1, 0.0, 0]], [[4, 0.0, 0], [3, 0.0, 0]]]
    # main 1 call; the report's worker: 3 polls + the 5 s delay; the second pool's slowest: 4 calls.
    assert floor_path(main, pools, 0.05, 5.0) == pytest.approx((1 + 3 + 4) * 0.05 + 5.0)
    warm = [[[2, 0.0, 2], [1, 0.0, 0]]]
    assert floor_path([0, 0.0, 0], warm, 0.05, 0.0) == pytest.approx(2 * 0.05)


def in_thread(recorder: Recorder, name: str, calls: int, latency: float = 0.05) -> float:
    """A thread named ``name`` makes ``calls`` calls; the clock it saw at its first call."""
    seen: list[float] = []

    def work() -> None:
        for _ in range(calls):
            me = recorder.mine()
            me.calls += 1
            me.latency += latency
            seen.append(recorder.clock(me) - latency)

    thread = threading.Thread(target=work, name=name)
    thread.start()
    thread.join()
    return seen[0]


def test_pools_one_after_another_are_runs_and_a_later_worker_starts_after_the_earlier_pools() -> None:
    recorder = Recorder(0.05)
    main = recorder.mine()
    main.calls, main.latency = 1, 0.05
    assert in_thread(recorder, "iam-guard-gather_0", 2) == pytest.approx(0.05)
    assert in_thread(recorder, "iam-guard-gather_1", 1) == pytest.approx(0.05)  # same pool: together
    # A new pool (the per-user reads) starts where the main thread stood after waiting for the first.
    assert in_thread(recorder, "iam-guard-read_0", 3) == pytest.approx(0.05 + 0.10)
    # The same names again: a second executor, a third run, after the second.
    assert in_thread(recorder, "iam-guard-read_0", 1) == pytest.approx(0.05 + 0.10 + 0.15)
    assert [len(run) for run in recorder.runs] == [2, 1, 1]
    assert recorder.clock(main) == pytest.approx(0.05 + 0.10 + 0.15 + 0.05)


def test_the_settings_say_what_they_are() -> None:
    text = DELAYED.describe()
    assert "50 ms/call" in text
    assert "5 s" in text
    assert "throttle off" in text
    assert CostModel.decode(DELAYED.encode()) == DELAYED
