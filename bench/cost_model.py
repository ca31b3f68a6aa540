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

How it is played without waiting for it (``make bench`` must fit in minutes): a **virtual clock** for the
latency. In the measured process (``python -m bench.cost_model RESULT_FILE MODEL -- PROGRAM ARGS``), every
botocore call adds ``latency`` to its thread's virtual time instead of sleeping. ``time.sleep`` (the
sweep's poll waits and retry back-offs, Cloud Custodian's ``report_delay``) sleeps for real, and is
recorded: what other threads do meanwhile overlaps the wait, as it would against IAM (a virtual sleep
would charge a program that reads the account while the report is built for both, one after the other).
Each request carries the caller's clock (real time since the process started + its virtual time) in a
header; the server's middleware (``ModelledIam``) answers the report and the throttle by that clock. The
modelled wall time of a process = its real wall time (spawn to exit: interpreter, imports, parsing,
sleeps, moto's service time) + the latency on its critical path: the main thread's calls, plus, for each
thread pool the program started (one after another: ours reads the account at once, then the users 8 at
a time; Cloud Custodian's ``mfa-device`` filter uses 2 workers), its busiest worker's. So a sequential
program is modelled exactly; a pool is modelled as if its workers' waits overlapped perfectly.

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
from dataclasses import asdict, dataclass, field, replace
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
    name: str = "MainThread"
    calls: int = 0
    latency: float = 0.0
    slept: float = 0.0
    polls: int = 0  # GenerateCredentialReport and GetCredentialReport among its calls
    offset: float = 0.0  # virtual time it started at: the main thread's, plus the pools main waited for

    @property
    def virtual(self) -> float:
        return self.latency  # its sleeps are real: they are in the real wall already

    def shape(self) -> list[float]:
        return [self.calls, self.slept, self.polls]


Shape = list[float]  # one thread of the trace: [calls, slept, polls]


def critical_path(main: Shape, pools: list[list[Shape]], latency: float) -> tuple[int, float, float]:
    """(calls, latency, sleep) on the critical path at ``latency`` per call: the main thread's, plus, for
    each pool the program started (one after another, the main thread waiting for each), the worker that
    made the most calls (sleeps are real, so they are in the real wall: the sleep is for information)."""
    parts = [main, *(max(run, key=lambda t: (t[0], t[1])) for run in pools if run)]
    calls = int(sum(t[0] for t in parts))
    return calls, calls * latency, sum(t[1] for t in parts)


def floor_path(main: Shape, pools: list[list[Shape]], latency: float, delay: float) -> float:
    """The virtual time on the critical path had every thread made only the calls it cannot do without:
    a thread that polled the credential report needs 2 polls and no wait when the report is warm, 3
    (the one that starts it, the one that sees it COMPLETE, the read) and the delay when it is not."""
    need = 3 if delay else 2

    def least(t: Shape) -> float:
        if not t[2]:
            return t[0] * latency
        return (t[0] - t[2] + need) * latency + delay

    return least(main) + sum(max(least(t) for t in run) for run in pools if run)


@dataclass
class Trace:
    """What the measured process reports (as JSON, into the result file)."""

    calls: dict[str, int] = field(default_factory=dict)
    latency: float = 0.0  # the model's, per call
    main: Shape = field(default_factory=lambda: [0, 0.0, 0])
    pools: list[list[Shape]] = field(default_factory=list)  # in the order they ran: each worker's shape
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
        """What the model adds to the real wall: the latency on the critical path (sleeps are real)."""
        return self.critical_latency

    def at_latency(self, latency: float) -> Trace:
        """The same run read at another latency (valid only where nothing depends on the clock)."""
        calls, added, slept = critical_path(self.main, self.pools, latency)
        return replace(
            self, latency=latency, critical_calls=calls, critical_latency=added, critical_sleep=slept
        )

    def floor(self, delay: float) -> float:
        return floor_path(self.main, self.pools, self.latency, delay)


class Recorder:
    """Per-thread virtual time and per-operation call counts of the measured process.

    Threads are grouped into pool runs: a thread joins the run being filled when it belongs to the same
    pool (its name without the ``_N`` worker number) and no thread of that run has its name (a new
    executor reuses the names); otherwise it starts a new run. A call of the main thread closes the run
    (the main thread waited for it), and so does a new run: pools run one after another."""

    def __init__(self, latency: float = 0.0) -> None:
        self.latency = latency
        self.main = _Thread()
        self.runs: list[list[_Thread]] = []
        self.filling = False  # whether runs[-1] may still take threads
        self.counts: dict[str, int] = {}
        self.lock = threading.Lock()
        self.local = threading.local()

    def mine(self) -> _Thread:
        record: _Thread | None = getattr(self.local, "record", None)
        if record is None:
            thread = threading.current_thread()
            with self.lock:
                record = self.main if thread is threading.main_thread() else self._join(thread.name)
            self.local.record = record
        return record

    def _join(self, name: str) -> _Thread:
        pool = re.sub(r"_\d+$", "", name)
        run = self.runs[-1] if self.filling and self.runs else None
        if run is None or re.sub(r"_\d+$", "", run[0].name) != pool or any(t.name == name for t in run):
            run = []
            self.runs.append(run)
            self.filling = True  # the runs before it are closed: _waited counts them
        record = _Thread(name=name, offset=self._waited())
        run.append(record)
        return record

    def _waited(self) -> float:
        """The main thread's virtual time: its own, plus each closed pool's slowest worker."""
        closed = self.runs[:-1] if self.filling else self.runs
        return self.main.virtual + sum(max(t.virtual for t in run) for run in closed if run)

    def clock(self, record: _Thread) -> float:
        """The virtual time of ``record``'s thread now."""
        if record is self.main:
            with self.lock:
                self.filling = False  # the main thread calls again: it waited for the pool
                return self._waited()
        return record.offset + record.virtual

    def count(self, key: str) -> None:
        with self.lock:
            self.counts[key] = self.counts.get(key, 0) + 1

    def write(self, path: str) -> None:
        import resource

        main = self.main.shape()
        pools = [[t.shape() for t in run] for run in self.runs]
        calls, latency, slept = critical_path(main, pools, self.latency)
        usage = resource.getrusage(resource.RUSAGE_SELF)
        trace = Trace(
            calls=dict(self.counts),
            latency=self.latency,
            main=main,
            pools=pools,
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
    recorder = Recorder(model.latency)
    local = threading.local()

    real_sleep = time.sleep

    def recorded_sleep(seconds: float) -> None:
        recorder.mine().slept += max(0.0, float(seconds))
        real_sleep(seconds)

    time.sleep = recorded_sleep

    import botocore.client

    original = botocore.client.BaseClient._make_api_call

    def add_header(request: Any, **_: Any) -> None:
        request.headers[HEADER] = getattr(local, "header", "")

    def modelled_call(self: Any, operation: str, params: Any) -> Any:
        me = recorder.mine()
        me.calls += 1
        me.latency += model.latency
        me.polls += operation in POLL_ACTIONS
        clock = time.perf_counter() - started + recorder.clock(me)
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
