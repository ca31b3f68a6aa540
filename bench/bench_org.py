"""Organizations benchmark: the org sweep over 10, 100 and 1,000 member accounts on moto, cost model on.

Run from the repository root: ``python -m bench.bench_org`` (``make bench`` runs it with the others);
``--latency-ms`` (``BENCH_LATENCY_MS``, default 50) is the cost model's chosen per-call latency, not a
published AWS figure.

The product's fan-out, ``core.org.sweep.sweep_accounts`` (routing client, ``core.sweep.run.run_sweep`` in
every account, the bounded thread pool) at the template's map concurrency (``MaxConcurrency`` 40,
``core.org.fanout.DEFAULT_MAX_CONCURRENCY``), against in-process moto. moto's Docker-free Lambda does
not run our code and its Map ignores ``MaxConcurrency``, so the state machine is not what runs here.

The cost model here is real sleeps: every AWS call sleeps the latency in the calling thread before moto
answers (a ``before-sign`` hook), so it holds its account's slot, as a Lambda child waiting on IAM does, but
not the emulator, and the waits of the 40 accounts in flight overlap. ``AssumeRole`` is modelled as one
call per member (one latency, counted), because moto resolves an assumed-role credential by scanning every
account on each request (O(accounts), design note E1): each account's clients are pinned to it with moto's
``x-moto-account-id`` header instead. The tests (tests/organizations) keep the real AssumeRole path (52
accounts) and count exactly one AssumeRole per account.

Floor: accounts x calls per member x (latency + the emulator's service time per call) / concurrency
(or / accounts, when fewer), the service time measured first with no latency, one account at a time.
moto runs in this process and holds the GIL, so its service time does not overlap: accounts x calls x
service time is a second floor, the emulator's, printed beside it.

Each member holds 3 users (one without MFA, one with, one outside the group) and a credential report
generated before timing (IAM reuses a report younger than 4 hours).
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from collections import Counter
from typing import Any

from tests.harness.mfa import enable_virtual_mfa

from bench import FAKE_AWS

SIZES = tuple(int(n) for n in os.environ.get("BENCH_ORG_SIZES", "10,100,1000").split(","))
GROUP = "IAMGuardSecuredUsers"
MEMBER_RATIO_TARGET = 1.3  # time per member at 1,000 accounts against at 10
FLOOR_TARGET = 1.5  # total time against the floor


class PinnedAssumer:
    """Per-account clients from one session, pinned to the account by header (no STS call).

    ``latency`` > 0: every call sleeps it first (real sleep, in the calling thread), and each access is
    one modelled ``AssumeRole`` (one latency, counted in ``assume_calls``)."""

    def __init__(self, session: Any, latency: float = 0.0) -> None:
        self.session = session
        self.latency = latency
        self.assume_calls: Counter[str] = Counter()
        self.spans: dict[str, list[float]] = {}  # account -> [first call started, last call ended]
        self._lock = threading.Lock()

    def access(self, account_id: str, role_name: str, purpose: str) -> Any:
        from core.aws.assume import AccountAccess, client_config, role_arn

        started = time.perf_counter()
        if self.latency:
            time.sleep(self.latency)  # the modelled AssumeRole
        with self._lock:
            self.assume_calls[account_id] += 1
            self.spans.setdefault(account_id, [started, started])

        def pin(request: Any, **_: Any) -> None:
            request.headers["x-moto-account-id"] = account_id
            if self.latency:
                time.sleep(self.latency)

        def done(**_: Any) -> None:
            self.spans[account_id][1] = time.perf_counter()

        def make(service: str, region: str | None) -> Any:
            with self._lock:
                client = self.session.client(
                    service, region_name=region or "us-east-1", config=client_config()
                )
            client.meta.events.register("before-sign", pin)
            client.meta.events.register("after-call", done)
            return client

        return AccountAccess(account_id, role_arn(account_id, role_name), make)

    def forget(self, account_id: str, role_name: str, purpose: str) -> None:
        """Nothing is kept between accesses here."""


def seed(accounts: int) -> list[str]:
    import boto3

    org = boto3.client("organizations", region_name="us-east-1")
    org.create_organization(FeatureSet="ALL")
    members = []
    for i in range(accounts):
        status = org.create_account(Email=f"m{i}@example.com", AccountName=f"m{i}")["CreateAccountStatus"]
        members.append(status["AccountId"])
    session = boto3.Session()
    for account_id in members:
        iam = PinnedAssumer(session).access(account_id, "seed", "seed").client("iam")
        iam.create_group(GroupName=GROUP)
        for name in ("nomfa", "withmfa"):
            iam.create_user(UserName=name)
            iam.add_user_to_group(GroupName=GROUP, UserName=name)
        iam.create_login_profile(UserName="nomfa", Password="Correct-Horse-9-Battery")
        enable_virtual_mfa(iam, "withmfa")
        iam.create_user(UserName="outside")
        iam.generate_credential_report()  # warm, as on a live account
    return members


def measure(accounts: int, concurrency: int, latency: float) -> dict[str, Any]:
    import boto3
    from moto import mock_aws

    from core.aws.assume import new_session
    from core.aws.organizations import Account, Selection
    from core.model.settings import build_settings
    from core.org.fanout import FanOutSettings
    from core.org.sweep import OrgSweepOptions, sweep_accounts
    from demo.moto_extras import install as install_moto_extras

    # What moto's IAM lacks and the sweep reads (ListServiceSpecificCredentials), as the tests and the
    # cost model's server install it: run on its own, this benchmark must not rely on them having run.
    install_moto_extras()
    with mock_aws():
        members = seed(accounts)
        assumer = PinnedAssumer(new_session(), latency)
        settings = build_settings(ip_restriction=False, dry_run=True, grace_days=0)
        options = OrgSweepOptions(fan_out=FanOutSettings(max_concurrency=concurrency), sleep=lambda _s: None)
        selection = Selection(tuple(Account(a) for a in members), ())
        started = time.perf_counter()
        result = sweep_accounts(
            "o-bench000000", selection, assumer=assumer, settings=settings, options=options
        )
        seconds = time.perf_counter() - started
        del boto3
    calls: Counter[str] = Counter()
    for account in result.accounts:
        calls.update(dict(account.calls))
    spans = [end - start for start, end in assumer.spans.values()]
    return {
        "accounts": accounts,
        "concurrency": concurrency,
        "latency": latency,
        "seconds": seconds,
        "per_account_ms": 1000 * seconds / accounts,
        "member_ms": 1000 * sum(spans) / len(spans),
        "calls": sum(calls.values()),
        "assume": sum(a.assume_role_calls for a in result.accounts),
        "by_operation": calls,
        "failed": len(result.failed_accounts),
        "findings": result.totals()["by_finding"],
    }


def _run_on_moto(definition: str, name: str, execution_input: dict[str, Any]) -> Counter[str]:
    """``definition`` (placeholders ``${Org...FunctionArn}`` and ``${OrgResultsBucket}``) on moto's
    Step Functions interpreter, every function a stub that echoes its input: the execution's history
    events by type."""
    import io
    import json
    import logging
    import zipfile

    import boto3
    from moto import mock_aws

    from core.org.workflow import SUBSTITUTIONS

    config = {"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}}
    # moto logs that it does not enforce ToleratedFailurePercentage (known: docs/organizations.md)
    logging.getLogger("moto.stepfunctions").setLevel(logging.ERROR)
    with mock_aws(config=config):  # type: ignore[arg-type]
        iam = boto3.client("iam", region_name="us-east-1")
        role = iam.create_role(RoleName="stub", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        archive = io.BytesIO()
        with zipfile.ZipFile(archive, "w") as z:
            z.writestr("stub.py", "def handler(event, context):\n    return event\n")
        functions = boto3.client("lambda", region_name="us-east-1")
        for placeholder in SUBSTITUTIONS:
            if placeholder == "OrgResultsBucket":
                value = "results"
            elif placeholder == "Partition":
                value = "aws"
            else:
                value = functions.create_function(
                    FunctionName=placeholder,
                    Runtime="python3.13",
                    Role=role,
                    Handler="stub.handler",
                    Code={"ZipFile": archive.getvalue()},
                )["FunctionArn"]
            definition = definition.replace("${" + placeholder + "}", value)
        boto3.client("s3", region_name="us-east-1").create_bucket(Bucket="results")
        sfn = boto3.client("stepfunctions", region_name="us-east-1")
        machine = sfn.create_state_machine(name=name, definition=definition, roleArn=role)
        execution = sfn.start_execution(
            stateMachineArn=machine["stateMachineArn"], name="bench", input=json.dumps(execution_input)
        )["executionArn"]
        deadline = time.monotonic() + 120
        while sfn.describe_execution(executionArn=execution)["status"] == "RUNNING":
            if time.monotonic() > deadline:
                break
            time.sleep(0.1)
        events = sfn.get_execution_history(executionArn=execution, maxResults=1000)["events"]
    return Counter(e["type"] for e in events)


def workflow_events(items: int) -> Counter[str]:
    """The generated state machine's parent execution, for ``items`` accounts: history events by type."""
    from core.org.workflow import definition_json

    accounts = [f"{100000000000 + i}" for i in range(items)]
    return _run_on_moto(
        definition_json(),
        "org-sweep",
        {"organization_id": "o-bench000000", "accounts": accounts, "skipped": []},
    )


def child_events() -> Counter[str]:
    """One child execution of the Distributed Map, run on its own: moto does not list the Map's child
    executions, so the child workflow (the definition's ``ItemProcessor``) is started as a state machine
    of its own with one account's input, and its history read."""
    import json

    from core.org.workflow import sweep_state_machine

    processor = sweep_state_machine()["States"]["SweepAccounts"]["ItemProcessor"]
    child = {"StartAt": processor["StartAt"], "States": processor["States"]}
    return _run_on_moto(
        json.dumps(child), "org-sweep-child", {"account_id": "100000000000", "organization_id": "o-bench0"}
    )


def _entered(events: Counter[str]) -> int:
    return sum(n for kind, n in events.items() if kind.endswith("StateEntered"))


def print_workflow() -> None:
    small, large, child = workflow_events(10), workflow_events(100), child_events()
    parent, per_child = _entered(large), 1 + _entered(child)
    print(
        "   state machine on moto's interpreter, stub functions: the parent execution has "
        f"{sum(small.values())} history events at 10 accounts, {sum(large.values())} at 100 ({parent} states"
        f" entered: list, map, digest); one child run on its own (moto does not list the Map's children):"
        f" {sum(child.values())} history events, {_entered(child)} state entered"
    )
    print(
        f"   transitions: parent {parent} + per child {per_child} (1 for the child's start, Step Functions'"
        f" Distributed Map pricing, + {_entered(child)} state; each Lambda retry adds 1):"
        + " "
        + ", ".join(f"{n:,} accounts ~{parent + n * per_child:,}" for n in (10, 1_000, 10_000))
    )


def main() -> None:
    from core.org.fanout import DEFAULT_MAX_CONCURRENCY

    os.environ.update(FAKE_AWS)
    os.environ.pop("AWS_ENDPOINT_URL", None)  # in-process moto: an earlier benchmark's server is gone
    import logging

    logging.getLogger().setLevel(logging.ERROR)
    parser = argparse.ArgumentParser(prog="python -m bench.bench_org")
    parser.add_argument("--latency-ms", type=float, default=float(os.environ.get("BENCH_LATENCY_MS", "50")))
    latency = parser.parse_known_args(sys.argv[1:])[0].latency_ms / 1000
    concurrency = DEFAULT_MAX_CONCURRENCY
    measure(3, 1, 0.0)  # warm-up, discarded: botocore loads its service models once per process
    service = measure(SIZES[0], 1, 0.0)  # the emulator's own time per call, one account at a time
    per_call = service["seconds"] / service["calls"]
    print(
        f"   cost model: latency {1000 * latency:g} ms per call (a chosen value, not a published AWS figure),"
        " real sleeps in the calling thread; AssumeRole modelled as 1 call per member; no throttle"
    )
    print(
        f"   emulator service time: {1000 * per_call:.1f} ms per call (no latency, 1 in flight, "
        f"{SIZES[0]} accounts, {service['calls']} calls in {service['seconds']:.2f} s)"
    )
    rows = [measure(n, concurrency, latency) for n in SIZES]
    print(
        f"   {'ACCOUNTS':>8}  {'IN FLIGHT':>9}  {'WALL s':>7}  {'FLOOR s':>7}  {'EMU FLOOR s':>11}"
        f"  {'WALL/FLOOR':>10}  {'MS/ACCOUNT':>10}  {'MS/MEMBER RUN':>13}  {'CALLS':>6}  CALLS/ACCOUNT"
    )
    for r in rows:
        per_member = (r["calls"] + r["assume"]) / r["accounts"]
        r["floor"] = r["accounts"] * per_member * (latency + per_call) / min(concurrency, r["accounts"])
        r["emulator_floor"] = r["calls"] * per_call
        ratio = r["seconds"] / r["floor"]
        print(
            f"   {r['accounts']:>8,}  {r['concurrency']:>9}  {r['seconds']:>7.1f}  {r['floor']:>7.1f}  "
            f"{r['emulator_floor']:>11.1f}  {ratio:>9.2f}x  {r['per_account_ms']:>10.1f}  "
            f"{r['member_ms']:>13.0f}  {r['calls']:>6,}  {r['calls'] / r['accounts']:.1f} + "
            f"{r['assume'] / r['accounts']:g} AssumeRole"
            + (f"  ({r['failed']} FAILED)" if r["failed"] else "")
        )
    small, large = rows[0], rows[-1]
    member_ratio = large["per_account_ms"] / small["per_account_ms"]
    print(
        f"   time per member at {large['accounts']:,} = {member_ratio:.2f}x the time at {small['accounts']:,}"
        f" (wall / accounts; target <= {MEMBER_RATIO_TARGET}x); one member's own run"
        f" {large['member_ms'] / small['member_ms']:.2f}x"
    )
    both = max(large["floor"], large["emulator_floor"])
    print(
        f"   total at {large['accounts']:,}: {large['seconds'] / large['floor']:.2f}x the floor (target <= "
        f"{FLOOR_TARGET}x); {large['seconds'] / both:.2f}x the larger of the floor and the emulator's"
        " (moto holds the GIL: its service time does not overlap)"
    )
    per = ", ".join(f"{op} {n / large['accounts']:g}" for op, n in sorted(large["by_operation"].items()))
    print(f"   calls per account: sts:AssumeRole 1 (modelled), {per}")
    print(f"   findings at {large['accounts']:,} accounts: {large['findings']}")
    print_workflow()


if __name__ == "__main__":
    main()
