"""Organizations benchmark: the org sweep over 10 and 1,000 simulated member accounts on moto.

Run from the repository root: ``python -m bench.bench_org`` (``make bench`` runs it with the others).

moto resolves an assumed-role credential by scanning every account on each request (O(accounts), design
note E1), which would measure the emulator, not IAM Guard. So here each account's clients are pinned to
it with moto's ``x-moto-account-id`` header (a ``before-sign`` hook) and no AssumeRole is made; the tests
(tests/organizations) keep the real AssumeRole path and count exactly one AssumeRole per account.
Everything else is the product's path: ``core.org.sweep.sweep_accounts`` -> the routing client ->
``core.sweep.run.run_sweep`` in every account, the bounded fan-out, the totals.

Each member holds 3 users (one without MFA, one with, one outside the group) and a credential report
generated before timing (IAM reuses a report younger than 4 hours). Figures: mean wall time per account
(total / accounts), sequential (1 in flight) and with the default fan-out (40 in flight), at 10 and at
1,000 accounts, and the AWS calls per account and in total. The machine is shared and moto is GIL-bound:
compare the ratio, not the absolute times.
"""

from __future__ import annotations

import os
import threading
import time
from collections import Counter
from typing import Any

from tests.harness.mfa import enable_virtual_mfa

from bench import FAKE_AWS

SIZES = (10, 1_000)
GROUP = "IAMGuardSecuredUsers"


class PinnedAssumer:
    """Per-account clients from one session, pinned to the account by header (no STS call)."""

    def __init__(self, session: Any) -> None:
        self.session = session
        self.assume_calls: Counter[str] = Counter()
        self._lock = threading.Lock()

    def access(self, account_id: str, role_name: str, purpose: str) -> Any:
        from core.aws.assume import AccountAccess, client_config, role_arn

        def pin(request: Any, **_: Any) -> None:
            request.headers["x-moto-account-id"] = account_id

        def make(service: str) -> Any:
            with self._lock:
                client = self.session.client(service, region_name="us-east-1", config=client_config())
            client.meta.events.register("before-sign", pin)
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


def measure(accounts: int, concurrency: int) -> dict[str, Any]:
    import boto3
    from moto import mock_aws

    from core.aws.assume import new_session
    from core.aws.organizations import Account, Selection
    from core.model.settings import build_settings
    from core.org.fanout import FanOutSettings
    from core.org.sweep import OrgSweepOptions, sweep_accounts

    with mock_aws():
        members = seed(accounts)
        assumer = PinnedAssumer(new_session())
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
    failed = len(result.failed_accounts)
    return {
        "accounts": accounts,
        "concurrency": concurrency,
        "seconds": seconds,
        "per_account_ms": 1000 * seconds / accounts,
        "calls": sum(calls.values()),
        "by_operation": calls,
        "failed": failed,
        "findings": result.totals()["by_finding"],
    }


def main() -> None:
    os.environ.update(FAKE_AWS)
    import logging

    logging.getLogger().setLevel(logging.ERROR)
    measure(3, 1)  # warm-up, discarded: botocore loads its service models once per process
    rows = [measure(n, c) for c in (1, 40) for n in SIZES]
    print(
        f"   {'ACCOUNTS':>8}  {'IN FLIGHT':>9}  {'WALL s':>7}  {'MS/ACCOUNT':>10}  {'CALLS':>6}"
        "  CALLS/ACCOUNT"
    )
    for r in rows:
        print(
            f"   {r['accounts']:>8,}  {r['concurrency']:>9}  {r['seconds']:>7.1f}  "
            f"{r['per_account_ms']:>10.1f}  "
            f"{r['calls']:>6,}  {r['calls'] / r['accounts']:.1f}"
            + (f"  ({r['failed']} FAILED)" if r["failed"] else "")
        )
    for c in (1, 40):
        small, large = (next(r for r in rows if r["accounts"] == n and r["concurrency"] == c) for n in SIZES)
        ratio = large["per_account_ms"] / small["per_account_ms"]
        print(
            f"   {c} in flight: mean per account at {SIZES[1]:,} = {ratio:.2f}x the mean at {SIZES[0]:,} "
            "(target <= 1.5x)"
        )
    last = rows[-1]
    per = {op: n / last["accounts"] for op, n in sorted(last["by_operation"].items())}
    print("   calls per account: " + ", ".join(f"{op} {n:g}" for op, n in per.items()))
    print("   + 1 sts:AssumeRole per account on the real path (not made here: clients are pinned; see tests)")
    print(f"   findings at {last['accounts']:,} accounts: {last['findings']}")


if __name__ == "__main__":
    main()
