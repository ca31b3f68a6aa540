"""Flags shared by several subcommands, mapped onto the one ``Settings`` model."""

from __future__ import annotations

import argparse
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from core.model.errors import AwsError, InvalidInputError
from core.model.naming import PARTITIONS, partition_of_region
from core.model.settings import DEFAULT_EXEMPT_TAG_KEY, DEFAULT_OWNER_TAG_KEY, Settings, build_settings


def add_policy_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("policy")
    group.add_argument(
        "--allowed-cidr",
        action="append",
        default=[],
        metavar="CIDR",
        help="allowed source network, IPv4 or IPv6 (repeatable)",
    )
    group.add_argument(
        "--allowed-vpce",
        action="append",
        default=[],
        metavar="ID",
        help="allowed VPC endpoint ID, e.g. vpce-0123abcd (repeatable)",
    )
    group.add_argument(
        "--allowed-vpce-org",
        metavar="ORG_ID",
        help="allow any VPC endpoint of this organisation (aws:VpceOrgID, e.g. o-a1b2c3d4e5)",
    )
    group.add_argument(
        "--allowed-vpce-account",
        action="append",
        default=[],
        metavar="ACCOUNT_ID",
        help="allow any VPC endpoint owned by this account (aws:VpceAccount; repeatable)",
    )
    group.add_argument(
        "--allowed-vpc",
        action="append",
        default=[],
        metavar="VPC_ID",
        help="allow requests through any VPC endpoint in this VPC (aws:SourceVpc, e.g. vpc-0a1b2c3d; "
        "repeatable)",
    )
    group.add_argument(
        "--mfa-mode",
        choices=("strict", "console"),
        default=None,  # strict (Settings' default), unless --from-stack says otherwise
        help="strict (default): MFA also gates access keys; console: the seed's behaviour",
    )
    group.add_argument(
        "--no-ip-restriction",
        action="store_true",
        help="render the policy without the network statement (MFA gate only)",
    )
    add_partition_argument(group)


def add_partition_argument(parser: Any) -> None:
    parser.add_argument(
        "--partition",
        choices=PARTITIONS,
        default=None,
        help="the AWS partition the account's ARNs are in (default: the region's - us-gov-* is "
        "aws-us-gov, cn-* aws-cn - else aws)",
    )


def partition_from_args(args: argparse.Namespace, environ: Mapping[str, str] | None = None) -> str:
    """``--partition``, else the partition of ``--region`` / ``AWS_REGION`` / ``AWS_DEFAULT_REGION``."""
    if getattr(args, "partition", None):
        return str(args.partition)
    env = os.environ if environ is None else environ
    return partition_of_region(
        getattr(args, "region", None) or env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION")
    )


def whole_number(text: str, low: int, high: int, unit: str = "") -> int:
    """An argparse value: a whole number in low..high, or a one-line reason (argparse exits 2)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number{unit and ' of ' + unit}") from None
    if not low <= value <= high:
        raise argparse.ArgumentTypeError(f"{value} is outside {low}..{high}")
    return value


def add_guardrail_arguments(parser: argparse.ArgumentParser) -> None:
    """What else ``iam-guard policy`` renders for: the names it protects, self-protection, MFA age."""
    group = parser.add_argument_group("guardrail")
    group.add_argument(
        "--group-name",
        metavar="G",
        help="secured IAM group, which --stack-name also protects (default IAMGuardSecuredUsers)",
    )
    group.add_argument(
        "--policy-name",
        metavar="P",
        help="guardrail policy, which --stack-name also protects (default IAMGuardSecureIAMPolicy)",
    )
    group.add_argument(
        "--exempt-tag",
        metavar="KEY",
        help="exempting tag key that guarded users may not set, remove or create users with, "
        f"in any letter case (default {DEFAULT_EXEMPT_TAG_KEY})",
    )
    group.add_argument(
        "--owner-tag-key",
        metavar="KEY",
        help=f"tag key naming a user's owner, which guarded users may not set, change or remove "
        f"(default {DEFAULT_OWNER_TAG_KEY})",
    )
    group.add_argument(
        "--slack-secret-arn",
        metavar="ARN",
        help="the Slack webhook's secret: protected like a --protect-secret (its alias for that secret)",
    )
    add_self_protection_arguments(parser)


def add_self_protection_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("self-protection")
    group.add_argument(
        "--stack-name",
        metavar="NAME",
        help="IAM Guard's CloudFormation stack: adds the statements that deny guarded users everything but "
        "reads on its resources, the secured group and the guardrail policy (none without it); enforce and "
        "audit also watch and check those resources",
    )
    group.add_argument(
        "--max-mfa-age-hours",
        metavar="H",
        help="adds a statement that denies all but self-service when the MFA sign-in is older than H hours "
        "(1-8760; default: no limit)",
    )
    group.add_argument(
        "--protect-secret",
        action="append",
        default=[],
        metavar="ARN",
        help="a Secrets Manager secret IAM Guard depends on (an alert channel's webhook or token), by ARN: "
        "guarded users may read its metadata, not its value, nor change, delete or re-policy it; enforce "
        "and audit also watch and check it (repeatable)",
    )


def add_target_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("target")
    group.add_argument("--group-name", metavar="G", help="secured IAM group (default IAMGuardSecuredUsers)")
    group.add_argument("--policy-name", metavar="P", help="managed policy (default IAMGuardSecureIAMPolicy)")
    group.add_argument(
        "--exempt-user", action="append", default=[], metavar="U", help="never enrol this user (repeatable)"
    )
    group.add_argument(
        "--exempt-tag",
        metavar="KEY",
        help=f"exempting tag key: value true, or YYYY-MM-DD until then (default {DEFAULT_EXEMPT_TAG_KEY})",
    )
    group.add_argument(
        "--owner-tag-key",
        metavar="KEY",
        help=f"tag key naming a user's owner, which guarded users may not set, change or remove "
        f"(default {DEFAULT_OWNER_TAG_KEY})",
    )
    group.add_argument("--dry-run", action="store_true", help="change nothing; say what would be done")


FROM_STACK_VAR = "IAM_GUARD_FROM_STACK"  # the only IAM_GUARD_* variable the CLI reads
_STACK = re.compile(
    r"^(arn:aws[\w-]*:cloudformation:[\w-]+:\d{12}:stack/)?[A-Za-z][A-Za-z0-9-]{0,127}(/[\w-]+)?$"
)


def _stack(text: str) -> str:
    if not _STACK.match(text):
        raise argparse.ArgumentTypeError(f"{text!r} is not a CloudFormation stack name")
    return text


def add_from_stack_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--from-stack",
        type=_stack,
        metavar="NAME",
        help=f"take the guardrail and sweep settings of this deployed IAM Guard stack (us-east-1; also "
        f"{FROM_STACK_VAR}); flags given override them; never its DryRun, Remediate or delivery",
    )


def from_stack_name(args: argparse.Namespace, environ: Mapping[str, str] | None = None) -> str | None:
    """``--from-stack``, else ``IAM_GUARD_FROM_STACK`` (checked like the flag), else None."""
    if not hasattr(args, "from_stack"):
        return None
    if args.from_stack:
        return str(args.from_stack)
    raw = (os.environ if environ is None else environ).get(FROM_STACK_VAR, "").strip()
    if not raw:
        return None
    try:
        return _stack(raw)
    except argparse.ArgumentTypeError as exc:
        raise InvalidInputError(f"{FROM_STACK_VAR}: {exc}") from None


def deployed_settings(stack: str) -> dict[str, Any]:
    """The settings ``--from-stack`` takes from the deployed stack (``DescribeStacks``, in us-east-1)."""
    from core.aws.cloudformation import CloudFormationGateway
    from core.model.stack_settings import settings_of_stack

    try:
        facts = CloudFormationGateway().stack(stack)
    except AwsError as exc:
        if exc.code == "ValidationError":  # CloudFormation's answer for a stack that is not there
            raise InvalidInputError(
                f"--from-stack {stack}: no such stack in us-east-1 ({exc.aws_message})"
            ) from None
        raise
    return settings_of_stack(facts.name, facts.parameters, facts.outputs)


def _given(value: Any) -> bool:
    return value is not None and value is not False and value not in ((), frozenset())


def settings_from_args(args: argparse.Namespace, **extra: Any) -> Settings:
    """One ``Settings`` from whichever of the shared flags this subcommand defines.

    With ``--from-stack`` (or ``IAM_GUARD_FROM_STACK``) the deployed stack's settings come first and the
    flags actually given override them.
    """
    values: dict[str, Any] = {}
    mapping = {
        "allowed_cidr": "allowed_cidrs",
        "allowed_vpce": "allowed_vpce_ids",
        "allowed_vpce_org": "allowed_vpce_org",
        "allowed_vpce_account": "allowed_vpce_accounts",
        "allowed_vpc": "allowed_vpcs",
        "mfa_mode": "mfa_mode",
        "group_name": "group_name",
        "policy_name": "policy_name",
        "exempt_user": "exempt_users",
        "exempt_tag": "exempt_tag_key",
        "dry_run": "dry_run",
        "grace_days": "grace_days",
        "remediate": "remediate",
        "unused_days": "unused_days",
        "key_max_age_days": "key_max_age_days",
        "remediate_unused_keys": "remediate_unused_keys",
        "remediate_service_credentials": "remediate_service_credentials",
        "ssh_key_audit_users_per_run": "ssh_key_audit_users_per_run",
        "sns_topic_arn": "sns_topic_arn",
        "stack_name": "stack_name",
        "max_mfa_age_hours": "max_mfa_age_hours",
        "owner_tag_key": "owner_tag_key",
        "default_owner": "default_owner",
        "warning_days": "warning_days",
        "owner_email_sender": "owner_email_sender",
        "slack_bot_token_secret_arn": "slack_bot_token_secret_arn",
        "state_table": "notifications_table",
        "protect_secret": "protect_secrets",
        "slack_secret_arn": "slack_secret_arn",
        "guardduty_findings": "guardduty_findings",
        "guardduty_min_severity": "guardduty_min_severity",
    }
    for flag, field in mapping.items():
        if hasattr(args, flag):
            value = getattr(args, flag)
            values[field] = tuple(value) if isinstance(value, list) else value
    if hasattr(args, "no_ip_restriction"):
        values["ip_restriction"] = not args.no_ip_restriction
    if hasattr(args, "partition"):
        values["partition"] = partition_from_args(args)
    if "exempt_users" in values:
        values["exempt_users"] = frozenset(values["exempt_users"])
    stack = from_stack_name(args)
    if stack is not None:
        given = {k: v for k, v in values.items() if _given(v)}
        if "ip_restriction" in values and not getattr(args, "no_ip_restriction", False):
            given.pop("ip_restriction", None)  # True is the default, not a choice
        deployed = deployed_settings(stack)
        values = {**values, **deployed, **given}
    return build_settings(**{**values, **extra})  # what the command fixes wins over its flags


# --- where AWS is: the AWS CLI's conventions ----------------------------------------------------------

CLI_MAX_ATTEMPTS = 3  # per call: a refused endpoint fails in about a second, a silent one in 3 x read timeout
_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d{1,2}$")
_PROFILE = re.compile(r"^[\w.@+=,:/-]{1,128}$")


def _region(text: str) -> str:
    if not _REGION.match(text):
        raise argparse.ArgumentTypeError(f"{text!r} is not an AWS region (e.g. us-east-1)")
    return text


def _profile(text: str) -> str:
    if not _PROFILE.match(text):
        raise argparse.ArgumentTypeError(f"{text!r} is not a profile name")
    return text


def _endpoint_url(text: str) -> str:
    parts = urlsplit(text)
    if parts.scheme not in {"http", "https"} or not parts.hostname or parts.query or parts.fragment:
        raise argparse.ArgumentTypeError(f"{text!r} is not an endpoint URL (http(s)://host[:port][/path])")
    try:
        parts.port  # noqa: B018 - raises on a port that is not a number
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} has a port that is not a number") from None
    return text


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not 0 < value <= 600:  # NaN fails this too
        raise argparse.ArgumentTypeError(f"{text} is outside 0..600 seconds")
    return value


def add_aws_arguments(parser: argparse.ArgumentParser) -> None:
    """``--profile``, ``--region``, ``--endpoint-url``, ``--read-timeout``: as the AWS CLI has them."""
    group = parser.add_argument_group("AWS connection (as the AWS CLI)")
    group.add_argument(
        "--profile", type=_profile, metavar="NAME", help="named profile (default: AWS_PROFILE)"
    )
    group.add_argument(
        "--region",
        type=_region,
        metavar="REGION",
        help="region of the regional calls, such as Security Hub (default: AWS_REGION, AWS_DEFAULT_REGION, "
        "the profile's); IAM is global and is always reached through us-east-1",
    )
    group.add_argument(
        "--endpoint-url", type=_endpoint_url, metavar="URL", help="send every AWS call to this URL"
    )
    group.add_argument(
        "--read-timeout",
        type=_seconds,
        metavar="S",
        help="seconds to wait for an answer, per attempt (20; at most 3 attempts per call)",
    )


def connect_from_args(args: argparse.Namespace, environ: Mapping[str, str] | None = None) -> None:
    """Point every client of this process (``core.aws.clients``) where the flags and AWS variables say.

    As the AWS CLI: ``--profile`` over ``AWS_PROFILE`` (boto3 reads that one itself); ``--region`` over
    ``AWS_REGION`` over ``AWS_DEFAULT_REGION`` over the profile's region; ``AWS_ENDPOINT_URL`` as boto3
    reads it unless ``--endpoint-url`` is given.
    """
    from core.aws.clients import READ_TIMEOUT, Connection, configure

    env = os.environ if environ is None else environ
    region = getattr(args, "region", None) or env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or None
    configure(
        Connection(
            profile=getattr(args, "profile", None),
            region=region,
            endpoint_url=getattr(args, "endpoint_url", None),
            read_timeout=getattr(args, "read_timeout", None) or READ_TIMEOUT,
            max_attempts=CLI_MAX_ATTEMPTS,
        )
    )


# --- what is printed, and where ------------------------------------------------------------------------


def add_output_arguments(parser: argparse.ArgumentParser) -> None:
    """``--severity``, ``--status``, ``--finding`` (what is printed), ``--fail-on``, ``--output``."""
    from core.sweep.selection import KINDS, SEVERITIES, STATUSES

    group = parser.add_argument_group("output (filters change what is printed only, never alerts)")
    group.add_argument(
        "--severity",
        action="append",
        default=[],
        choices=SEVERITIES,
        help="print only this severity (repeatable)",
    )
    group.add_argument(
        "--status", action="append", default=[], choices=STATUSES, help="print only this status (repeatable)"
    )
    group.add_argument(
        "--finding",
        action="append",
        default=[],
        choices=KINDS,
        metavar="KIND",
        help="print only this kind (repeatable)",
    )
    group.add_argument(
        "--fail-on",
        choices=SEVERITIES,
        metavar="SEVERITY",
        help="exit 3 when a printed finding at or above SEVERITY is violation, would-enrol, would-remediate, "
        "would-heal or failed",
    )
    group.add_argument("--output", metavar="FILE", help="write the result to FILE instead of stdout")
    group.add_argument(
        "--no-progress",
        action="store_true",
        help="no progress lines on stderr (none unless it is a terminal)",
    )
    group.add_argument(
        "-q", "--quiet", action="store_true", help="only errors on stderr (implies --no-progress)"
    )


def selection_from_args(args: argparse.Namespace) -> Any:
    from core.sweep.selection import Selection

    return Selection(frozenset(args.severity), frozenset(args.status), frozenset(args.finding))


def check_output(path: str | None) -> None:
    """An ``--output`` that cannot be written is bad input, found before any AWS call."""
    if path is None:
        return
    target = Path(path)
    if target.is_dir():
        raise InvalidInputError(f"--output {path}: is a directory")
    parent = target.parent
    if not parent.is_dir():
        raise InvalidInputError(f"--output {path}: no such directory {parent}")
    if not os.access(parent, os.W_OK) or (target.exists() and not os.access(target, os.W_OK)):
        raise InvalidInputError(f"--output {path}: not writable")


def emit(text: str, path: str | None) -> None:
    """The result: on stdout, or written whole to ``path`` (a partial file is never left behind)."""
    if path is None:
        print(text)
        return
    import tempfile

    target = Path(path)
    if target.exists() and not target.is_file():  # a device or a pipe (/dev/stdout, a FIFO): write to it
        with target.open("w", encoding="utf-8") as out:
            out.write(text + "\n")
        return
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text + "\n")
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
