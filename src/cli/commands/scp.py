"""``iam-guard scp --stack-name NAME``: print the optional IAMGuardProtect service control policy.

One JSON document on stdout (``--minify``: exactly what Organizations measures against 5,120 characters);
a policy over the limit is refused with one line, exit 2.
"""

from __future__ import annotations

import argparse
import re
import sys

from core.model.naming import STACK_NAME
from core.model.policy_text import policy_json
from core.model.settings import DEFAULT_EXEMPT_TAG_KEY, validate_setting
from core.policy.scp import minified, render_scp

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
        "--exemption-role",
        type=_role,
        action="append",
        default=[],
        metavar="ARN",
        help="full ARN of a role allowed to set the exemption tag and change the guardrail (repeatable)",
    )
    parser.add_argument("--minify", action="store_true", help="print the minified JSON Organizations stores")


def run(args: argparse.Namespace) -> int:
    values = {}
    for flag, field in (
        ("group_name", "group_name"),
        ("policy_name", "policy_name"),
        ("exempt_tag", "exempt_tag_key"),
    ):
        if getattr(args, flag):
            values[field] = validate_setting(field, getattr(args, flag))
    document = render_scp(
        args.stack_name, exemption_roles=args.exemption_role, hub_account=args.hub_account, **values
    )
    if args.hub_account is None:
        print(
            "iam-guard scp: without --hub-account, roles under /iam-guard/<stack>/ in every account are "
            "exempt, and a member administrator can create one",
            file=sys.stderr,
        )
    print(minified(document) if args.minify else policy_json(document))
    return 0
