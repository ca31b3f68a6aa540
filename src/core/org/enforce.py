"""An IAM event of a member account, enforced in that account: assume the write role there, then run
``core.enforcement.enforce`` exactly as in single-account mode. Nothing is written in any other account."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from core.alerts import AlertSink
from core.enforcement import EnforcementResult, GuardrailCache, enforce, failure_alert, utc_now
from core.errors import DeliveryError, IamGuardError, InvalidEventError
from core.events import IamApiCallEvent, classify
from core.iam import IamGateway
from core.org.access import Assumer, role_arn
from core.org.accounts import ACCOUNT_ID
from core.settings import Settings


def enforce_in_account(
    event: IamApiCallEvent,
    *,
    assumer: Assumer,
    role_name: str,
    settings: Settings,
    sink: AlertSink,
    cache: GuardrailCache,
    ignore_arns: frozenset[str] = frozenset(),
    now: Callable[[], datetime] = utc_now,
) -> EnforcementResult:
    """``event.account`` names the member. Events its own write role caused there are ignored."""
    account = event.account
    if not ACCOUNT_ID.match(account):
        raise InvalidEventError(f"the event's account {account!r} is not an AWS account ID")
    try:
        access = assumer.access(account, role_name, "enforce")
    except IamGuardError as exc:
        try:
            sink.send(failure_alert(classify(event, settings), exc, settings))
        except DeliveryError:
            pass  # the caller reports the AssumeRole failure itself
        raise
    own = ignore_arns | {role_arn(account, role_name)}
    return enforce(
        event,
        settings=settings,
        iam=IamGateway(access.client("iam")),
        sink=sink,
        cache=cache,
        ignore_arns=own,
        now=now,
    )
