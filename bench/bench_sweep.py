"""Sweep benchmark: IAM calls, wall time and peak memory for N = 100, 1,000, 10,000 users on moto.

Run from the repository root: ``python -m bench.bench_sweep`` (``make bench`` runs it with the others).

For each N a child process seeds moto's IAM backend directly (the API would take minutes at 10,000
users) and serves it with ``ThreadedMotoServer`` on 127.0.0.1; this process then runs ``run_sweep``
against it over HTTP, counting IAM calls with ``core.aws.CallCounter`` and Python allocations with
``tracemalloc`` (the server lives in the child, so its memory is not counted).

The state: every user in the secured group; every 10th has a console password, every 7th an access key,
every 21st a virtual MFA device. The credential report is generated once before timing, as on a real
account where IAM reuses a report younger than 4 hours (moto answers STARTED to the very first request).

Cloud Custodian comparison (N = 1,000): if ``.venv-c7n/bin/python`` exists (a throwaway venv with PyPI
``c7n``; it pins its own boto3, so it never goes into .venv), an ``iam-user`` policy with the
``credential`` filter (``mfa_active: false``) runs against the same server; its calls are counted by
wrapping botocore's ``_make_api_call`` in that process. Create it with:
``python3 -m venv .venv-c7n && .venv-c7n/bin/pip install c7n``.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SIZES = (100, 1_000, 10_000)
C7N_AT = 1_000
REPEATS = 3  # the machine is shared: each figure is the best of REPEATS runs
C7N_PYTHON = ROOT / ".venv-c7n" / "bin" / "python"
GROUP = "IAMGuardSecuredUsers"
ACCOUNT_ID = "123456789012"

FAKE_AWS = {
    "AWS_ACCESS_KEY_ID": "bench",
    "AWS_SECRET_ACCESS_KEY": "bench",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    "AWS_EC2_METADATA_DISABLED": "true",
}

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
started = time.perf_counter()
try:
    main()
except SystemExit:
    pass
print(json.dumps({"seconds": time.perf_counter() - started, "calls": counts}))
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


def serve(n: int) -> None:
    """Seed moto's backend with ``n`` users, serve it on 127.0.0.1, print the endpoint, wait for stdin."""
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
    server, endpoint = start_moto_server()
    print(endpoint, flush=True)
    sys.stdin.read()  # until the parent closes our stdin
    server.stop()


class SeededServer:
    def __init__(self, n: int) -> None:
        self.n = n

    def __enter__(self) -> str:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bench.bench_sweep", "--serve", str(self.n)],
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
    from core.alerts import RecordingSink
    from core.aws import CallCounter
    from core.iam import IamGateway, default_iam_client
    from core.settings import build_settings
    from core.sweep import run_sweep

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


def measure_c7n(endpoint: str) -> dict[str, Any] | str:
    """Cloud Custodian's run on the same server, or why it was not run."""
    if not C7N_PYTHON.exists():
        return "not run: .venv-c7n missing (python3 -m venv .venv-c7n && .venv-c7n/bin/pip install c7n)"
    with tempfile.TemporaryDirectory() as tmp:
        policy = Path(tmp) / "policy.json"
        policy.write_text(json.dumps(C7N_POLICY))
        env = {**os.environ, **FAKE_AWS, "AWS_ENDPOINT_URL": endpoint}
        run = subprocess.run(
            [str(C7N_PYTHON), "-c", C7N_DRIVER, str(policy), str(Path(tmp) / "out")],
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        resources = Path(tmp) / "out" / "iam-users-without-mfa" / "resources.json"
        if run.returncode != 0 or not resources.exists():
            last = (run.stderr.strip().splitlines() or ["no output"])[-1]
            return f"not run: custodian failed ({last})"
        data: dict[str, Any] = json.loads(run.stdout.strip().splitlines()[-1])
        data["matched"] = len(json.loads(resources.read_text()))
        return data


def best_c7n(endpoint: str) -> dict[str, Any] | str:
    runs = [measure_c7n(endpoint) for _ in range(REPEATS)]
    done = [r for r in runs if not isinstance(r, str)]
    return min(done, key=lambda r: float(r["seconds"])) if done else runs[0]


def budget(n: int) -> int:
    return 10 + 3 * math.ceil(n / 1000)


def main() -> int:
    sys.path.insert(0, str(ROOT / "src"))
    os.environ.update(FAKE_AWS)  # never a real account: fake credentials, explicit loopback endpoints
    print(f"best of {REPEATS} runs per figure; wall = run_sweep only (imports and server seeding excluded)")
    print(f"{'N':>7} {'IAM calls':>10} {'budget':>7} {'wall s':>8} {'peak MiB':>9} {'findings':>9}")
    ours_at_c7n: dict[str, Any] | None = None
    c7n: dict[str, Any] | str = "not run"
    for n in SIZES:
        with SeededServer(n) as endpoint:
            m = min((measure_sweep(endpoint) for _ in range(REPEATS)), key=lambda r: r["seconds"])
            print(
                f"{n:>7} {m['calls']:>10} {budget(n):>7} {m['seconds']:>8.2f} "
                f"{m['peak_mib']:>9.1f} {m['findings']:>9}",
                flush=True,
            )
            if n == C7N_AT:
                ours_at_c7n = m
                c7n = best_c7n(endpoint)
    if ours_at_c7n:
        print(f"calls at N={C7N_AT}: {ours_at_c7n['by_operation']}")
    print_comparison(ours_at_c7n, c7n)
    return 0


def print_comparison(ours: dict[str, Any] | None, c7n: dict[str, Any] | str) -> None:
    print(f"\nCloud Custodian iam-user + credential filter at N={C7N_AT}:")
    if isinstance(c7n, str) or ours is None:
        print(f"  {c7n}")
        return
    calls = sum(c7n["calls"].values())
    print(f"  c7n: {calls} calls, {c7n['seconds']:.2f} s, {c7n['matched']} users matched")
    print(f"  c7n calls: {dict(c7n['calls'])}")
    print(f"  iam-guard sweep: {ours['calls']} calls, {ours['seconds']:.2f} s, {ours['findings']} findings")
    print(
        f"  ratio (c7n / iam-guard): {calls / ours['calls']:.0f}x fewer calls, "
        f"{c7n['seconds'] / ours['seconds']:.1f}x faster"
    )


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--serve":
        serve(int(sys.argv[2]))
        sys.exit(0)
    sys.exit(main())
