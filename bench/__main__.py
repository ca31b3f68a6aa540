"""``python -m bench`` (``make bench``): run every benchmark and print its own table.

Each area's benchmark is a module of this package with a ``__main__`` block; a missing one is reported
and skipped. The figures are ratios and call counts to compare runs, not pass/fail thresholds.
"""

from __future__ import annotations

import importlib.util
import os
import platform
import runpy
import sys
import time

BENCHMARKS = (
    ("bench.bench_start", "start-up: each function's import vs a bare boto3 import; the CLI's start"),
    ("bench.bench_enforcer", "enforcer: IAM calls per event, steady state vs first run"),
    ("bench.bench_sweep", "sweep: IAM calls, wall time and memory per run as users grow, on moto"),
    (
        "bench.bench_cost",
        "sweep under the cost model: iam-guard audit vs Cloud Custodian, wall / floor, peak memory",
    ),
    ("bench.bench_demo", "the demo story: AWS calls per step, end to end"),
    ("bench.bench_org", "organizations: the org sweep over 10, 100 and 1,000 member accounts, cost model on"),
)


def header() -> str:
    cores = os.cpu_count() or 0
    python = f"{platform.python_implementation()} {platform.python_version()}"
    return "\n".join(
        [
            "IAM Guard benchmarks",
            f"machine: {platform.machine()} {platform.system()}, {cores} cores, {python}",
            "figures are call counts and ratios to compare runs; timings depend on this machine.",
            "nothing here passes or fails.",
        ]
    )


def run_one(module: str, title: str) -> str:
    """Run one benchmark; return "ran", "missing" or "broken" (a crash is a bug, not a slow figure)."""
    print(f"\n== {title} ({module})", flush=True)
    if importlib.util.find_spec(module) is None:
        print("   not available yet (module missing): skipped", flush=True)
        return "missing"
    started = time.perf_counter()
    try:
        runpy.run_module(module, run_name="__main__", alter_sys=True)
    except SystemExit as exc:  # a benchmark that ends with sys.exit(0) is fine
        if exc.code not in (None, 0):
            print(f"   broken: exited with {exc.code}", flush=True)
            return "broken"
    except Exception as exc:  # report and go on with the other benchmarks
        print(f"   broken: {type(exc).__name__}: {exc}", flush=True)
        return "broken"
    print(f"   ({time.perf_counter() - started:.1f} s wall)", flush=True)
    return "ran"


def main() -> int:
    print(header(), flush=True)
    outcomes = [run_one(module, title) for module, title in BENCHMARKS]
    summary = ", ".join(f"{outcomes.count(o)} {o}" for o in ("ran", "missing", "broken") if o in outcomes)
    print(f"\nbenchmarks: {summary}.")
    return 1 if "broken" in outcomes else 0


if __name__ == "__main__":
    sys.exit(main())
