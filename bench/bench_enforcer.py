"""Enforcer benchmark: IAM calls per event (fresh process vs warm container) and a 500-event burst.

Run from the repository root: ``python -m bench.bench_enforcer`` (``make bench`` runs it with the others).
Everything runs in-process on moto's ``mock_aws``; calls are counted with ``core.aws.gateway.CallCounter``.

1. Steady state (guardrail deployed and current): for each sample in events/, the IAM calls the core makes
   with an empty cache (a fresh Lambda container) and with a warm one.
2. First run: one CreateUser before anything is deployed (the enforcer creates group and policy).
3. Burst: 500 CreateUser events through ``handlers.enforcer.lambda_handler`` with a fake Lambda context,
   one warm container: users enrolled, failures, IAM calls per event, wall time.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
EVENTS = ROOT / "events"
ACCOUNT = "123456789012"
GROUP = "IAMGuardSecuredUsers"
BURST = 500
CIDR = "203.0.113.0/24"
ENFORCER_ROLE = "arn:aws:iam::123456789012:role/iam-guard/iam-guard/iam-guard_enforcer"
USERS = ("dev-bob", "dev-carol", "dev-dave")


def fake_environment() -> None:
    """No real account, ever; Powertools quiet enough to print a table."""
    os.environ.update(
        {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_SESSION_TOKEN": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_CONFIG_FILE": "/dev/null",
            "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
            "POWERTOOLS_TRACE_DISABLED": "true",
            "POWERTOOLS_METRICS_NAMESPACE": "IAMGuardBench",
            "POWERTOOLS_SERVICE_NAME": "iam-guard",
            "POWERTOOLS_LOG_LEVEL": "WARNING",
            "IAM_GUARD_ALLOWED_CIDRS": CIDR,
            "IAM_GUARD_OWN_ROLE_ARNS": ENFORCER_ROLE,
        }
    )
    os.environ.pop("AWS_PROFILE", None)
    os.environ.pop("AWS_ENDPOINT_URL", None)


def load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((EVENTS / f"enforcer-{name}.json").read_text())
    return data


def deployed_account() -> tuple[Any, Any]:
    """A moto IAM client with the guardrail deployed and the sample users created, and its gateway."""
    import boto3

    from core.aws.gateway import Retrier
    from core.aws.iam import IamGateway
    from core.guardrail.apply import ensure_guardrail
    from core.model.settings import build_settings

    client = boto3.client("iam", region_name="us-east-1")
    ensure_guardrail(IamGateway(client), build_settings(allowed_cidrs=(CIDR,)), ACCOUNT)
    for user in USERS:
        client.create_user(UserName=user)
    client.create_user(UserName="breakglass-admin", Tags=[{"Key": "iam-guard:exempt", "Value": "true"}])
    return client, IamGateway(client, retrier=Retrier(sleep=lambda _s: None))


def calls_for(name: str, *, warm: bool) -> tuple[int, str, str]:
    """IAM calls one sample costs in steady state; (calls, action, which calls)."""
    from moto import mock_aws

    from core.aws.gateway import CallCounter
    from core.enforce.actions import GuardrailCache
    from core.enforce.enforcer import enforce
    from core.enforce.events import parse_event
    from core.model.alerts import RecordingSink
    from core.model.settings import build_settings

    settings = build_settings(allowed_cidrs=(CIDR,))
    with mock_aws():
        client, iam = deployed_account()
        cache = GuardrailCache()
        if warm:  # an earlier event, about another user, verified the guardrail in this container
            client.create_user(UserName="warm-up")
            warm_up = load("create-user")
            warm_up["detail"]["requestParameters"] = {"userName": "warm-up"}
            enforce(parse_event(warm_up), settings=settings, iam=iam, sink=RecordingSink(), cache=cache)
        if name == "remove-user-from-group":
            client.add_user_to_group(GroupName=GROUP, UserName="dev-bob")
            client.remove_user_from_group(GroupName=GROUP, UserName="dev-bob")
        counter = CallCounter()
        counter.attach(client)
        result = enforce(
            parse_event(load(name)),
            settings=settings,
            iam=iam,
            sink=RecordingSink(),
            cache=cache,
            ignore_arns=frozenset({ENFORCER_ROLE}),
        )
        which = ", ".join(
            f"{k.removeprefix('iam:')}x{v}" if v > 1 else k.removeprefix("iam:")
            for k, v in sorted(counter.calls.items())
        )
        return counter.total, result.action, which


def first_run_calls() -> tuple[int, str]:
    import boto3
    from moto import mock_aws

    from core.aws.gateway import CallCounter
    from core.aws.iam import IamGateway
    from core.enforce.actions import GuardrailCache
    from core.enforce.enforcer import enforce
    from core.enforce.events import parse_event
    from core.model.alerts import RecordingSink
    from core.model.settings import build_settings

    with mock_aws():
        client = boto3.client("iam", region_name="us-east-1")
        client.create_user(UserName="dev-bob")
        counter = CallCounter()
        counter.attach(client)
        result = enforce(
            parse_event(load("create-user")),
            settings=build_settings(allowed_cidrs=(CIDR,)),
            iam=IamGateway(client),
            sink=RecordingSink(),
            cache=GuardrailCache(),
        )
        return counter.total, ", ".join(c.change for c in result.changes)


def burst() -> dict[str, Any]:
    """BURST CreateUser events through the Lambda handler in one warm container."""
    import copy

    from moto import mock_aws

    from core.aws.gateway import CallCounter
    from demo.lambda_context import FakeLambdaContext
    from handlers import common
    from handlers import enforcer as handler

    base = load("create-user")
    with mock_aws():
        client, _ = deployed_account()
        names = [f"burst-user-{n:04d}" for n in range(BURST)]
        for name in names:
            client.create_user(UserName=name)
        common.reset_caches()
        handler.guardrail_cache.cache_clear()
        counter = CallCounter()
        counter.attach(common.iam().client)
        failures = 0
        started = time.perf_counter()
        with contextlib.redirect_stdout(io.StringIO()):  # Powertools' metric blobs, one per invocation
            for n, name in enumerate(names):
                event = copy.deepcopy(base)
                event["id"] = f"burst-{n}"
                event["detail"]["eventID"] = f"burst-event-{n}"
                event["detail"]["requestParameters"] = {"userName": name}
                outcome = handler.lambda_handler(
                    event, FakeLambdaContext("iam-guard-EnforcerFunction-bench", aws_request_id=f"req-{n}")
                )
                failures += outcome.get("action") != "enrolled"
        wall = time.perf_counter() - started
        members = {u["UserName"] for u in client.get_group(GroupName=GROUP, MaxItems=1000)["Users"]}
        return {
            "events": BURST,
            "enrolled": len(members & set(names)),
            "failures": failures,
            "calls": counter.total,
            "by_call": dict(counter.calls),
            "wall": wall,
        }


def main() -> None:
    fake_environment()
    samples = sorted(
        p.name.removeprefix("enforcer-").removesuffix(".json") for p in EVENTS.glob("enforcer-*.json")
    )
    print("IAM calls per event, steady state (guardrail deployed and current)")
    print(f"  {'event sample':<28} {'fresh':>5} {'warm':>5}  {'action':<18} calls (fresh)")
    for name in samples:
        fresh, action, which = calls_for(name, warm=False)
        warm, _, _ = calls_for(name, warm=True)
        print(f"  {name:<28} {fresh:>5} {warm:>5}  {action:<18} {which}")
    print("  budget (issue 3): CreateUser <= 5 fresh, <= 2 warm; tamper events always verify (uncached)")
    total, changes = first_run_calls()
    print(f"\nFirst run, nothing deployed, one CreateUser: {total} IAM calls ({changes})")
    figures = burst()
    per_event = figures["calls"] / figures["events"]
    print(f"\nBurst through the handler (one warm container): {figures['events']} CreateUser events")
    print(f"  {'enrolled':<22} {figures['enrolled']}/{figures['events']}")
    print(f"  {'failures':<22} {figures['failures']}")
    print(f"  {'IAM calls':<22} {figures['calls']} ({per_event:.2f} per event)")
    for call, count in sorted(figures["by_call"].items()):
        print(f"    {call:<32} {count}")
    rate = figures["events"] / figures["wall"]
    print(f"  {'wall time':<22} {figures['wall']:.2f} s ({rate:.0f} events/s on moto, in-process)")


if __name__ == "__main__":
    main()
