"""Sweep benchmark: IAM calls, wall time and peak memory for N = 100, 1,000 and 5,000 users on moto.

Run from the repository root: ``python -m bench.bench_sweep`` (``make bench`` runs it with the others).

For each N a child process seeds moto's IAM backend directly (the API would take minutes at 10,000
users) and serves it with ``ThreadedMotoServer`` on 127.0.0.1; this process then runs ``run_sweep``
against it over HTTP, counting IAM calls with ``core.aws.gateway.CallCounter`` and Python allocations with
``tracemalloc`` (the server lives in the child, so its memory is not counted).

The state: every user in the secured group; every 10th has a console password, every 7th an access key,
every 21st a virtual MFA device, every 35th / 49th without one a FIDO key / a hardware TOTP token (the
per-user ``ListMFADevices`` reads of ``cli-user-without-totp``, counted in the budget). The credential
report is generated once before timing, as on a real account where IAM reuses a report younger than
4 hours (moto answers STARTED to the very first request).

The side-by-side with Cloud Custodian, under the cost model (a latency per call, a report delay), is
``bench.bench_cost``; it reuses this module's seeded server (``SeededServer``).
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any

from bench import FAKE_AWS

ROOT = Path(__file__).resolve().parents[1]
SIZES = (100, 1_000, 5_000)  # 5,000: IAM's quota of users per account
REPEATS = 3  # the machine is shared: each figure is the best of REPEATS runs
GROUP = "IAMGuardSecuredUsers"
ACCOUNT_ID = "123456789012"


# --- the child: a seeded moto server ---------------------------------------------------------------


def serve(n: int, modelled: bool = False) -> None:
    """Seed moto's backend with ``n`` users, serve it on 127.0.0.1, print the endpoint, wait for stdin.

    ``modelled``: behind ``bench.cost_model.ModelledIam`` (the report delay and throttle of the cost model,
    for requests that carry its header)."""
    os.environ.update(FAKE_AWS)
    import logging

    # No access log on the benchmark's output, and no traceback for a call moto has not implemented
    # (a peer's extra reads, such as Prowler's ListOrganizationsFeatures: it gets HTTP 500 and goes on).
    logging.getLogger("werkzeug").setLevel(logging.CRITICAL)
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


def measure_sweep(endpoint: str, ssh_key_audit_users_per_run: int = 0) -> dict[str, Any]:
    from core.aws.gateway import CallCounter
    from core.aws.iam import IamGateway, default_iam_client
    from core.model.alerts import RecordingSink
    from core.model.settings import build_settings
    from core.sweep.run import run_sweep

    counter = CallCounter()
    os.environ["AWS_ENDPOINT_URL"] = endpoint
    client = counter.attach(default_iam_client())  # the very client the Lambda and the CLI use
    settings = build_settings(ip_restriction=False, ssh_key_audit_users_per_run=ssh_key_audit_users_per_run)
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


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a live process has used so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def budget(n: int, service_credentials: int = 0, *, totp: int | None = None) -> int:
    """docs/sweep.md's budget, report polls included: 19 fixed (16 report attempts, GetCredentialReport,
    GetAccountSummary, GetAccountPasswordPolicy), 3 listings by 1,000 users, the service-credential
    listing's pages, and one ``ListMFADevices`` per user with a key and MFA but no virtual device (T: the
    seeded account's, ``tests.harness.large_account.totp_reads``, unless given)."""
    if totp is None:
        from tests.harness.large_account import totp_reads

        totp = totp_reads(n)
    return 19 + 3 * math.ceil(n / 1000) + max(1, math.ceil(service_credentials / 1000)) + totp


def ssh_term(n: int, per_run: int) -> str:
    """The opt-in SSH-key audit's term of the budget (``SshKeyAuditUsersPerRun``): about ``per_run``
    ``ListSSHPublicKeys`` a run, each user once every ceil(N / per_run) days."""
    days = math.ceil(n / per_run) if per_run else 0
    return f"+~{min(per_run, n)} ListSSHPublicKeys a run, every user once in {days} day(s)"


SSH_AUDIT_PER_RUN = 100  # the opt-in term printed at N = 1,000 (SshKeyAuditUsersPerRun)


def main() -> int:
    sys.path.insert(0, str(ROOT / "src"))
    os.environ.update(FAKE_AWS)  # never a real account: fake credentials, explicit loopback endpoints
    print(f"best of {REPEATS} runs per figure; wall = run_sweep only (imports and server seeding excluded)")
    print("moto over loopback, no cost model (bench.bench_cost adds one)")
    print(f"{'N':>7} {'IAM calls':>10} {'budget':>7} {'wall s':>8} {'peak MiB':>9} {'findings':>9}")
    by_operation: dict[str, int] = {}
    ssh: dict[str, Any] = {"calls": 0, "by_operation": {}}
    for n in SIZES:
        server = SeededServer(n)
        with server as endpoint:
            m = min((measure_sweep(endpoint) for _ in range(REPEATS)), key=lambda r: r["seconds"])
            print(
                f"{n:>7} {m['calls']:>10} {budget(n):>7} {m['seconds']:>8.2f} "
                f"{m['peak_mib']:>9.1f} {m['findings']:>9}",
                flush=True,
            )
            if n == 1_000:
                by_operation = m["by_operation"]
                ssh = measure_sweep(endpoint, SSH_AUDIT_PER_RUN)
    print(f"calls at N=1000: {by_operation}")
    from tests.harness.large_account import totp_reads

    print(
        f"per-user term at N=1000: ListMFADevices {by_operation.get('iam:ListMFADevices', 0)} "
        f"(budget T = {totp_reads(1_000)}: users with a key and MFA the report shows, no virtual device)"
    )
    extra = ssh["by_operation"].get("iam:ListSSHPublicKeys", 0)
    print(
        f"opt-in SshKeyAuditUsersPerRun={SSH_AUDIT_PER_RUN} at N=1000: {ssh['calls']} IAM calls, of which "
        f"{extra} ListSSHPublicKeys (budget term: {ssh_term(1_000, SSH_AUDIT_PER_RUN)})"
    )
    print("peak MiB: Python allocations of run_sweep (tracemalloc); the process's RSS is in bench.bench_cost")
    return 0


if __name__ == "__main__":
    if len(sys.argv) in (3, 4) and sys.argv[1] == "--serve":
        serve(int(sys.argv[2]), modelled=sys.argv[3:] == ["--modelled"])
        sys.exit(0)
    sys.exit(main())
