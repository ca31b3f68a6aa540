"""``iam-guard audit``: run the sweep against the current credentials and print the findings.

stdout: the result only (table, JSON or CSV). Exit 0 when the sweep ran, findings or not; 1 on an AWS
failure (including a failed enrolment/remediation or an undelivered alert), after printing what ran;
2 on bad arguments. The account ID comes from ARNs the sweep already reads (no STS call).
"""

from __future__ import annotations

import argparse
import logging
import sys

from cli.delivery import add_delivery_arguments, sink_from_args
from cli.options import add_target_arguments, settings_from_args
from core.report_format import FORMATS


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
    add_delivery_arguments(parser)


def run(args: argparse.Namespace) -> int:
    from core.aws import CallCounter
    from core.iam import IamGateway, default_iam_client
    from core.report_format import format_report
    from core.sweep import run_sweep

    # The result (stdout) and one reason line (stderr) say everything; keep the core's logs out of them.
    logging.getLogger().addHandler(logging.NullHandler())
    # The audit renders no policy, so the network settings do not apply.
    settings = settings_from_args(args, ip_restriction=False)
    _recorder, sink = sink_from_args(args)
    counter = CallCounter()
    iam = IamGateway(client_factory=lambda: counter.attach(default_iam_client()))
    result = run_sweep(iam, sink, settings)
    print(format_report(result, args.format, iam_calls=counter.total))
    problems = [f"{f.user}: {f.detail.rsplit('; ', 1)[-1]}" for f in result.failures]
    if result.delivery_error:
        problems.append(result.delivery_error)
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        print(f"iam-guard audit: {problems[0]}{more}", file=sys.stderr)
        return 1
    return 0


def _grace_days(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of days") from None
    if not 0 <= value <= 365:
        raise argparse.ArgumentTypeError(f"{value} is outside 0..365")
    return value
