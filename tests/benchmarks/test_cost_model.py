"""The benchmark's cost model plays IAM's report states and throttle as documented (docs/sweep.md#measured).

Pure: ``ModelledIam`` in front of a fake WSGI app, requests built by hand with the model's header and the
caller's clock. The figures ``make bench`` prints are only as good as this model.
"""

from __future__ import annotations

import io
from typing import Any
from urllib.parse import urlencode

from bench.cost_model import HEADER, CostModel, ModelledIam, _Thread, critical_path

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
    threads = {
        "MainThread": _Thread(calls=10, latency=0.5, slept=10.0),
        "ThreadPoolExecutor-0_0": _Thread(calls=50, latency=2.5),
        "ThreadPoolExecutor-0_1": _Thread(calls=49, latency=2.45),
        "ThreadPoolExecutor-1_0": _Thread(calls=3, latency=0.15),
    }
    calls, latency, slept = critical_path(threads)
    assert (calls, round(latency, 6), slept) == (63, 3.15, 10.0)


def test_the_settings_say_what_they_are() -> None:
    text = DELAYED.describe()
    assert "50 ms/call" in text
    assert "5 s" in text
    assert "throttle off" in text
    assert CostModel.decode(DELAYED.encode()) == DELAYED
