"""``iam-guard audit``: run the sweep against the current credentials and print the findings.

Read-only by default: no IAM write of any kind; enrolments, heals and remediations are reported as
``would-enrol`` / ``would-heal`` / ``would-remediate``. ``--apply`` makes the IAM writes the other flags
ask for (enrolment always, healing with ``--heal-guardrail``, key deactivation with ``--remediate`` /
``--remediate-unused-keys``); ``--dry-run`` is still accepted and means read-only.

stdout: the result only (table, JSON or CSV). Exit 0 when the sweep ran, findings or not; 1 on an AWS
failure (including a failed enrolment/remediation/heal, an undelivered alert, or findings that did not
reach Security Hub, each named), after printing what ran; 2 on bad arguments. The account ID comes from
ARNs the sweep already reads (no STS call); with ``--security-hub`` the findings are imported with the
same credentials, into that account's Security Hub (JSON: ``security_hub``; table: its last line; CSV: a
line on stderr, so stdout stays CSV).

The guardrail is checked from the account listing the sweep reads anyway. A laptop's flags must never
overwrite a deployed guardrail: with the policy flags (``--allowed-cidr`` ...) the live policy is compared
with the one they render and differences are reported; it is healed only with ``--heal-guardrail``.
Without policy flags only the group, the policy and the attachment are checked.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from typing import TYPE_CHECKING

from cli.delivery import add_delivery_arguments, sink_from_args
from cli.options import (
    add_aws_arguments,
    add_from_stack_argument,
    add_output_arguments,
    add_policy_arguments,
    add_self_protection_arguments,
    add_target_arguments,
    check_output,
    emit,
    from_stack_name,
    selection_from_args,
    settings_from_args,
    whole_number,
)
from cli.org import add_audit_org_arguments, check_audit_flags
from core.model.errors import InvalidInputError, SettingsError
from core.model.settings import MAX_HYGIENE_DAYS, MAX_SSH_AUDIT_USERS
from core.sweep.output import FORMATS

if TYPE_CHECKING:
    from core.model.settings import Settings
    from core.sweep.run import GuardrailMode, OwnerSender


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--format",
        choices=FORMATS,
        default="table",
        help="output format (default table); ocsf: OCSF 1.1 Detection Findings, asff: Security Hub's format",
    )
    add_target_arguments(parser)
    group = parser.add_argument_group("sweep")
    group.add_argument(
        "--apply",
        action="store_true",
        help="make the IAM changes the sweep finds: enrol (always), heal (--heal-guardrail), deactivate "
        "keys (--remediate, --remediate-unused-keys) and service credentials "
        "(--remediate-service-credentials); without it the audit is read-only",
    )
    group.add_argument(
        "--grace-days", type=_grace_days, metavar="N", help="days after user creation before MFA is due (7)"
    )
    group.add_argument(
        "--remediate",
        action="store_true",
        help="after the grace period, deactivate (never delete) the access keys of users without MFA",
    )
    group.add_argument(
        "--heal-guardrail",
        action="store_true",
        help="make the group and policy match the policy flags (needs --allowed-cidr, --allowed-vpce or "
        "--no-ip-restriction); without it, differences are only reported",
    )
    group.add_argument(
        "--security-hub",
        action="store_true",
        help="import every finding into this account's Security Hub (ASFF; archives what is fixed)",
    )
    hygiene = parser.add_argument_group("credential hygiene")
    hygiene.add_argument(
        "--unused-days",
        type=_hygiene_days,
        metavar="N",
        help="flag a console password or active access key unused for N days or more (45; 0 = off)",
    )
    hygiene.add_argument(
        "--key-max-age-days",
        type=_hygiene_days,
        metavar="N",
        help="flag an active access key created more than N days ago (90; 0 = off)",
    )
    hygiene.add_argument(
        "--remediate-unused-keys",
        action="store_true",
        help="deactivate (never delete) active access keys unused for --unused-days, after a live re-check",
    )
    hygiene.add_argument(
        "--ssh-key-audit-users-per-run",
        type=_ssh_audit_users,
        metavar="N",
        help="read the SSH public keys of about N users (one ListSSHPublicKeys each), a different "
        "deterministic subset each day (0 = off, the default)",
    )
    hygiene.add_argument(
        "--remediate-service-credentials",
        action="store_true",
        help="after the grace period, deactivate (never delete) the active service-specific credentials "
        "of guarded users, after a live re-check",
    )
    owners = parser.add_argument_group("owners")
    owners.add_argument(
        "--default-owner",
        metavar="OWNER",
        help="owner of users without an owner tag: an e-mail address and/or a Slack member ID "
        "(space-separated)",
    )
    owners.add_argument(
        "--warning-days",
        metavar="7,3,1",
        help="days before a planned action on which the owner is warned (default 7,3,1)",
    )
    owners.add_argument(
        "--notify-owners",
        action="store_true",
        help="compute the owners' warnings and notices due now and list them (JSON: notifications); "
        "nothing is sent",
    )
    owners.add_argument(
        "--send-notifications",
        action="store_true",
        help="send them too (implies --notify-owners; needs --state-table), each stage once; like "
        "--sns-topic-arn it is output, not an IAM change, so it sends whatever --dry-run says",
    )
    owners.add_argument(
        "--state-table",
        metavar="NAME",
        help="DynamoDB table recording the stages sent (the stack's NotificationsTableName)",
    )
    owners.add_argument(
        "--owner-email-sender",
        metavar="ADDRESS",
        help="SES identity (verified in us-east-1) owner e-mail is sent from; without it no owner e-mail",
    )
    owners.add_argument(
        "--slack-bot-token-secret-arn",
        metavar="ARN",
        help='secret {"token": "xoxb-..."} of the Slack bot that messages owners directly (never printed)',
    )
    add_policy_arguments(parser)
    add_self_protection_arguments(parser)
    add_delivery_arguments(parser)
    add_audit_org_arguments(parser)
    add_from_stack_argument(parser)
    add_output_arguments(parser)
    add_aws_arguments(parser)


def run(args: argparse.Namespace) -> int:
    from cli.org import run_audit
    from cli.progress import Progress
    from core.aws.clients import region_of
    from core.aws.cloudformation import CloudFormationGateway
    from core.aws.gateway import CallCounter
    from core.aws.iam import IamGateway, default_iam_client
    from core.aws.infrastructure import InfrastructureGateway
    from core.sweep.output import format_report
    from core.sweep.run import run_sweep
    from core.sweep.selection import FAIL_ON_EXIT, failing, selected

    # The result (stdout) and one reason line (stderr) say everything; keep the core's logs out of them.
    logging.getLogger().addHandler(logging.NullHandler())
    check_audit_flags(args)
    check_output(args.output)  # before any AWS call (--from-stack makes one)
    mode = guardrail_mode(args)
    # Without policy flags no policy is rendered, so the network settings do not apply.
    fixed = {} if mode != "presence" else {"ip_restriction": False}
    # Read-only unless --apply: no IAM write of any kind (delivery and Security Hub are output, not writes).
    settings = settings_from_args(args, security_hub=args.security_hub, dry_run=read_only(args), **fixed)
    _recorder, sink = sink_from_args(args)
    sender = owner_sender(args, settings)
    if args.org:  # the same sweep in every member account (cli.org)
        if sender is not None:
            raise SettingsError(
                "--send-notifications: not yet available with --org (--notify-owners lists them)"
            )
        return run_audit(args, settings, sink, guardrail=mode)
    progress = Progress.for_terminal(quiet=args.quiet, no_progress=args.no_progress)
    counter = CallCounter(on_call=progress.call if progress.enabled else None)
    iam = IamGateway(client_factory=lambda: counter.attach(default_iam_client()))
    deployed = settings.stack_name is not None  # the deployed stack: is its enforcer still switched on?
    try:
        result = run_sweep(
            iam,
            sink,
            settings,
            guardrail=mode,
            sleep=progress.waiting_sleep,
            infrastructure=InfrastructureGateway() if deployed else None,
            cloudformation=CloudFormationGateway() if deployed else None,
            notify_owners=args.notify_owners,
            send_owner_notifications=sender,
        )
    finally:
        progress.done()
    shown = selected(result, selection_from_args(args))  # the filters change what is printed only
    region = region_of("securityhub") or "us-east-1"  # what the findings' regional fields say
    emit(format_report(shown, args.format, iam_calls=counter.total, region=region), args.output)
    if result.security_hub is not None and args.format == "csv" and not args.quiet:
        print(result.security_hub.summary(), file=sys.stderr)
    problems = [f"{f.user}: {f.detail.rsplit('; ', 1)[-1]}" for f in result.failures]
    if result.delivery_error:
        problems.append(result.delivery_error)
    problems += [
        f"owner notification to {d.notification.owner} ({d.notification.channel}) failed: {d.reason}"
        for d in result.deliveries or ()
        if d.failed
    ]
    if result.guardrail == "failed":
        problems.append("the guardrail could not be healed (see the guardrail-drift finding)")
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        print(f"iam-guard audit: {problems[0]}{more}", file=sys.stderr)
    imported = result.security_hub.problem() if result.security_hub else None
    if imported:  # its own line: every finding that did not reach Security Hub is named
        print(f"iam-guard audit: {imported}", file=sys.stderr)
    if problems or imported:
        return 1
    return FAIL_ON_EXIT if failing(shown.findings, args.fail_on) else 0


def read_only(args: argparse.Namespace) -> bool:
    """True unless ``--apply``; ``--dry-run`` still means read-only, and contradicts ``--apply``."""
    if args.apply and args.dry_run:
        raise InvalidInputError(
            "--apply and --dry-run contradict each other: give one (read-only is the default)"
        )
    return not args.apply


def owner_sender(args: argparse.Namespace, settings: Settings) -> OwnerSender | None:
    """With --send-notifications: the state table and the owner channels the flags turn on (the same
    core code the sweep function sends with)."""
    if not args.send_notifications:
        return None
    if not settings.notifications_table:
        raise SettingsError(
            "--send-notifications needs --state-table NAME (the stack's NotificationsTableName), so that "
            "each stage is sent once"
        )
    from core.sweep.owner_delivery import owner_sender as sender_of

    return sender_of(settings, slack_api_url=slack_api_url())


def slack_api_url() -> str | None:
    """``IAM_GUARD_SLACK_API_URL``: another Slack Web API base (tests: a loopback stand-in); https only."""
    raw = os.environ.get("IAM_GUARD_SLACK_API_URL", "").strip()
    if not raw:
        return None
    from core.report.webhook import validate_url

    return validate_url(raw, "IAM_GUARD_SLACK_API_URL").rstrip("/") + "/"


def guardrail_mode(args: argparse.Namespace) -> GuardrailMode:
    """heal / report with policy flags, presence without; --heal-guardrail needs the flags."""
    # --from-stack: the stack's own policy settings, to compare with and heal to.
    has_policy = bool(
        args.allowed_cidr
        or args.allowed_vpce
        or getattr(args, "allowed_vpce_org", None)
        or getattr(args, "allowed_vpce_account", None)
        or getattr(args, "allowed_vpc", None)
        or args.no_ip_restriction
        or from_stack_name(args)
    )
    if args.heal_guardrail and not has_policy:
        raise SettingsError(
            "--heal-guardrail needs the policy to heal to: give --allowed-cidr, --allowed-vpce or "
            "--no-ip-restriction (and the other policy flags of the deployed stack)"
        )
    if not has_policy:
        return "presence"
    return "heal" if args.heal_guardrail else "report"


def _grace_days(text: str) -> int:
    return whole_number(text, 0, 365, "days")


def _hygiene_days(text: str) -> int:
    return whole_number(text, 0, MAX_HYGIENE_DAYS, "days")


def _ssh_audit_users(text: str) -> int:
    return whole_number(text, 0, MAX_SSH_AUDIT_USERS, "users")
