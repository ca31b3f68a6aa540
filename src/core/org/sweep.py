"""The organisation sweep: ``core.sweep.run.run_sweep`` in every selected account, with per-account clients.

Per account and read-only run: one ``AssumeRole`` (the audit role) and the single-account IAM call budget.
Writes (enrol, heal, remediate) go through the write role, assumed in that account on its first write
only (``core.org.routing``). One account failing (its role missing, denied, throttled beyond retries)
marks that account ``failed`` with one line naming the call and its AWS error code; the others go on.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, NamedTuple

from aws_lambda_powertools import Logger

from core.aws.assume import AccountAccess, Assumer
from core.aws.gateway import Retrier
from core.aws.iam import IamGateway
from core.model.alerts import Alert, RecordingSink, Severity
from core.model.errors import IamGuardError
from core.model.findings import FAILED
from core.model.naming import AUDIT_ROLE, ENFORCE_ROLE
from core.model.settings import Settings
from core.org.fanout import FanOutSettings, fan_out
from core.org.routing import RoutingIamClient
from core.org.spoke import member_settings
from core.org.summary import FAILED as ACCOUNT_FAILED
from core.org.summary import OK, RELAYED_KINDS, AccountSummary, totals_of
from core.report.envelope import alert_envelope
from core.sweep.result import SweepResult
from core.sweep.run import GuardrailMode, run_sweep

if TYPE_CHECKING:  # the per-account function never lists the organisation
    from core.aws.organizations import OrganizationsGateway, Selection

logger = Logger(child=True)


class OrgSweepOptions(NamedTuple):
    """How the organisation sweep runs: the guardrail mode, the roles, the fan-out and callbacks."""

    guardrail: GuardrailMode = "presence"  # heal in the hub's sweep; the CLI follows its flags
    audit_role: str = AUDIT_ROLE
    write_role: str = ENFORCE_ROLE
    fan_out: FanOutSettings = FanOutSettings()  # frozen: one shared default is safe
    sleep: Callable[[float], None] = time.sleep
    # Called after each account with (accounts done, accounts in all), from the worker threads (progress).
    on_account: Callable[[int, int], None] | None = None
    # Each member's owners' notifications due now, computed (``audit --notify-owners --org``), never sent.
    notify_owners: bool = False


class AccountResult(NamedTuple):
    """One member account's sweep: its status, its result and the calls made with its credentials."""

    account_id: str
    status: str  # ok | failed
    error: str | None = None
    result: SweepResult | None = None
    calls: tuple[tuple[str, int], ...] = ()  # every AWS call made with this account's credentials
    assume_role_calls: int = 0
    write_role_assumed: bool = False
    relayed: tuple[Alert, ...] = ()  # the member's alerts of RELAYED_KINDS, sent by the hub

    @property
    def iam_calls(self) -> int:
        return sum(n for op, n in self.calls if op.startswith("iam:"))

    @property
    def findings(self) -> tuple[Any, ...]:
        return self.result.findings if self.result else ()

    @property
    def attention(self) -> list[Any]:
        return [f for f in self.findings if f.needs_attention]

    @property
    def worst(self) -> Severity:
        return max((f.severity for f in self.attention), default=Severity.INFO)


class OrgSweepResult(NamedTuple):
    """The organisation sweep: each account's result and the accounts skipped."""

    organization_id: str
    accounts: tuple[AccountResult, ...]
    skipped: tuple[tuple[str, str], ...]
    swept_at: datetime
    dry_run: bool
    # The organisation's own findings (``core.org.root_access``), checked once per run with the hub's
    # credentials; their ``account_id`` is the management account's.
    organization_findings: tuple[Any, ...] = ()
    management_account_id: str = ""

    @property
    def organization_attention(self) -> list[Any]:
        return [f for f in self.organization_findings if f.needs_attention]

    @property
    def failed_accounts(self) -> list[AccountResult]:
        return [a for a in self.accounts if a.status == ACCOUNT_FAILED]

    @property
    def failed_percent(self) -> float:
        return 100.0 * len(self.failed_accounts) / len(self.accounts) if self.accounts else 0.0

    @property
    def failed_findings(self) -> list[tuple[str, Any]]:
        return [(a.account_id, f) for a in self.accounts for f in a.findings if f.status == FAILED]

    def summaries(self) -> list[AccountSummary]:
        return [summarize(a) for a in self.accounts]

    def totals(self) -> dict[str, Any]:
        return totals_of(self.summaries(), len(self.skipped))

    def problems(self, max_failed_percent: float) -> list[str]:
        """Why the run should exit 1 (empty: exit 0)."""
        found: list[str] = []
        if self.failed_percent > max_failed_percent:
            first = self.failed_accounts[0]
            found.append(
                f"{len(self.failed_accounts)} of {len(self.accounts)} accounts failed "
                f"({self.failed_percent:.1f}% > {max_failed_percent:g}%); first: {first.account_id}: "
                f"{first.error}"
            )
        for account_id, f in self.failed_findings:
            found.append(f"{account_id}: {f.user}: {f.detail.rsplit('; ', 1)[-1]}")
        for account in self.accounts:
            if account.result and account.result.delivery_error:
                found.append(f"{account.account_id}: {account.result.delivery_error}")
            imported = getattr(account.result, "security_hub", None)
            problem = imported.problem() if imported is not None else None
            if problem:  # an import that did not fully succeed fails the run, as in single-account mode
                found.append(f"{account.account_id}: {problem}")
        return found


def summarize(account: AccountResult) -> AccountSummary:
    """The account's result, small (what the hub's per-account function returns)."""
    by_finding: Counter[str] = Counter(f.finding for f in account.findings)
    by_status: Counter[str] = Counter(f.status for f in account.findings)
    return AccountSummary(
        account_id=account.account_id,
        status=account.status,
        error=account.error,
        worst=account.worst,
        attention=len(account.attention),
        attention_kinds=tuple(sorted({f.finding for f in account.attention})),
        by_finding=dict(sorted(by_finding.items())),
        by_status=dict(sorted(by_status.items())),
        iam_calls=account.iam_calls,
        assume_role_calls=account.assume_role_calls,
        relayed=tuple(alert_envelope(alert) for alert in account.relayed),
    )


# --- one account ---------------------------------------------------------------------------------------


def sweep_account(
    account_id: str,
    *,
    assumer: Assumer,
    settings: Settings,
    options: OrgSweepOptions,
    now: datetime | None = None,
) -> AccountResult:
    """The single-account sweep in ``account_id``; never raises an expected failure (it is the result)."""
    accesses: list[AccountAccess] = []

    def assumed_calls() -> int:
        return int(assumer.assume_calls.get(account_id, 0))

    def calls() -> tuple[tuple[str, int], ...]:
        total: Counter[str] = Counter()
        for access in accesses:
            total.update(access.counter.calls)
        return tuple(sorted(total.items()))

    def write_client() -> Any:
        access = assumer.access(account_id, options.write_role, "write")
        accesses.append(access)
        return access.client("iam")

    try:
        audit = assumer.access(account_id, options.audit_role, "audit")
    except IamGuardError as exc:
        return _failed(account_id, exc, calls(), assumed_calls())
    accesses.append(audit)
    routing = RoutingIamClient(audit.client("iam"), write_client)
    iam = IamGateway(routing, retrier=Retrier(sleep=options.sleep))
    # Findings are imported with the credentials of the account they describe: the audit role's.
    extra: dict[str, Any] = {}
    if getattr(settings, "security_hub", False):
        from core.aws.securityhub import SecurityHubGateway

        extra["security_hub"] = SecurityHubGateway(
            audit.client("securityhub"), retrier=Retrier(sleep=options.sleep)
        )
    recorded = RecordingSink()
    try:
        # The per-account digest is recorded, not sent: the organisation gets one digest per run.
        result = run_sweep(
            iam,
            recorded,
            member_settings(settings),
            account_id=account_id,
            now=now,
            sleep=options.sleep,
            guardrail=options.guardrail,
            notify_owners=options.notify_owners,
            **extra,
        )
    except IamGuardError as exc:
        return _failed(account_id, exc, calls(), assumed_calls(), wrote=routing.wrote)
    return AccountResult(
        account_id,
        OK,
        result=result,
        calls=calls(),
        assume_role_calls=assumed_calls(),
        write_role_assumed=routing.wrote,
        relayed=tuple(a for a in recorded.alerts if a.kind in RELAYED_KINDS),
    )


def _failed(
    account_id: str,
    exc: IamGuardError,
    calls: tuple[tuple[str, int], ...],
    assumed: int,
    *,
    wrote: bool = False,
) -> AccountResult:
    error = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    logger.warning("account not swept", extra={"account_id": account_id, "error": error})
    return AccountResult(
        account_id,
        ACCOUNT_FAILED,
        error=error,
        calls=calls,
        assume_role_calls=assumed,
        write_role_assumed=wrote,
    )


# --- the organisation ------------------------------------------------------------------------------------


def sweep_accounts(
    organization_id: str,
    selection: Selection,
    *,
    assumer: Assumer,
    settings: Settings,
    options: OrgSweepOptions,
    now: datetime | None = None,
) -> OrgSweepResult:
    moment = now or datetime.now(UTC)

    ids = [a.account_id for a in selection.accounts]
    done = [0]
    lock = threading.Lock()

    def one(account_id: str) -> AccountResult:
        result = sweep_account(account_id, assumer=assumer, settings=settings, options=options, now=moment)
        if options.on_account is not None:
            with lock:
                done[0] += 1
                options.on_account(done[0], len(ids))
        return result

    results = fan_out(ids, one, options.fan_out.max_concurrency)
    return OrgSweepResult(organization_id, tuple(results), selection.skipped, moment, settings.dry_run)


def sweep_organization(
    organizations: OrganizationsGateway,
    *,
    caller_account_id: str,
    assumer: Assumer,
    settings: Settings,
    options: OrgSweepOptions,
    include: Iterable[str] = (),
    exclude: Iterable[str] = (),
    now: datetime | None = None,
    hub_iam: IamGateway | None = None,
) -> OrgSweepResult:
    """List the organisation's accounts, select, sweep each (bounded fan-out), sum up.

    ``hub_iam``: IAM with the caller's own credentials; given, centralized root access is checked once
    (``core.org.root_access``: one ``ListOrganizationsFeatures`` call)."""
    from core.aws.organizations import plan
    from core.org.root_access import check_root_access

    org, selection = plan(
        organizations, caller_account_id=caller_account_id, include=include, exclude=exclude
    )
    logger.info(
        "organisation sweep",
        extra={"accounts": len(selection.accounts), "skipped": len(selection.skipped)},
    )
    root_access = check_root_access(hub_iam) if hub_iam is not None else None
    result = sweep_accounts(
        org.organization_id, selection, assumer=assumer, settings=settings, options=options, now=now
    )
    return result._replace(
        organization_findings=(root_access,) if root_access is not None else (),
        management_account_id=org.management_account_id,
    )
