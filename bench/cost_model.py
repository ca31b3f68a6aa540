"""The cost model: what real IAM charges that moto does not, played on the bench's moto server.

moto answers a call in a few milliseconds with no network; real IAM (one control plane, in us-east-1, for
every caller) charges each call a round trip and its service time, takes seconds to build a credential
report, and throttles per account. Three knobs, **chosen values, not published AWS figures** (AWS
publishes no per-call latency, no report generation time and no IAM rates): every result prints them.

- ``latency``: added to every AWS call (default 50 ms; 20 and 100 ms are the other usual choices).
- ``report_delay``: the credential report is ready this long after the first ``GenerateCredentialReport``
  of a run. Until then ``GenerateCredentialReport`` answers ``STARTED`` (first) then ``INPROGRESS``, and
  ``GetCredentialReport`` answers ``ReportInProgress`` (HTTP 404), or ``ReportNotPresent`` (HTTP 410)
  before any generation was asked for, as IAM does. 0: a report younger than 4 hours exists (IAM reuses it).
- ``throttle_rps`` / ``throttle_burst``: a token bucket per run (IAM's buckets are per account); a call
  finding it empty gets ``Throttling`` / ``Rate exceeded`` (HTTP 400). 0: off (the default).

How it is played without waiting for it (``make bench`` must fit in minutes): a **virtual clock**. In the
measured process (``python -m bench.cost_model RESULT_FILE MODEL -- PROGRAM ARGS``), every botocore call
adds ``latency`` to its thread's virtual time instead of sleeping, and ``time.sleep`` (the sweep's poll
waits and retry back-offs, Cloud Custodian's ``report_delay``) adds to it instead of sleeping. Each request
carries the caller's clock (real time since the process started + its virtual time) in a header; the
server's middleware (``ModelledIam``) answers the report and the throttle by that clock. The modelled
wall time of a process = its real wall time (spawn to exit: interpreter, imports, parsing, moto's service
time) + the virtual time on its critical path: the main thread's, plus, for each thread pool the program
started (Cloud Custodian's ``mfa-device`` filter uses 2 workers), the largest of its workers'. So a
sequential program is modelled exactly; a pool is modelled as if its workers' waits overlapped perfectly.

This module is stdlib only at import time: the measured process may be Cloud Custodian's or Prowler's venv.
"""

from __future__ import annotations

import io
import json
import os
import re
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import parse_qs

HEADER = "x-bench-model"
POLL_ACTIONS = ("GenerateCredentialReport", "GetCredentialReport")
DEFAULT_LATENCY = 0.050
DEFAULT_REPORT_DELAY = 5.0


@dataclass(frozen=True)
class CostModel:
    latency: float = DEFAULT_LATENCY  # seconds added to every AWS call
    report_delay: float = 0.0  # seconds from the first GenerateCredentialReport to COMPLETE; 0: warm
    throttle_rps: float = 0.0  # token bucket refill per second; 0: no throttling
    throttle_burst: int = 0  # bucket size (0 with a rate: the rate, rounded up)

    def describe(self) -> str:
        report = f"ready {self.report_delay:g} s after it is asked for" if self.report_delay else "warm"
        burst = self.throttle_burst or max(1, round(self.throttle_rps + 0.5))
        throttle = f"{self.throttle_rps:g} calls/s, burst {burst}" if self.throttle_rps else "off"
        return f"latency {1000 * self.latency:g} ms/call, credential report {report}, throttle {throttle}"

    def encode(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"))

    @classmethod
    def decode(cls, text: str) -> CostModel:
        return cls(**json.loads(text))


SETTINGS_NOTE = (
    "model settings are chosen values, not published AWS figures (AWS publishes no per-call latency, "
    "report time or IAM rate); nothing here ran on real AWS"
)


# --- the server side: moto behind the report and throttle model ---------------------------------------


@dataclass
class _RunState:
    requested_at: float | None = None  # modelled clock of the run's first GenerateCredentialReport
    tokens: float = -1.0
    last: float = 0.0
    throttled: int = 0


def _iam_error(start_response: Any, status: str, code: str, message: str) -> list[bytes]:
    body = (
        '<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><Error><Type>Sender</Type>'
        f"<Code>{code}</Code><Message>{message}</Message></Error>"
        "<RequestId>bench-cost-model</RequestId></ErrorResponse>"
    ).encode()
    start_response(status, [("Content-Type", "text/xml"), ("Content-Length", str(len(body)))])
    return [body]


def _report_state(start_response: Any, state: str) -> list[bytes]:
    body = (
        '<GenerateCredentialReportResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/">'
        f"<GenerateCredentialReportResult><State>{state}</State>"
        "<Description>No report exists. Starting a new report generation task</Description>"
        "</GenerateCredentialReportResult><ResponseMetadata><RequestId>bench-cost-model</RequestId>"
        "</ResponseMetadata></GenerateCredentialReportResponse>"
    ).encode()
    start_response("200 OK", [("Content-Type", "text/xml"), ("Content-Length", str(len(body)))])
    return [body]


class ModelledIam:
    """WSGI middleware in front of moto: the report delay and the throttle, by the caller's clock.

    Requests without the model header (seeding, other benchmarks) pass untouched; so do all calls but
    the two report calls when the report is warm and the throttle is off.
    """

    def __init__(self, app: Any) -> None:
        self.app = app
        self.runs: dict[str, _RunState] = {}
        self.lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        spec = environ.get("HTTP_X_BENCH_MODEL")
        if not spec:
            return self.app(environ, start_response)
        run, clock, model_text = spec.split(" ", 2)
        model = CostModel.decode(model_text)
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(body)
        action = (parse_qs(body.decode("utf-8", "replace")).get("Action") or [""])[0]
        now = float(clock)
        with self.lock:
            state = self.runs.setdefault(run, _RunState())
            if model.throttle_rps and not self._take_token(state, model, now):
                state.throttled += 1
                return _iam_error(start_response, "400 Bad Request", "Throttling", "Rate exceeded")
            if model.report_delay and action in POLL_ACTIONS:
                answer = self._report(state, model, action, now, start_response)
                if answer is not None:
                    return answer
        return self.app(environ, start_response)

    @staticmethod
    def _take_token(state: _RunState, model: CostModel, now: float) -> bool:
        burst = model.throttle_burst or max(1, round(model.throttle_rps + 0.5))
        if state.tokens < 0:
            state.tokens, state.last = float(burst), now
        elapsed = max(0.0, now - state.last)
        state.tokens = min(float(burst), state.tokens + elapsed * model.throttle_rps)
        state.last = max(state.last, now)
        if state.tokens < 1:
            return False
        state.tokens -= 1
        return True

    @staticmethod
    def _report(
        state: _RunState, model: CostModel, action: str, now: float, start_response: Any
    ) -> list[bytes] | None:
        if action == "GenerateCredentialReport":
            if state.requested_at is None:
                state.requested_at = now
                return _report_state(start_response, "STARTED")
            if now < state.requested_at + model.report_delay:
                return _report_state(start_response, "INPROGRESS")
            return None  # moto's report: COMPLETE
        if state.requested_at is None:
            return _iam_error(start_response, "410 Gone", "ReportNotPresent", "Credential report not present")
        if now < state.requested_at + model.report_delay:
            return _iam_error(
                start_response, "404 Not Found", "ReportInProgress", "Credential report is being generated"
            )
        return None


def start_modelled_server() -> tuple[Any, str]:
    """moto's threaded server on 127.0.0.1 behind ``ModelledIam``: ``(server, endpoint URL)``."""
    from moto.moto_server.threaded_moto_server import ThreadedMotoServer
    from moto.moto_server.werkzeug_app import (
        DomainDispatcherApplication,
        MotoRequestHandler,
        create_backend_app,
    )
    from werkzeug.serving import make_server

    from demo.moto_extras import install as install_moto_extras

    install_moto_extras()  # what moto's IAM lacks and the sweep reads, as demo.emulator does

    class Server(ThreadedMotoServer):
        def _server_entry(self) -> None:
            app = ModelledIam(DomainDispatcherApplication(create_backend_app))
            self._server = make_server(
                self._ip_address, self._port, app, True, request_handler=MotoRequestHandler
            )
            self._server_ready_event.set()
            self._server.serve_forever()

    server = Server(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    return server, f"http://{host}:{port}"


# --- the client side: the virtual clock in the measured process ---------------------------------------


@dataclass
class _Thread:
    calls: int = 0
    latency: float = 0.0
    slept: float = 0.0


@dataclass
class Trace:
    """What the measured process reports (as JSON, into the result file)."""

    calls: dict[str, int] = field(default_factory=dict)
    threads: dict[str, list[float]] = field(default_factory=dict)  # name -> [calls, latency, slept]
    critical_calls: int = 0
    critical_latency: float = 0.0
    critical_sleep: float = 0.0
    cpu: float = 0.0
    max_rss_mib: float = 0.0

    @property
    def total(self) -> int:
        return sum(self.calls.values())

    @property
    def polls(self) -> int:
        return sum(n for op, n in self.calls.items() if op.split(":")[-1] in POLL_ACTIONS)

    @property
    def virtual(self) -> float:
        return self.critical_latency + self.critical_sleep


def critical_path(threads: dict[str, _Thread]) -> tuple[int, float, float]:
    """(calls, latency, sleep) on the critical path: the main thread's, plus each pool's slowest worker."""
    main = threads.get("MainThread", _Thread())
    pools: dict[str, _Thread] = {}
    for name, t in threads.items():
        if name == "MainThread":
            continue
        pool = re.sub(r"_\d+$", "", name)
        best = pools.get(pool)
        if best is None or t.latency + t.slept > best.latency + best.slept:
            pools[pool] = t
    parts = [main, *pools.values()]
    return sum(p.calls for p in parts), sum(p.latency for p in parts), sum(p.slept for p in parts)


class Recorder:
    """Per-thread virtual time and per-operation call counts of the measured process."""

    def __init__(self) -> None:
        self.threads: dict[str, _Thread] = {}
        self.counts: dict[str, int] = {}
        self.lock = threading.Lock()

    def mine(self) -> _Thread:
        name = threading.current_thread().name
        with self.lock:
            return self.threads.setdefault(name, _Thread())

    def main_virtual(self) -> float:
        main = self.threads.get("MainThread")
        return main.latency + main.slept if main else 0.0

    def count(self, key: str) -> None:
        with self.lock:
            self.counts[key] = self.counts.get(key, 0) + 1

    def write(self, path: str) -> None:
        import resource

        calls, latency, slept = critical_path(self.threads)
        usage = resource.getrusage(resource.RUSAGE_SELF)
        trace = Trace(
            calls=dict(self.counts),
            threads={k: [v.calls, v.latency, v.slept] for k, v in self.threads.items()},
            critical_calls=calls,
            critical_latency=latency,
            critical_sleep=slept,
            cpu=usage.ru_utime + usage.ru_stime,
            max_rss_mib=peak_rss_mib(usage.ru_maxrss),
        )
        with open(path, "w", encoding="utf-8") as out:
            json.dump(asdict(trace), out)


def peak_rss_mib(ru_maxrss_kib: int) -> float:
    """This process image's peak resident set: ``VmHWM`` (Linux). Not ``ru_maxrss``: Linux carries the
    parent's peak over ``fork`` + ``exec``, so a child of a big benchmark process would report the
    parent's memory (an earlier round's figures did: 157 and 221 MiB for a 78 MiB process)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return ru_maxrss_kib / 1024  # KiB on Linux


def install(model: CostModel, run: str) -> Recorder:
    """Patch ``time.sleep`` and botocore in this process; before the program imports anything of its own
    (default arguments such as ``sleep=time.sleep`` bind at import)."""
    started = time.perf_counter()
    recorder = Recorder()
    local = threading.local()

    def virtual_sleep(seconds: float) -> None:
        recorder.mine().slept += max(0.0, float(seconds))

    time.sleep = virtual_sleep

    import botocore.client

    original = botocore.client.BaseClient._make_api_call

    def add_header(request: Any, **_: Any) -> None:
        request.headers[HEADER] = getattr(local, "header", "")

    def modelled_call(self: Any, operation: str, params: Any) -> Any:
        me = recorder.mine()
        me.calls += 1
        me.latency += model.latency
        # A pool's worker starts where the main thread's virtual time stood (it waits for the pool).
        main = threading.current_thread() is threading.main_thread()
        offset = 0.0 if main else recorder.main_virtual()
        clock = time.perf_counter() - started + me.latency + me.slept + offset
        local.header = f"{run} {clock:.6f} {model.encode()}"
        self.meta.events.register("before-sign", add_header, unique_id="bench-cost-model")
        recorder.count(f"{self.meta.service_model.service_name}:{operation}")
        return original(self, operation, params)

    botocore.client.BaseClient._make_api_call = modelled_call  # type: ignore[method-assign]
    return recorder


def read_trace(path: str) -> Trace:
    with open(path, encoding="utf-8") as f:
        return Trace(**json.load(f))


def main() -> None:
    """``python -m bench.cost_model RESULT MODEL RUN -- cli|custodian|prowler ARGS...``: run one program under
    the model, write its trace to RESULT. The program's own exit code is kept."""
    result, model_text, run, separator, program, *args = sys.argv[1:]
    assert separator == "--"
    recorder = install(CostModel.decode(model_text), run)
    code: Any = 0
    try:
        if program == "cli":
            from cli.main import main as cli_main

            sys.argv = ["iam-guard", *args]
            code = cli_main()
        elif program == "custodian":
            from c7n.cli import main as c7n_main

            sys.argv = ["custodian", *args]
            c7n_main()
        elif program == "prowler":
            from prowler.__main__ import prowler as prowler_main

            sys.argv = ["prowler", *args]
            code = prowler_main()
        else:
            raise SystemExit(f"unknown program {program}")
    except SystemExit as exc:
        code = exc.code
    finally:
        recorder.write(result)
    sys.stdout.flush()
    os._exit(int(code or 0))


if __name__ == "__main__":
    main()
