"""``iam-guard scp --stack-name NAME``: print the optional IAMGuardProtect service control policy;
``--deny-unenrolled`` (with ``--exempt-user NAME``... or ``--no-user-break-glass``) prints the optional
IAMGuardDenyUnenrolled SCP instead.

One JSON document on stdout (``--minify``: exactly what Organizations measures against 5,120 characters);
a policy over the limit is refused with one line, exit 2.
"""

from __future__ import annotations

import argparse
import re
import sys

from cli.options import add_partition_argument, partition_from_args
from core.model.errors import InvalidInputError
from core.model.naming import STACK_NAME
from core.model.policy_text import policy_json
from core.model.settings import DEFAULT_EXEMPT_TAG_KEY, DEFAULT_OWNER_TAG_KEY, validate_setting
from core.policy.scp import minified, render_deny_unenrolled_scp, render_scp

_USER_PATTERN = re.compile(r"^[\w+=,.@-]{1,64}$")
_ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:role/([\w+=,.@-]+/)*[\w+=,.@-]{1,64}\*?$", re.ASCII)
_ACCOUNT = re.compile(r"^\d{12}$")


def _stack_name(text: str) -> str:
    if not STACK_NAME.match(text):
        raise argparse.ArgumentTypeError(f"{text!r} is not a stack name (a letter, then letters, digits, -)")
    return text


def _role(text: str) -> str:
    if not _ROLE_ARN.match(text):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a role ARN (arn:aws:iam::<account>:role/<name>, a trailing * allowed): "
            "a bare name would exempt a role of that name that any member administrator can create"
        )
    return text


def _account(text: str) -> str:
    if not _ACCOUNT.match(text):
        raise argparse.ArgumentTypeError(f"{text!r} is not an AWS account ID (12 digits)")
    return text


def _user(text: str) -> str:
    if not _USER_PATTERN.match(text):
        raise argparse.ArgumentTypeError(f"{text!r} is not an IAM user name")
    return text


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--stack-name",
        required=True,
        type=_stack_name,
        metavar="NAME",
        help="the hub stack (its roles are exempt)",
    )
    parser.add_argument(
        "--hub-account",
        type=_account,
        metavar="ID",
        help="the hub's account: only its roles under /iam-guard/<stack>/ are exempt (without it, such a "
        "role in any account is, and a member administrator can create one)",
    )
    parser.add_argument("--group-name", metavar="G", help="secured IAM group (default IAMGuardSecuredUsers)")
    parser.add_argument(
        "--policy-name", metavar="P", help="guardrail policy (default IAMGuardSecureIAMPolicy)"
    )
    parser.add_argument(
        "--exempt-tag", metavar="KEY", help=f"exemption tag key (default {DEFAULT_EXEMPT_TAG_KEY})"
    )
    parser.add_argument(
        "--owner-tag-key", metavar="KEY", help=f"owner tag key (default {DEFAULT_OWNER_TAG_KEY})"
    )
    parser.add_argument(
        "--exemption-role",
        type=_role,
        action="append",
        default=[],
        metavar="ARN",
        help="full ARN of a role allowed to set the exemption tag and change the guardrail (repeatable)",
    )
    parser.add_argument(
        "--deny-unenrolled",
        action="store_true",
        help="print the IAMGuardDenyUnenrolled SCP: IAM users without the enrolled tag get only MFA setup",
    )
    parser.add_argument(
        "--exempt-user",
        type=_user,
        action="append",
        default=[],
        metavar="NAME",
        help="with --deny-unenrolled: a break-glass user left alone in every member (repeatable)",
    )
    parser.add_argument(
        "--no-user-break-glass",
        action="store_true",
        help="with --deny-unenrolled: no exempt user (root and roles are the break-glass path)",
    )
    parser.add_argument("--minify", action="store_true", help="print the minified JSON Organizations stores")
    add_partition_argument(parser)


def run(args: argparse.Namespace) -> int:
    values = {}
    for flag, field in (
        ("group_name", "group_name"),
        ("policy_name", "policy_name"),
        ("exempt_tag", "exempt_tag_key"),
        ("owner_tag_key", "owner_tag_key"),
    ):
        if getattr(args, flag):
            values[field] = validate_setting(field, getattr(args, flag))
    if args.deny_unenrolled:
        if "owner_tag_key" in values:
            raise InvalidInputError("--owner-tag-key does not apply to --deny-unenrolled")
        if "group_name" in values or "policy_name" in values:
            raise InvalidInputError("--group-name and --policy-name do not apply to --deny-unenrolled")
        document = render_deny_unenrolled_scp(
            args.stack_name,
            exempt_users=args.exempt_user,
            user_break_glass=not args.no_user_break_glass,
            exemption_roles=args.exemption_role,
            partition=partition_from_args(args),
            **values,
        )
    elif args.exempt_user or args.no_user_break_glass:
        raise InvalidInputError("--exempt-user and --no-user-break-glass apply only to --deny-unenrolled")
    else:
        document = render_scp(
            args.stack_name,
            exemption_roles=args.exemption_role,
            hub_account=args.hub_account,
            partition=partition_from_args(args),
            **values,
        )
        if args.hub_account is None:
            print(
                "iam-guard scp: without --hub-account, roles under /iam-guard/<stack>/ in every account are "
                "exempt, and a member administrator can create one",
                file=sys.stderr,
            )
    print(minified(document) if args.minify else policy_json(document))
    return 0
