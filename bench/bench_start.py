"""Start-up benchmark: what a cold start of each Lambda function, and a start of the CLI, loads and costs.

Run from the repository root: ``python -m bench.bench_start`` (``make bench`` runs it with the others).

1. Functions: for every function in template.yaml (read from the template, with its ``Handler``), a fresh
   interpreter imports ``boto3`` and then the handler module, with the environment template.yaml gives
   that function (parameter defaults; then again with ``Tracing=true``) plus what the Lambda runtime sets
   (``LAMBDA_TASK_ROOT`` and friends, so a traced function patches what it would patch in Lambda).
   Figure: boto3 + handler, divided by a bare ``import boto3``; each side is the best of ``REPEATS``
   fresh processes of the same run, interleaved in random order, timed inside the process from before
   ``import boto3`` to after the handler (interpreter start-up excluded from both). Then what the
   handler adds to boto3, by package (self time from ``python -X importtime``, one run).
   A third column, "no bytecode": the layer and our code shipped as source only, as ``sam build`` does
   when no Python 3.13 is at hand to compile them (layer/Makefile): Lambda's file system is read-only,
   so then every cold start compiles them. Simulated with ``PYTHONPYCACHEPREFIX``: a cache holding
   everything but the layer's packages and src/ (boto3 and the standard library come compiled with the
   runtime - an assumption about the runtime image), never written to.
2. CLI: wall clock of whole ``iam-guard`` processes (interpreter start-up included: it is what a person
   waits for) next to ``python -c pass`` and ``python -c "import boto3"``, and which heavy packages each
   command loaded.

Timings depend on this (shared) machine; the ratios are what to compare between runs. Never pass/fail.
"""

from __future__ import annotations

import importlib.metadata
import json
import random
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import installed_environment

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"
REPEATS = 7
TRACING_ON = {"Tracing": "true"}
TARGET_RATIO = 1.3  # a handler's import next to boto3's (issue 15)
# Packages worth naming when a command loads them (the rest is the standard library and our own code).
HEAVY = ("boto3", "botocore", "s3transfer", "moto", "pydantic", "aws_lambda_powertools", "aws_xray_sdk")
# What the Lambda runtime sets before it imports a handler.
LAMBDA_RUNTIME = {
    "LAMBDA_TASK_ROOT": str(SRC),
    "AWS_LAMBDA_FUNCTION_NAME": "iam-guard-bench",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
    "AWS_EXECUTION_ENV": "AWS_Lambda_python3.13",
    "AWS_REGION": "us-east-1",
    "AWS_DEFAULT_REGION": "us-east-1",
}

# Libraries the X-Ray SDK patches when it finds them that a deployed function does not have (neither the
# runtime nor the layer ships them; this venv has requests, from moto): hidden from the child, so "tracing
# on" patches what it would patch in Lambda (botocore, sqlite3, http.client).
NOT_IN_LAMBDA = ("requests", "httpx", "aiobotocore", "pynamodb", "pymongo", "pymysql", "psycopg2", "psycopg")

# The child: time `import boto3`, then the module named in argv (if any), from inside the process:
# wall clock, and CPU time (which other processes on a busy machine disturb far less).
TIMED_IMPORT = f"""
import sys, time
sys.modules.update(dict.fromkeys({NOT_IN_LAMBDA!r}))  # `import requests` raises ImportError
started, started_cpu = time.perf_counter(), time.process_time()
import boto3
with_boto3, with_boto3_cpu = time.perf_counter(), time.process_time()
if len(sys.argv) > 1:
    __import__(sys.argv[1])
done, done_cpu = time.perf_counter(), time.process_time()
print(with_boto3 - started, done - started, with_boto3_cpu - started_cpu, done_cpu - started_cpu)
"""


def functions() -> dict[str, str]:
    """Every function in template.yaml -> its handler module."""
    from tests.e2e.template_env import load_template

    resources: dict[str, Any] = load_template()["Resources"]
    return {
        name: str(r["Properties"]["Handler"]).rsplit(".", 1)[0]
        for name, r in resources.items()
        if r["Type"] == "AWS::Serverless::Function"
    }


def environment(function: str, parameters: dict[str, str]) -> dict[str, str]:
    """The process environment of ``function`` as deployed with these parameters (defaults otherwise)."""
    from tests.e2e.template_env import function_environment, load_template

    own = function_environment(load_template(), function, parameters=parameters, resources={})
    # Not this shell's bytecode settings either: a deployed function has its bytecode (with
    # PYTHONDONTWRITEBYTECODE every "default" run would compile src/ again, as "no bytecode" does on purpose).
    base = {
        k: v
        for k, v in installed_environment().items()
        if not k.startswith(("AWS_", "POWERTOOLS_", "IAM_GUARD_"))
    }
    return {**base, **LAMBDA_RUNTIME, **own, "PYTHONPATH": str(SRC)}


@dataclass
class Best:
    """The best (lowest) wall-clock and CPU seconds seen over the repeats."""

    wall: float = float("inf")
    cpu: float = float("inf")

    def add(self, wall: float, cpu: float) -> None:
        self.wall, self.cpu = min(self.wall, wall), min(self.cpu, cpu)


def timed_import(module: str | None, env: dict[str, str]) -> list[float]:
    """[boto3 wall, boto3 + module wall, boto3 CPU, boto3 + module CPU] seconds, in one fresh interpreter."""
    run = subprocess.run(
        [sys.executable, "-c", TIMED_IMPORT, *([module] if module else [])],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    return [float(x) for x in run.stdout.split()]


def added_by_package(module: str, env: dict[str, str]) -> list[tuple[str, float]]:
    """Self import time, by top-level package, of what ``module`` imports after boto3 (-X importtime)."""
    code = f"import boto3\n__import__({module!r})"
    run = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    # importtime lines come after boto3's own; they are on stderr, in import order.
    lines = run.stderr.splitlines()
    after = [i for i, line in enumerate(lines) if re.search(r"\|\s*boto3$", line)]
    totals: dict[str, float] = defaultdict(float)
    for line in lines[after[-1] + 1 if after else 0 :]:
        match = re.match(r"import time:\s+(\d+) \|\s+\d+ \|\s*(\S+)", line)
        if match:
            totals[match.group(2).split(".")[0]] += int(match.group(1)) / 1000
    return sorted(totals.items(), key=lambda kv: -kv[1])


def layer_paths() -> list[Path]:
    """The installed files and folders of every package in the dependency layer (layer/requirements.txt)."""
    paths: set[Path] = set()
    for line in (ROOT / "layer" / "requirements.txt").read_text().splitlines():
        name = line.split("#")[0].split("==")[0].strip()
        if not name:
            continue
        dist = importlib.metadata.distribution(name)
        for file in dist.files or []:
            top = file.parts[0]
            if top.endswith((".dist-info", ".data")) or top in ("..", "__pycache__"):
                continue
            paths.add(Path(str(dist.locate_file(top))).resolve())
    return sorted(paths)


def cache_without_our_bytecode(handlers: dict[str, str], into: Path) -> dict[str, str]:
    """A bytecode cache holding all but the layer and src/, as a source-only deployment has. Its env."""
    for function, module in handlers.items():
        for parameters in ({}, TRACING_ON):
            timed_import(module, {**environment(function, parameters), "PYTHONPYCACHEPREFIX": str(into)})
    for path in [*layer_paths(), SRC.resolve()]:
        cached = into / path.relative_to(path.anchor)
        if cached.is_dir():
            shutil.rmtree(cached)
        for pyc in cached.parent.glob(f"{path.stem}.*.pyc"):  # a single-module package
            pyc.unlink()
    return {"PYTHONPYCACHEPREFIX": str(into), "PYTHONDONTWRITEBYTECODE": "1"}


VARIANTS = ("default", "tracing on", "no bytecode")


def measure_functions() -> tuple[Best, dict[tuple[str, str], Best]]:
    """Best bare-boto3 times, and the best boto3 + handler times for each (function, variant)."""
    handlers = functions()
    with tempfile.TemporaryDirectory() as cache:
        source_only = cache_without_our_bytecode(handlers, Path(cache))
        envs = {}
        for function in handlers:
            envs[(function, "default")] = environment(function, {})
            envs[(function, "tracing on")] = environment(function, TRACING_ON)
            envs[(function, "no bytecode")] = {**environment(function, {}), **source_only}
        bare_env = environment(next(iter(handlers)), {})
        for (function, _), env in envs.items():  # compile the bytecode caches (not for "no bytecode")
            timed_import(handlers[function], env)
        bare = Best()
        best = {key: Best() for key in envs}
        for _ in range(REPEATS):
            jobs: list[tuple[str, str] | None] = [None, *envs]
            random.shuffle(jobs)
            for job in jobs:
                if job is None:
                    boto3_wall, _, boto3_cpu, _ = timed_import(None, bare_env)
                    bare.add(boto3_wall, boto3_cpu)
                else:
                    _, wall, _, cpu = timed_import(handlers[job[0]], envs[job])
                    best[job].add(wall, cpu)
    return bare, best


def print_functions() -> None:
    handlers = functions()
    bare, best = measure_functions()
    print(f"Each function's handler imported with boto3, against a bare `import boto3` (best of {REPEATS})")
    print(f"  bare import boto3: {bare.cpu * 1000:.0f} ms CPU, {bare.wall * 1000:.0f} ms wall")
    print(f"  {'':<50}" + "".join(f"{v:^20}" for v in VARIANTS))
    print(f"  {'function':<24} {'handler':<25}" + f"{'CPU':>10}{'wall':>10}" * len(VARIANTS))
    for function, module in handlers.items():
        cells = []
        for variant in VARIANTS:
            figures = best[(function, variant)]
            cells += [f"{figures.cpu / bare.cpu:.2f}x", f"{figures.wall / bare.wall:.2f}x"]
        print(f"  {function:<24} {module:<25}" + "".join(f"{c:>10}" for c in cells))
    defaults = {function: best[(function, "default")].cpu / bare.cpu for function in handlers}
    worst = max(defaults, key=lambda function: defaults[function])
    within = sum(ratio <= TARGET_RATIO for ratio in defaults.values())
    print(
        f"  target: at most {TARGET_RATIO:.2f}x with the template's defaults (CPU): {within} of"
        f" {len(defaults)} functions within; highest {defaults[worst]:.2f}x ({worst})"
    )
    print(
        "  default: template.yaml's defaults; tracing on: Tracing=true; no bytecode: default, with the layer"
        " and src/ compiled at every cold start (a build without Python 3.13)"
    )
    print("  what each handler adds to boto3 (default env; -X importtime self time by package, one run):")
    for function, module in handlers.items():
        parts = added_by_package(module, environment(function, {}))
        shown = ", ".join(f"{package} {ms:.0f}" for package, ms in parts[:6] if ms >= 1)
        print(f"    {function:<24} {sum(ms for _, ms in parts):4.0f} ms: {shown} (ms)")


# --- the CLI ---------------------------------------------------------------------------------------

REPORT_LOADED = """
import json, sys, time
started = time.perf_counter()
from cli.main import main
try:
    main(sys.argv[1:])
except SystemExit:
    pass
print("LOADED " + json.dumps(sorted({m.split(".")[0] for m in sys.modules})), file=sys.stderr)
"""


def cli_command() -> list[str]:
    script = Path(sys.executable).parent / "iam-guard"
    return [str(script)] if script.exists() else [sys.executable, "-m", "cli.main"]


def run_timed(command: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(wall, CPU) seconds of one whole process, start to exit."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(command, env=env, capture_output=True, check=False, cwd=ROOT)
    seconds = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return seconds, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def loaded_by(argv: list[str], env: dict[str, str]) -> list[str]:
    run = subprocess.run(
        [sys.executable, "-c", REPORT_LOADED, *argv],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    (line,) = [x for x in run.stderr.splitlines() if x.startswith("LOADED ")]
    modules = set(json.loads(line.removeprefix("LOADED ")))
    return [p for p in HEAVY if p in modules]


def cli_cases() -> dict[str, tuple[list[str], list[str] | None]]:
    """name -> (the command, its iam-guard arguments; None for the two reference processes)."""
    cli = cli_command()
    policy = ["policy", "--no-ip-restriction"]
    return {
        "python -c pass": ([sys.executable, "-c", "pass"], None),
        'python -c "import boto3"': ([sys.executable, "-c", "import boto3"], None),
        "iam-guard --help": ([*cli, "--help"], ["--help"]),
        "iam-guard policy --no-ip-restriction": ([*cli, *policy], policy),
        "iam-guard audit --help": ([*cli, "audit", "--help"], ["audit", "--help"]),
    }


def print_cli() -> None:
    # As installed by pip, which compiles bytecode: never this shell's PYTHONDONTWRITEBYTECODE.
    env = {**installed_environment(), "PYTHONPATH": str(SRC)}
    cases = cli_cases()
    commands = {name: command for name, (command, _) in cases.items()}
    for command in commands.values():  # warm the bytecode caches
        run_timed(command, env)
    best = {name: Best() for name in commands}
    for _ in range(REPEATS):
        names = list(commands)
        random.shuffle(names)
        for name in names:
            best[name].add(*run_timed(commands[name], env))
    print(f"\nCLI start: whole process, start to exit, best of {REPEATS} (interpreter start-up included)")
    print(f"  {'command':<38} {'CPU':>8} {'wall':>8}  heavy packages loaded")
    for name, (_, argv) in cases.items():
        heavy = "" if argv is None else ", ".join(loaded_by(argv, env)) or "none"
        print(f"  {name:<38} {best[name].cpu * 1000:5.0f} ms {best[name].wall * 1000:5.0f} ms  {heavy}")
    print(f"  (heavy packages looked for: {', '.join(HEAVY)})")


def main() -> None:
    sys.path.insert(0, str(ROOT))  # tests.e2e.template_env reads template.yaml as the tests do
    print_functions()
    print_cli()


if __name__ == "__main__":
    main()
