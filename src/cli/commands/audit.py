"""``iam-guard audit``: run the sweep against the current credentials and print the findings.

stdout: the result only (table, JSON or CSV). Exit 0 when the sweep ran, findings or not; 1 on an AWS
failure (including a failed enrolment/remediation, an undelivered alert, or findings that did not reach
Security Hub, each named), after printing what ran; 2 on bad arguments. The account ID comes from ARNs
the sweep already reads (no STS call); with ``--security-hub`` the findings are imported with the same
credentials, into that account's Security Hub (JSON: ``security_hub``; table: its last line; CSV: a
line on stderr, so stdout stays CSV).
"""

from __future__ import annotations

import argparse
import logging
import sys

from cli.delivery import add_delivery_arguments, sink_from_args
from cli.options import add_target_arguments, settings_from_args
from core.aws import CallCounter
from core.iam import IamGateway, default_iam_client
from core.report_format import FORMATS, render
from core.sweep import run_sweep


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--format", choices=FORMATS, default="table", help="output format (default table)")
    add_target_arguments(parser)
    group = parser.add_argument_group("sweep")
    group.add_argument(
        "--grace-days", type=_grace_days, metavar="N", help="days after user creation before MFA is due (7)"
    )
    group.add_argument(
        "--remediate",
        action="store_true",
        help="after the grace period, deactivate (never delete) the access keys of users without MFA",
    )
    group.add_argument(
        "--security-hub",
        action="store_true",
        help="import every finding into this account's Security Hub (ASFF; archives what is fixed)",
    )
    add_delivery_arguments(parser)


def run(args: argparse.Namespace) -> int:
    # The result (stdout) and one reason line (stderr) say everything; keep the core's logs out of them.
    logging.getLogger().addHandler(logging.NullHandler())
    # The audit renders no policy, so the network settings do not apply.
    settings = settings_from_args(args, ip_restriction=False, security_hub=args.security_hub)
    _recorder, sink = sink_from_args(args)
    counter = CallCounter()
    iam = IamGateway(client_factory=lambda: counter.attach(default_iam_client()))
    result = run_sweep(iam, sink, settings)  # Security Hub (if on): a client of the same credentials
    print(render(result, args.format, iam_calls=counter.total))
    if result.security_hub is not None and args.format == "csv":
        print(result.security_hub.summary(), file=sys.stderr)
    problems = [f"{f.user}: {f.detail.rsplit('; ', 1)[-1]}" for f in result.failures]
    if result.delivery_error:
        problems.append(result.delivery_error)
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        print(f"iam-guard audit: {problems[0]}{more}", file=sys.stderr)
    imported = result.security_hub.problem() if result.security_hub else None
    if imported:  # its own line: every finding that did not reach Security Hub is named
        print(f"iam-guard audit: {imported}", file=sys.stderr)
    return 1 if problems or imported else 0


def _grace_days(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of days") from None
    if not 0 <= value <= 365:
        raise argparse.ArgumentTypeError(f"{value} is outside 0..365")
    return value
