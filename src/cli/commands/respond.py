"""``iam-guard respond --access-key-id KEY [--apply]``: the leaked-key response, by hand.

The same steps as the enforcer's answer to an AWS Health leak event (``core.enforce.leak``), for one key,
against the account of the current AWS credentials. Read-only unless ``--apply`` (which gates IAM writes
only). ``--from-stack`` takes the deployed stack's group, exemptions and summary regions (never its
``LeakedKeyAction``: the person running it decides with ``--apply``). A person's decision needs no
corroboration by AWS: ``--apply`` deactivates the key even when AWS's quarantine policy is not on the user.

Prints one JSON object; exit 0 it ran (whatever it found), 2 a malformed key ID or another account's key
(nothing done), 1 an AWS failure. The secret access key is never known to IAM Guard, so never printed.
"""

from __future__ import annotations

import argparse
import json
import time
from datetime import UTC, datetime
from typing import Any

from cli.delivery import add_delivery_arguments, sink_from_args
from cli.options import add_aws_arguments, add_from_stack_argument
from core.model.errors import InvalidInputError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--access-key-id", required=True, metavar="KEY", help="the leaked access key ID (AKIA...)"
    )
    parser.add_argument(
        "--apply",
        action="store_true",
        help="make the changes (deactivate, revoke sessions, tag, enrol); without it nothing is written",
    )
    group = parser.add_argument_group("target")
    group.add_argument("--group-name", metavar="G", help="secured IAM group (default IAMGuardSecuredUsers)")
    group.add_argument(
        "--exempt-user", action="append", default=[], metavar="U", help="never enrol this user (repeatable)"
    )
    group.add_argument("--exempt-tag", metavar="KEY", help="exempting tag key (default iam-guard:exempt)")
    add_from_stack_argument(parser)
    add_delivery_arguments(parser)
    add_aws_arguments(parser)


def run(args: argparse.Namespace) -> int:
    from cli.options import settings_from_args
    from core.aws.iam import IamGateway
    from core.aws.sts import KeyOwnerGateway, caller_account_id
    from core.enforce import leak_alerts
    from core.enforce.actions import GuardrailCache, Run
    from core.enforce.commands import EventMeta, LeakedKeyReported
    from core.enforce.leak import respond_to_key
    from core.enforce.risk import is_access_key_id

    key = args.access_key_id.strip()
    if not is_access_key_id(key):
        raise InvalidInputError(
            f"--access-key-id: {key!r} is not an access key ID "
            "(AKIA or ASIA, then 16 capital letters or digits)"
        )
    # Nothing here renders a policy: the network settings do not apply.
    settings = settings_from_args(args, dry_run=not args.apply, ip_restriction=False)
    _recorder, sink = sink_from_args(args)
    account = caller_account_id()
    now = datetime.now(UTC)
    meta = EventMeta("respond", "", account, "", "", now)
    from core.aws.cloudtrail import CloudTrailGateway

    run_ = Run(
        settings,
        IamGateway(),
        GuardrailCache(),
        now,
        meta,
        time.sleep,
        None,
        KeyOwnerGateway(),
        CloudTrailGateway,
    )
    response = respond_to_key(key, run_, confirmed=True)
    if response.verdict == "other-account":
        raise InvalidInputError(
            f"{key} belongs to account {response.account_id}, not {account} (the current credentials'): "
            "nothing done"
        )
    command = LeakedKeyReported(meta, (key,), "manual", "manual", confirmed=True)
    alert = leak_alerts.for_key(meta, settings, command, response)
    delivery_errors: list[str] = []
    if args.apply:  # a plan is printed, not alerted
        from core.model.errors import DeliveryError

        try:
            sink.send(alert)
        except DeliveryError as exc:
            delivery_errors.append(str(exc))
    print(json.dumps(_result(response, alert.summary, not args.apply, delivery_errors), indent=2))
    return 0


def _result(response: Any, reason: str, dry_run: bool, delivery_errors: list[str]) -> dict[str, Any]:
    found = response.to_dict()
    return {
        "access_key_id": found["access_key_id"],
        "account_id": found["account_id"],
        "user": found["user"],
        "verdict": found["verdict"],
        "actions": [{"change": a["change"], "status": a["status"]} for a in found["actions"]],
        "reason": reason,
        "summary": found["summary"],  # what the key did (CloudTrail), one paragraph
        "dry_run": dry_run,
        "delivery_errors": delivery_errors,
    }
