"""Flags shared by several subcommands, mapped onto the one ``Settings`` model."""

from __future__ import annotations

import argparse
from typing import Any

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
        "--mfa-mode",
        choices=("strict", "console"),
        default="strict",
        help="strict (default): MFA also gates access keys; console: the seed's behaviour",
    )
    group.add_argument(
        "--no-ip-restriction",
        action="store_true",
        help="render the policy without the network statement (MFA gate only)",
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


def settings_from_args(args: argparse.Namespace, **extra: Any) -> Settings:
    """One ``Settings`` from whichever of the shared flags this subcommand defines."""
    values: dict[str, Any] = {}
    mapping = {
        "allowed_cidr": "allowed_cidrs",
        "allowed_vpce": "allowed_vpce_ids",
        "allowed_vpce_org": "allowed_vpce_org",
        "allowed_vpce_account": "allowed_vpce_accounts",
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
    }
    for flag, field in mapping.items():
        if hasattr(args, flag):
            value = getattr(args, flag)
            values[field] = tuple(value) if isinstance(value, list) else value
    if hasattr(args, "no_ip_restriction"):
        values["ip_restriction"] = not args.no_ip_restriction
    if "exempt_users" in values:
        values["exempt_users"] = frozenset(values["exempt_users"])
    return build_settings(**{**values, **extra})  # what the command fixes wins over its flags
