"""Sweep benchmark: IAM calls, wall time and peak memory for N = 100, 1,000, 10,000 users on moto.

Run from the repository root: ``python -m bench.bench_sweep`` (``make bench`` runs it with the others).

For each N a child process seeds moto's IAM backend directly (the API would take minutes at 10,000
users) and serves it with ``ThreadedMotoServer`` on 127.0.0.1; this process then runs ``run_sweep``
against it over HTTP, counting IAM calls with ``core.aws.gateway.CallCounter`` and Python allocations with
``tracemalloc`` (the server lives in the child, so its memory is not counted).

The state: every user in the secured group; every 10th has a console password, every 7th an access key,
every 21st a virtual MFA device. The credential report is generated once before timing, as on a real
account where IAM reuses a report younger than 4 hours (moto answers STARTED to the very first request).

Cloud Custodian comparison (N = 1,000), end to end: whole processes against the same seeded server, in
the same run, alternating, best of ``E2E_REPEATS`` each. Ours: ``iam-guard audit --dry-run --format json``
(the command a person runs; it reports and changes nothing). Cloud Custodian: ``custodian run`` of an
``iam-user`` policy with the ``credential`` filter (``mfa_active: false``): the same users, the same
question (who has no MFA), reporting only. Both processes are timed from spawn to exit (interpreter start,
imports, client set-up, every call, output), with their CPU time and the server's CPU time during the run
(the emulator's share of the work). c7n's calls are counted by wrapping botocore's ``_make_api_call`` in
its process; ours are the ``iam_calls`` the audit reports. c7n needs ``.venv-c7n`` (a throwaway venv with
PyPI ``c7n``; it pins its own boto3, so it never goes into .venv): ``make .venv-c7n/.installed``.
"""

from __future__ import annotations

import json
import math
import os
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import FAKE_AWS, installed_environment

ROOT = Path(__file__).resolve().parents[1]
SIZES = (100, 1_000, 10_000)
C7N_AT = 1_000
REPEATS = 3  # the machine is shared: each figure is the best of REPEATS runs
E2E_REPEATS = 5  # whole processes, ours and Cloud Custodian's alternating
C7N_PYTHON = ROOT / ".venv-c7n" / "bin" / "python"
GROUP = "IAMGuardSecuredUsers"
ACCOUNT_ID = "123456789012"


# Runs inside the c7n venv: count every API call c7n makes, then run `custodian run`.
C7N_DRIVER = r"""
import collections, json, sys, time
import botocore.client
counts = collections.Counter()
original = botocore.client.BaseClient._make_api_call
def counting(self, operation, params):
    counts[f"{self.meta.service_model.service_name}:{operation}"] += 1
    return original(self, operation, params)
botocore.client.BaseClient._make_api_call = counting
from c7n.cli import main
policy, output = sys.argv[1], sys.argv[2]
sys.argv = ["custodian", "run", "--cache-period", "0", "-s", output, "--region", "us-east-1", policy]
try:
    main()
except SystemExit:
    pass
print(json.dumps({"calls": counts}))
"""

C7N_POLICY = {
    "policies": [
        {
            "name": "iam-users-without-mfa",
            "resource": "iam-user",
            "filters": [
                # report_max_age: moto dates every report 2015; reuse it as IAM would (no regeneration).
                {"type": "credential", "key": "mfa_active", "value": False, "report_max_age": 10**10}
            ],
        }
    ]
}


# --- the child: a seeded moto server ---------------------------------------------------------------


def serve(n: int, modelled: bool = False) -> None:
    """Seed moto's backend with ``n`` users, serve it on 127.0.0.1, print the endpoint, wait for stdin.

    ``modelled``: behind ``bench.cost_model.ModelledIam`` (the report delay and throttle of the cost model,
    for requests that carry its header)."""
    os.environ.update(FAKE_AWS)
    import logging

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no access log on the benchmark's output
    from moto.iam.models import iam_backends
    from tests.harness.large_account import seed_iam_backend

    from demo.emulator import start_moto_server

    backend = iam_backends[ACCOUNT_ID]["aws"]
    backend.create_group(GROUP, "/")
    seed_iam_backend(n, GROUP)
    backend.generate_report()  # a report already exists, as on a live account
    if modelled:
        from bench.cost_model import start_modelled_server

        server, endpoint = start_modelled_server()
    else:
        server, endpoint = start_moto_server()
    print(endpoint, flush=True)
    sys.stdin.read()  # until the parent closes our stdin
    server.stop()


class SeededServer:
    def __init__(self, n: int, *, modelled: bool = False) -> None:
        self.n = n
        self.modelled = modelled

    @property
    def pid(self) -> int:
        return self.process.pid

    def __enter__(self) -> str:
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "bench.bench_sweep",
                "--serve",
                str(self.n),
                *(["--modelled"] if self.modelled else []),
            ],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        return self.process.stdout.readline().strip()

    def __exit__(self, *exc: object) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()  # only the child this benchmark started


# --- the measurements ------------------------------------------------------------------------------


def measure_sweep(endpoint: str) -> dict[str, Any]:
    from core.aws.gateway import CallCounter
    from core.aws.iam import IamGateway, default_iam_client
    from core.model.alerts import RecordingSink
    from core.model.settings import build_settings
    from core.sweep.run import run_sweep

    counter = CallCounter()
    os.environ["AWS_ENDPOINT_URL"] = endpoint
    client = counter.attach(default_iam_client())  # the very client the Lambda and the CLI use
    settings = build_settings(ip_restriction=False)
    tracemalloc.start()
    started = time.perf_counter()
    result = run_sweep(IamGateway(client), RecordingSink(), settings)
    seconds = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {
        "calls": counter.total,
        "by_operation": dict(counter.calls),
        "seconds": seconds,
        "peak_mib": peak / 2**20,
        "findings": len(result.findings),
        "users": result.users_scanned,
    }


@dataclass
class Process:
    """One whole process against the server: wall clock, its CPU, the server's CPU, its IAM calls."""

    wall: float
    cpu: float
    server_cpu: float
    calls: dict[str, int]
    matched: int

    @property
    def total_calls(self) -> int:
        return sum(self.calls.values())


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a live process has used so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def timed_process(
    command: list[str], env: dict[str, str], server: SeededServer
) -> tuple[Any, float, float, float]:
    """(completed process, wall, its CPU, the server's CPU meanwhile), from spawn to exit."""
    server_before = cpu_seconds(server.pid)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    run = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600, check=False, cwd=ROOT)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return run, wall, cpu, cpu_seconds(server.pid) - server_before


def audit_process(endpoint: str, server: SeededServer) -> Process | str:
    """``iam-guard audit`` as a person runs it, against the server."""
    script = Path(sys.executable).parent / "iam-guard"
    command = [str(script)] if script.exists() else [sys.executable, "-m", "cli.main"]
    env = {
        **installed_environment(),
        **FAKE_AWS,
        "AWS_ENDPOINT_URL": endpoint,
        "PYTHONPATH": str(ROOT / "src"),
    }
    run, wall, cpu, server_cpu = timed_process(
        [*command, "audit", "--dry-run", "--format", "json"], env, server
    )
    if run.returncode != 0:
        return f"iam-guard audit failed: {(run.stderr.strip().splitlines() or ['no output'])[-1]}"
    report = json.loads(run.stdout)
    calls = {"iam (all operations)": int(report["iam_calls"])}
    return Process(wall, cpu, server_cpu, calls, len(report["findings"]))


def c7n_process(endpoint: str, server: SeededServer) -> Process | str:
    """Cloud Custodian's run on the same server, or why it was not run."""
    if not C7N_PYTHON.exists():
        return "not run: .venv-c7n missing (make .venv-c7n/.installed)"
    with tempfile.TemporaryDirectory() as tmp:
        policy = Path(tmp) / "policy.json"
        policy.write_text(json.dumps(C7N_POLICY))
        env = {**installed_environment(), **FAKE_AWS, "AWS_ENDPOINT_URL": endpoint}
        command = [str(C7N_PYTHON), "-c", C7N_DRIVER, str(policy), str(Path(tmp) / "out")]
        run, wall, cpu, server_cpu = timed_process(command, env, server)
        resources = Path(tmp) / "out" / "iam-users-without-mfa" / "resources.json"
        if run.returncode != 0 or not resources.exists():
            last = (run.stderr.strip().splitlines() or ["no output"])[-1]
            return f"not run: custodian failed ({last})"
        calls = json.loads(run.stdout.strip().splitlines()[-1])["calls"]
        return Process(wall, cpu, server_cpu, calls, len(json.loads(resources.read_text())))


def end_to_end(endpoint: str, server: SeededServer) -> tuple[Process | str, Process | str]:
    """Best (lowest wall) of E2E_REPEATS alternating runs of each; a failure is reported instead."""
    ours: list[Process | str] = []
    theirs: list[Process | str] = []
    audit_process(endpoint, server)  # warm the bytecode caches of both (not what is being compared)
    c7n_process(endpoint, server)
    for _ in range(E2E_REPEATS):
        ours.append(audit_process(endpoint, server))
        theirs.append(c7n_process(endpoint, server))
    return _best(ours), _best(theirs)


def _best(runs: list[Process | str]) -> Process | str:
    done = [r for r in runs if isinstance(r, Process)]
    return min(done, key=lambda r: r.wall) if done else runs[0]


def budget(n: int) -> int:
    return 10 + 3 * math.ceil(n / 1000)


def main() -> int:
    sys.path.insert(0, str(ROOT / "src"))
    os.environ.update(FAKE_AWS)  # never a real account: fake credentials, explicit loopback endpoints
    print(f"best of {REPEATS} runs per figure; wall = run_sweep only (imports and server seeding excluded)")
    print(f"{'N':>7} {'IAM calls':>10} {'budget':>7} {'wall s':>8} {'peak MiB':>9} {'findings':>9}")
    ours_at_c7n: dict[str, Any] | None = None
    comparison: tuple[Process | str, Process | str] = ("not run", "not run")
    for n in SIZES:
        server = SeededServer(n)
        with server as endpoint:
            m = min((measure_sweep(endpoint) for _ in range(REPEATS)), key=lambda r: r["seconds"])
            print(
                f"{n:>7} {m['calls']:>10} {budget(n):>7} {m['seconds']:>8.2f} "
                f"{m['peak_mib']:>9.1f} {m['findings']:>9}",
                flush=True,
            )
            if n == C7N_AT:
                ours_at_c7n = m
                comparison = end_to_end(endpoint, server)
    if ours_at_c7n:
        print(f"calls at N={C7N_AT}: {ours_at_c7n['by_operation']}")
    print_comparison(*comparison)
    return 0


def print_comparison(ours: Process | str, c7n: Process | str) -> None:
    print(
        f"\nEnd to end at N={C7N_AT}, same server, whole processes, best of {E2E_REPEATS} alternating runs:"
    )
    print(f"  {'':<44} {'wall s':>7} {'CPU s':>7} {'server CPU s':>13} {'IAM calls':>10} {'matched':>8}")
    for name, run in (
        ("iam-guard audit --dry-run", ours),
        ("Cloud Custodian iam-user + credential filter", c7n),
    ):
        if isinstance(run, str):
            print(f"  {name:<44} {run}")
            continue
        print(
            f"  {name:<44} {run.wall:>7.2f} {run.cpu:>7.2f} {run.server_cpu:>13.2f} "
            f"{run.total_calls:>10} {run.matched:>8}"
        )
    if isinstance(ours, str) or isinstance(c7n, str):
        return
    print(f"  c7n calls: {c7n.calls}")
    print(
        f"  ratio (c7n / iam-guard): {c7n.wall / ours.wall:.1f}x faster end to end (wall), "
        f"{(c7n.cpu + c7n.server_cpu) / (ours.cpu + ours.server_cpu):.1f}x less CPU (client + server), "
        f"{c7n.total_calls / ours.total_calls:.0f}x fewer calls"
    )
    print(
        "  (c7n matches every user whose report row says no MFA; the audit reports only users it finds a"
        " credential without MFA for, exempt users and the root user)"
    )


if __name__ == "__main__":
    if len(sys.argv) in (3, 4) and sys.argv[1] == "--serve":
        serve(int(sys.argv[2]), modelled=sys.argv[3:] == ["--modelled"])
        sys.exit(0)
    sys.exit(main())
