"""Side by side under the cost model: ``iam-guard audit`` against Cloud Custodian's ``credential`` and
``mfa-device`` jobs, at 1,000 and 5,000 users, 0 and 50 ms per call, report warm and delayed; peak memory.

Run from the repository root: ``python -m bench.bench_cost`` (``make bench`` runs it with the others).
Flags (or environment): ``--latency-ms`` (``BENCH_LATENCY_MS``, default 50), ``--report-delay``
(``BENCH_REPORT_DELAY_S``, default 5), ``--throttle-rps`` / ``--throttle-burst`` (``BENCH_THROTTLE_RPS``,
default 0: off), ``--sizes`` (``BENCH_COST_SIZES``, default ``1000,5000``).

The model (``bench.cost_model``): a chosen latency per call, a chosen report delay with IAM's
``STARTED``/``INPROGRESS`` and ``ReportInProgress``, an optional throttle; the latency is played on a
virtual clock, so a modelled 50 s run of calls costs its real (emulator) time only; sleeps are real.
Each job is a whole process from spawn to exit, against the same seeded server (``bench.bench_sweep``'s
state), in the same run.

Figures per job: modelled wall (real wall + the latency on its critical path), its own CPU, the
emulator's CPU during it, calls (report polls apart) and, for ours, the **floor**: the calls it cannot do
without on its critical path x latency + the report delay + its processing (the same job's real wall at
0 ms with the report warm: interpreter start, its own CPU and the emulator's service time). Where nothing
depends on the clock (report warm, no throttle) one run gives both latencies: the clock only adds
``calls x latency`` on the critical path.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from bench import FAKE_AWS, installed_environment
from bench.bench_sweep import SeededServer, budget, cpu_seconds
from bench.cost_model import (
    DEFAULT_LATENCY,
    DEFAULT_REPORT_DELAY,
    SETTINGS_NOTE,
    CostModel,
    Trace,
    read_trace,
)

ROOT = Path(__file__).resolve().parents[1]
C7N_PYTHON = ROOT / ".venv-c7n" / "bin" / "python"
PROWLER_PYTHON = ROOT / ".venv-prowler" / "bin" / "python"
# Prowler's check for the same question (console users without MFA), read from the credential report.
PROWLER_CHECK = "iam_user_mfa_enabled_console_access"
# Above this N, Cloud Custodian runs only its credential job, warm and delayed at the model's latency
# (its other runs take minutes each there); --full-c7n-up-to 5000 runs them all.
FULL_C7N_UP_TO = 1_000
OURS_REPEATS = 3  # ours is cheap: best of 3; Cloud Custodian's jobs run once per setting
POLL_LIMIT = 20
MEMORY_SHARE = 0.60

# Targets (issue 27), printed beside the figures; nothing passes or fails.
FLOOR_TARGET = 1.3
C7N_TARGETS = {(1_000, False): 50, (5_000, False): 150, (1_000, True): 10, (5_000, True): 35}

C7N_CREDENTIAL = {
    "name": "credential",
    "resource": "iam-user",
    # report_max_age: moto dates every report 2015; reuse it as IAM would reuse a warm one.
    "filters": [{"type": "credential", "key": "mfa_active", "value": False, "report_max_age": 10**10}],
}
C7N_MFA = {
    "name": "mfa-device",
    "resource": "iam-user",
    "filters": [{"type": "mfa-device", "value": "empty"}],
}


@dataclass
class Job:
    name: str
    wall: float  # modelled: real wall + virtual critical path
    real: float
    server_cpu: float
    trace: Trace
    matched: int
    floor: float | None = None

    @property
    def calls(self) -> int:
        return self.trace.total

    @property
    def polls(self) -> int:
        return self.trace.polls


def settings_from_arguments() -> tuple[CostModel, tuple[int, ...], int]:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_cost")
    env = os.environ.get
    parser.add_argument("--latency-ms", type=float, default=float(env("BENCH_LATENCY_MS", "50")))
    parser.add_argument("--report-delay", type=float, default=float(env("BENCH_REPORT_DELAY_S", "5")))
    parser.add_argument("--throttle-rps", type=float, default=float(env("BENCH_THROTTLE_RPS", "0")))
    parser.add_argument("--throttle-burst", type=int, default=int(env("BENCH_THROTTLE_BURST", "0")))
    parser.add_argument("--sizes", default=env("BENCH_COST_SIZES", "1000,5000"))
    parser.add_argument(
        "--full-c7n-up-to", type=int, default=int(env("BENCH_COST_FULL_C7N_UP_TO", str(FULL_C7N_UP_TO)))
    )
    args, _ = parser.parse_known_args(sys.argv[1:])
    model = CostModel(
        latency=args.latency_ms / 1000 if args.latency_ms >= 0 else DEFAULT_LATENCY,
        report_delay=args.report_delay if args.report_delay >= 0 else DEFAULT_REPORT_DELAY,
        throttle_rps=args.throttle_rps,
        throttle_burst=args.throttle_burst,
    )
    return model, tuple(int(s) for s in args.sizes.split(",") if s.strip()), args.full_c7n_up_to


def run_modelled(
    name: str, python: Path, program: list[str], model: CostModel, endpoint: str, server: SeededServer
) -> tuple[float, float, Trace, subprocess.CompletedProcess[str]]:
    """One whole process under the model: (real wall, server CPU, trace, the completed process)."""
    with tempfile.TemporaryDirectory() as tmp:
        result = Path(tmp) / "trace.json"
        python_path = [str(ROOT)] + ([str(ROOT / "src")] if name == "ours" else [])
        env = {
            **installed_environment(),
            **FAKE_AWS,
            "AWS_ENDPOINT_URL": endpoint,
            "PYTHONPATH": os.pathsep.join(python_path),
        }
        command = [str(python), "-m", "bench.cost_model", str(result), model.encode(), uuid.uuid4().hex]
        server_before = cpu_seconds(server.pid)
        started = time.perf_counter()
        run = subprocess.run(
            [*command, "--", *program],
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
            cwd=tmp,
            check=False,
        )
        real = time.perf_counter() - started
        server_cpu = cpu_seconds(server.pid) - server_before
        if not result.exists():
            raise RuntimeError(f"{name}: no trace ({(run.stderr.strip().splitlines() or ['?'])[-1]})")
        return real, server_cpu, read_trace(str(result)), run


def ours(model: CostModel, endpoint: str, server: SeededServer) -> Job | str:
    real, server_cpu, trace, run = run_modelled(
        "ours",
        Path(sys.executable),
        ["cli", "audit", "--dry-run", "--format", "json"],
        model,
        endpoint,
        server,
    )
    if run.returncode != 0:
        return f"failed: {(run.stderr.strip().splitlines() or ['no output'])[-1]}"
    findings = len(json.loads(run.stdout)["findings"])
    return Job("iam-guard audit --dry-run", real + trace.virtual, real, server_cpu, trace, findings)


def custodian(policy: dict[str, Any], model: CostModel, endpoint: str, server: SeededServer) -> Job | str:
    if not C7N_PYTHON.exists():
        return "not run: .venv-c7n missing (make .venv-c7n/.installed)"
    with tempfile.TemporaryDirectory() as tmp:
        policy_file = Path(tmp) / "policy.json"
        policy_file.write_text(json.dumps({"policies": [policy]}))
        out = Path(tmp) / "out"
        program = ["custodian", "run", "--cache-period", "0", "-s", str(out), "--region", "us-east-1"]
        real, server_cpu, trace, run = run_modelled(
            "c7n", C7N_PYTHON, [*program, str(policy_file)], model, endpoint, server
        )
        resources = out / policy["name"] / "resources.json"
        if not resources.exists():
            return f"not run: custodian failed ({(run.stderr.strip().splitlines() or ['no output'])[-1]})"
        matched = len(json.loads(resources.read_text()))
    return Job(f"Cloud Custodian {policy['name']}", real + trace.virtual, real, server_cpu, trace, matched)


def prowler(model: CostModel, endpoint: str, server: SeededServer) -> Job | str:
    if not PROWLER_PYTHON.exists():
        return "not run: .venv-prowler missing (make .venv-prowler/.installed)"
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out"
        program = [
            "prowler",
            "aws",
            "--checks",
            PROWLER_CHECK,
            "--region",
            "us-east-1",
            "--output-formats",
            "json-ocsf",
            "--output-directory",
            str(out),
            "--no-banner",
            "--ignore-exit-code-3",  # 3 = findings failed, which is the point here
        ]
        real, server_cpu, trace, run = run_modelled(
            "prowler", PROWLER_PYTHON, program, model, endpoint, server
        )
        reports = sorted(out.glob("*.ocsf.json"))
        if run.returncode != 0 or not reports:
            return f"not run: prowler failed ({(run.stderr.strip().splitlines() or ['no output'])[-1]})"
        matched = sum(1 for f in json.loads(reports[-1].read_text()) if f.get("status_code") == "FAIL")
    return Job(f"Prowler {PROWLER_CHECK}", real + trace.virtual, real, server_cpu, trace, matched)


def best_of_ours(model: CostModel, endpoint: str, server: SeededServer) -> Job | str:
    runs = [ours(model, endpoint, server) for _ in range(OURS_REPEATS)]
    done = [r for r in runs if isinstance(r, Job)]
    return min(done, key=lambda r: r.wall) if done else runs[0]


def at_latency(job: Job | str, latency: float, model: CostModel) -> Job | str:
    """The same run, read at another latency (valid only where nothing depends on the clock)."""
    if isinstance(job, str):
        return job
    scaled = job.trace.at_latency(latency)
    return replace(job, wall=job.real + scaled.virtual, trace=scaled)


def with_floor(job: Job | str, latency: float, delay: float, processing: float) -> Job | str:
    """Ours: the calls it cannot do without x latency + the report delay + its processing time.

    The calls are those on its critical path (``bench.cost_model.floor_path``): the account-wide reads
    go out at once and the per-user reads 8 at a time (``core.sweep.report``), so each pool counts as
    its slowest worker, and the report's thread as the polls it needs (2 warm; 3 and the delay late)."""
    if isinstance(job, str):
        return job
    return replace(job, floor=job.trace.at_latency(latency).floor(delay) + processing)


def measure_size(
    n: int, model: CostModel, full_c7n_up_to: int = FULL_C7N_UP_TO
) -> dict[tuple[str, float, float], Job | str]:
    """Every job at every setting for ``n`` users: key (job, latency, report delay)."""
    latency, delay = model.latency, model.report_delay
    results: dict[tuple[str, float, float], Job | str] = {}
    warm = replace(model, report_delay=0.0)
    delayed = [replace(model, latency=lat) for lat in (0.0, latency)] if delay else []
    server = SeededServer(n, modelled=True)
    with server as endpoint:
        ours(warm, endpoint, server)  # warm the bytecode caches (not what is compared)
        clock_free = not model.throttle_rps
        large = n > full_c7n_up_to  # Cloud Custodian's runs take minutes here: fewer settings
        for name, job in (
            ("ours", lambda m: best_of_ours(m, endpoint, server)),
            ("credential", lambda m: custodian(C7N_CREDENTIAL, m, endpoint, server)),
            ("mfa-device", lambda m: custodian(C7N_MFA, m, endpoint, server)),
            ("prowler", lambda m: prowler(m, endpoint, server)),
        ):
            if name in ("mfa-device", "prowler") and large:
                continue
            if clock_free:
                run = job(warm)
                for lat in (0.0, latency):
                    results[(name, lat, 0.0)] = at_latency(run, lat, model)
            else:
                for lat in (0.0, latency):
                    results[(name, lat, 0.0)] = job(replace(warm, latency=lat))
            if name == "mfa-device":  # reads no credential report: the delay does not reach it
                continue
            for m in delayed:
                if name == "prowler" and m.latency != latency:  # one delayed run: Prowler starts slowly
                    continue
                if name == "ours" or not large or m.latency == latency:
                    results[(name, m.latency, delay)] = job(m)
    base = results.get(("ours", 0.0, 0.0))
    if isinstance(base, Job):  # processing: the warm run's real wall at 0 ms (start, imports, parsing)
        for (name, lat, dly), job in list(results.items()):
            if name == "ours":
                results[(name, lat, dly)] = with_floor(job, lat, dly, base.real)
    return results


def memory_size() -> int:
    from tests.e2e.template_env import load_template

    template = load_template()
    own = template["Resources"]["SweepFunction"]["Properties"].get("MemorySize")
    return int(own or template["Globals"]["Function"]["MemorySize"])


def report_label(delay: float) -> str:
    return f"+{delay:g} s" if delay else "warm"


LABELS = {
    "ours": "iam-guard audit --dry-run",
    "credential": "c7n credential filter",
    "mfa-device": "c7n mfa-device filter",
    "prowler": "Prowler console-MFA check",
}


def print_size(n: int, model: CostModel, results: dict[tuple[str, float, float], Job | str]) -> None:
    latency, delay = model.latency, model.report_delay
    print(f"\n   N = {n:,} users (model: {model.describe()})")
    print(
        f"   {'job':<30} {'ms/call':>7} {'report':>7} {'wall s':>8} {'floor s':>8} {'wall/floor':>10}"
        f" {'calls':>6} {'polls':>5} {'CPU s':>6} {'emu CPU s':>9} {'matched':>7}"
    )
    for (name, lat, dly), job in results.items():
        report = report_label(dly)
        label = LABELS[name]
        if isinstance(job, str):
            print(f"   {label:<30} {1000 * lat:>7g} {report:>7} {job}")
            continue
        floor = f"{job.floor:>8.2f} {job.wall / job.floor:>9.2f}x" if job.floor else f"{'-':>8} {'-':>10}"
        print(
            f"   {label:<30} {1000 * lat:>7g} {report:>7} {job.wall:>8.2f} {floor} {job.calls - job.polls:>6}"
            f" {job.polls:>5} {job.trace.cpu:>6.2f} {job.server_cpu:>9.2f} {job.matched:>7}"
        )
    ours_warm = results.get(("ours", latency, 0.0))
    if isinstance(ours_warm, Job):
        other = ours_warm.calls - ours_warm.polls
        print(
            f"   ours: {other} calls besides the report polls (budget {budget(n)}: "
            "19 + 3 x ceil(N/1000) + 1 + T,"
            f" docs/sweep.md); polls at +{delay:g} s: "
            + ", ".join(
                f"{job.polls} at {1000 * lat:g} ms"
                for (name, lat, dly), job in results.items()
                if name == "ours" and dly and isinstance(job, Job)
            )
            + f" (target <= {POLL_LIMIT})"
        )
        terms = ", ".join(f"{op.split(':')[-1]} {k}" for op, k in sorted(ours_warm.trace.calls.items()))
        print(f"   ours, each term (report warm): {terms}")
        for (name, lat, dly), job in results.items():
            if name == "ours" and lat == latency and isinstance(job, Job) and job.floor:
                print(
                    f"   ours at {1000 * lat:g} ms, report {report_label(dly)}: wall/floor "
                    f"{job.wall / job.floor:.2f}x (target <= {FLOOR_TARGET}x)"
                )
    for dly in (0.0, delay) if delay else (0.0,):
        for lat in (0.0, latency):
            mine, theirs = results.get(("ours", lat, dly)), results.get(("credential", lat, dly))
            if not isinstance(mine, Job) or not isinstance(theirs, Job):
                continue
            target = C7N_TARGETS.get((n, bool(dly))) if lat == latency else None
            mfa = results.get(("mfa-device", lat, 0.0))
            mfa_ratio = f", mfa-device job {mfa.wall / mine.wall:.0f}x" if isinstance(mfa, Job) else ""
            print(
                f"   c7n / ours at {1000 * lat:g} ms, report {report_label(dly)}: "
                f"credential job {theirs.wall / mine.wall:.1f}x{mfa_ratio}"
                + (f" (target >= {target}x, credential job)" if target else "")
            )


def print_prowler_ratios(results: dict[tuple[str, float, float], Job | str]) -> None:
    for (name, lat, dly), peer in results.items():
        mine = results.get(("ours", lat, dly))
        if name == "prowler" and isinstance(peer, Job) and isinstance(mine, Job):
            print(
                f"   Prowler / ours at {1000 * lat:g} ms, report {report_label(dly)}:"
                f" {peer.wall / mine.wall:.1f}x"
                f" ({peer.calls - peer.polls} calls and {peer.polls} report polls against our"
                f" {mine.calls - mine.polls} and {mine.polls})"
            )


def main() -> int:
    sys.path.insert(0, str(ROOT / "src"))
    os.environ.update(FAKE_AWS)
    model, sizes, full_c7n_up_to = settings_from_arguments()
    print(f"   {SETTINGS_NOTE}")
    print(
        f"   model: {model.describe()}; latency on a virtual clock, sleeps real (bench/cost_model.py),"
        " whole processes"
    )
    print(
        "   floor (ours) = calls it cannot do without, on its critical path (the account-wide reads go out at"
        " once, the per-user reads 8 at a time: each pool its slowest worker), x latency + report delay"
        " + its processing (its real"
        f" wall at 0 ms, report warm); Cloud Custodian's mfa-device job runs up to N = {full_c7n_up_to:,}"
    )
    print(
        f"   Prowler: its {PROWLER_CHECK} check (credential report), up to N = {full_c7n_up_to:,},"
        " warm at both latencies from one run and once delayed at the model's latency"
        " (.venv-prowler: make bench installs it)"
    )
    memory: Job | str = "not measured"
    for n in sizes:
        results = measure_size(n, model, full_c7n_up_to)
        print_size(n, model, results)
        print_prowler_ratios(results)
        memory = results.get(("ours", model.latency, 0.0), memory)
        sys.stdout.flush()
    if isinstance(memory, Job):
        mib, limit = memory.trace.max_rss_mib, memory_size()
        print(
            f"\n   peak RSS of iam-guard audit at N = {max(sizes):,}: {mib:.0f} MiB = "
            f"{100 * mib / limit:.0f}% of SweepFunction's MemorySize {limit} MB "
            f"(target < {100 * MEMORY_SHARE:.0f}%: {math.floor(MEMORY_SHARE * limit)} MB)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
