"""``iam-guard enforce --event FILE``: run the enforcer's core on one EventBridge event file.

Acts on the account of the current AWS credentials (boto3's standard configuration, so
``AWS_ENDPOINT_URL`` works) and prints one JSON object: what was done, or why nothing was.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cli.delivery import add_delivery_arguments, sink_from_args
from cli.options import (
    add_aws_arguments,
    add_from_stack_argument,
    add_policy_arguments,
    add_self_protection_arguments,
    add_target_arguments,
    settings_from_args,
)
from cli.org import role_name
from core.model.errors import InvalidInputError

if TYPE_CHECKING:
    from core.enforce.events import IamApiCallEvent


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--event", required=True, metavar="FILE", help="EventBridge event (JSON file)")
    add_policy_arguments(parser)
    add_self_protection_arguments(parser)
    add_target_arguments(parser)
    add_delivery_arguments(parser)
    parser.add_argument(
        "--guardduty-findings",
        action="store_true",
        help="handle GuardDuty findings on IAM users' keys (as the stack with GuardDutyFindings=true)",
    )
    parser.add_argument(
        "--guardduty-min-severity",
        metavar="N",
        help="the lowest GuardDuty severity handled (1.0 to 10.0, default 7)",
    )
    parser.add_argument(
        "--org-role",
        type=role_name,
        metavar="NAME",
        help="enforce in the member account the event names, through this role there (IAMGuardEnforceRole)",
    )
    add_from_stack_argument(parser)
    add_aws_arguments(parser)


def run(args: argparse.Namespace) -> int:
    from core.aws.cloudformation import CloudFormationGateway
    from core.aws.cloudtrail import CloudTrailGateway
    from core.aws.guardduty import FindingsGateway
    from core.aws.health import HealthGateway
    from core.aws.iam import IamGateway
    from core.enforce.actions import GuardrailCache
    from core.enforce.enforcer import enforce

    settings = settings_from_args(args)
    if args.org_role:  # the member account the event names (cli.org)
        from cli.org import run_enforce

        return run_enforce(args, _read_json(Path(args.event)), settings)
    event = _read_event(Path(args.event))
    _check_account(event)
    _, sink = sink_from_args(args)
    result = enforce(
        event,
        settings=settings,
        iam=IamGateway(),
        sink=sink,
        cache=GuardrailCache(),
        # With --stack-name, changes to the stack's resources are recognised (its own updates told apart).
        cloudformation=CloudFormationGateway() if settings.stack_name else None,
        trail=CloudTrailGateway,  # what a leaked key did (Health events only)
        findings=FindingsGateway,  # a GuardDuty finding read back in its region
        health=HealthGateway(),  # a Health event corroborated where the support plan allows
    )
    print(json.dumps(result.to_dict(), indent=2))
    return 0


def _read_event(path: Path) -> IamApiCallEvent:
    from core.enforce.events import parse_event

    return parse_event(_read_json(path))


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InvalidInputError(f"cannot read {path}: {exc.strerror or exc}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidInputError(f"{path} is not JSON: {exc}") from None
    except RecursionError:
        raise InvalidInputError(f"{path} is nested too deeply to be an EventBridge event") from None


def _check_account(event: IamApiCallEvent) -> None:
    """The event's account decides the policy ARN: refuse to act on another account's event."""
    from core.aws.sts import caller_account_id

    account = caller_account_id()
    if event.account != account:
        raise InvalidInputError(
            f"the event is from account {event.account} but the current credentials are for {account}"
        )
