"""Organizations mode of ``iam-guard audit --org`` and ``iam-guard enforce --org-role``: flags and runs.

Thin, like every command: flags -> settings and options, one core call, print, exit status. The caller's
credentials are the management account's or a delegated administrator's; member accounts are reached
only through the roles named by ``--org-role`` / ``--org-write-role``.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from typing import TYPE_CHECKING, Any

from cli.delivery import sink_from_args
from cli.options import emit, selection_from_args, whole_number
from core.model.errors import DeliveryError, InvalidInputError
from core.model.naming import AUDIT_ROLE, ENFORCE_ROLE
from core.org.fanout import DEFAULT_MAX_CONCURRENCY, DEFAULT_MAX_FAILED_PERCENT, MAX_CONCURRENCY_LIMIT

if TYPE_CHECKING:  # the flags are defined without loading boto3 or the org code (iam-guard --help)
    from core.model.settings import Settings
    from core.sweep.run import GuardrailMode

_ROLE_NAME = re.compile(r"^[\w+=,.@-]{1,64}$")
ORG_ONLY_FLAGS = ("org_role", "org_write_role", "max_concurrency", "max_failed_percent")


def role_name(text: str) -> str:
    if not _ROLE_NAME.match(text):
        raise argparse.ArgumentTypeError(f"{text!r} is not an IAM role name")
    return text


def account_id(text: str) -> str:
    from core.aws.organizations import parse_account_id

    try:
        return parse_account_id(text)
    except InvalidInputError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _concurrency(text: str) -> int:
    return whole_number(text, 1, MAX_CONCURRENCY_LIMIT)


def _percent(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0 <= value <= 100:
        raise argparse.ArgumentTypeError(f"{value:g} is outside 0..100")
    return value


def add_audit_org_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("organization (run as the management account or a delegated admin)")
    group.add_argument(
        "--org",
        action="store_true",
        help="sweep every ACTIVE account of the organisation (at most --max-concurrency at a time)",
    )
    group.add_argument(
        "--org-role", type=role_name, metavar="NAME", help=f"read-only role in each member ({AUDIT_ROLE})"
    )
    group.add_argument(
        "--org-write-role",
        type=role_name,
        metavar="NAME",
        help=f"role for writes (enrol, heal, remediate), assumed only where needed ({ENFORCE_ROLE})",
    )
    group.add_argument(
        "--max-concurrency",
        type=_concurrency,
        metavar="N",
        help=f"accounts in flight at most ({DEFAULT_MAX_CONCURRENCY})",
    )
    group.add_argument(
        "--max-failed-percent",
        type=_percent,
        metavar="P",
        help=f"exit 1 when more than P%% of the accounts could not be swept ({DEFAULT_MAX_FAILED_PERCENT:g})",
    )
    group.add_argument(
        "--exclude-account", type=account_id, action="append", default=[], metavar="ID", help="(repeatable)"
    )
    group.add_argument(
        "--include-account",
        type=account_id,
        action="append",
        default=[],
        metavar="ID",
        help="also sweep this account, even the caller's or the management account (repeatable)",
    )


def check_audit_flags(args: argparse.Namespace) -> None:
    """Org flags without --org are a mistake, not something to ignore."""
    if args.org:
        return
    given = [f for f in ORG_ONLY_FLAGS if getattr(args, f, None) is not None]
    given += [f for f in ("exclude_account", "include_account") if getattr(args, f, None)]
    if given:
        raise InvalidInputError(f"--{given[0].replace('_', '-')} needs --org")


def run_audit(
    args: argparse.Namespace, settings: Settings, sink: Any, *, guardrail: GuardrailMode = "presence"
) -> int:
    from cli.progress import Progress
    from core.aws.assume import POOL, RoleAssumer, new_session
    from core.aws.clients import client, region_of
    from core.aws.gateway import Retrier
    from core.aws.iam import IamGateway
    from core.aws.organizations import OrganizationsGateway
    from core.aws.sts import caller_account_id
    from core.org.fanout import FanOutSettings
    from core.org.report import digest_of, render_org
    from core.org.sweep import OrgSweepOptions, sweep_organization
    from core.sweep.selection import FAIL_ON_EXIT, failing, selected_org

    session = new_session()
    progress = Progress.for_terminal(quiet=args.quiet, no_progress=args.no_progress)
    options = OrgSweepOptions(
        on_account=progress.accounts,
        notify_owners=bool(getattr(args, "notify_owners", False)),
        guardrail=guardrail,
        audit_role=args.org_role or AUDIT_ROLE,
        write_role=args.org_write_role or ENFORCE_ROLE,
        fan_out=FanOutSettings(
            max_concurrency=args.max_concurrency or DEFAULT_MAX_CONCURRENCY,
            max_failed_percent=(
                DEFAULT_MAX_FAILED_PERCENT if args.max_failed_percent is None else args.max_failed_percent
            ),
        ),
    )
    caller = caller_account_id(client("sts", session=session, **POOL))
    organizations = OrganizationsGateway(client("organizations", session=session, **POOL))
    try:
        result = sweep_organization(
            organizations,
            caller_account_id=caller,
            assumer=RoleAssumer(session),
            settings=settings,
            options=options,
            include=args.include_account,
            exclude=args.exclude_account,
            # The caller's own IAM: centralized root access, checked once for the organisation.
            hub_iam=IamGateway(client("iam", session=session, **POOL), retrier=Retrier()),
        )
    finally:
        progress.done()
    shown = selected_org(result, selection_from_args(args))  # the filters change what is printed only
    security_hub = bool(getattr(settings, "security_hub", False))
    emit(
        render_org(
            shown, args.format, security_hub=security_hub, region=region_of("securityhub") or "us-east-1"
        ),
        args.output,
    )
    problems = result.problems(options.fan_out.max_failed_percent)
    attention = any(a.attention for a in result.accounts) or result.organization_attention
    if not settings.quiet_runs or attention or result.failed_accounts:
        try:
            sink.send(digest_of(result))
        except DeliveryError as exc:
            problems.append(str(exc))
    for relayed in (alert for account in result.accounts for alert in account.relayed):
        try:
            sink.send(relayed)
        except DeliveryError as exc:
            problems.append(str(exc))
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        print(f"iam-guard audit: {problems[0]}{more}", file=sys.stderr)
        return 1
    printed = [*shown.organization_findings, *(f for a in shown.accounts for f in a.findings)]
    return FAIL_ON_EXIT if failing(printed, args.fail_on) else 0


def run_enforce(args: argparse.Namespace, raw: Any, settings: Settings) -> int:
    """``enforce --org-role NAME``: the event's account names the member; act there only."""
    from core.aws.assume import RoleAssumer, new_session
    from core.enforce.actions import GuardrailCache
    from core.org.enforce import enforce_member_event

    _, sink = sink_from_args(args)
    assumer = RoleAssumer(new_session())
    result = enforce_member_event(
        raw, assumer=assumer, role_name=args.org_role, settings=settings, sink=sink, cache=GuardrailCache()
    )
    print(json.dumps({"account_id": result.meta.account_id, **result.to_dict()}, indent=2))
    return 0
