"""What the enforcer cannot report about itself, checked by the sweep: is it still switched on?

A disabled rule, a function throttled to zero or replaced by hand, produces no event the enforcer could
handle - it never runs. Every sweep reads the enforcer's rule and function and the stack's last finished
operation (5 calls, none of them IAM), and ``enforcer_problems`` (pure) says what is wrong.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, NamedTuple

from core.aws.cloudformation import CloudFormationGateway, last_finished_operation
from core.aws.iam import parse_iam_timestamp, permissions_of
from core.aws.infrastructure import InfrastructureGateway
from core.model.errors import IamGuardError, NotFoundError
from core.model.naming import ENFORCER_FUNCTION, ENFORCER_RULE, resource_name

PERMISSIONS = permissions_of(
    InfrastructureGateway.rule_state,
    InfrastructureGateway.rule_target_arns,
    InfrastructureGateway.function_configuration,
    InfrastructureGateway.reserved_concurrency,
    CloudFormationGateway.recent_events,
)


class EnforcerFacts(NamedTuple):
    """What AWS says about the enforcer's rule and function."""

    rule_state: str
    target_arns: tuple[str, ...]
    function_arn: str
    function_state: str
    last_modified: datetime | None
    reserved_concurrency: int | None
    stack_settled_at: datetime | None  # when the stack last finished an operation (None: running/unknown)


class EnforcerHealth(NamedTuple):
    """The enforcer self-check's verdict and the problems found."""

    status: str  # ok, problems, not-checked, failed
    problems: tuple[str, ...] = ()


MISSING = "missing"  # a rule or function AWS says does not exist (NotFound): not a failed read


def read_enforcer(
    infrastructure: InfrastructureGateway, cloudformation: CloudFormationGateway, stack: str
) -> EnforcerFacts:
    """The rule's and the function's facts; a deleted one reads as ``MISSING`` (its other reads skipped),
    so a deleted rule and a deleted function are both named, never taken for a failed sweep."""
    rule, function = resource_name(stack, ENFORCER_RULE), resource_name(stack, ENFORCER_FUNCTION)
    try:
        rule_state = infrastructure.rule_state(rule)
        targets = tuple(infrastructure.rule_target_arns(rule))
    except NotFoundError:
        rule_state, targets = MISSING, ()
    try:
        configuration = infrastructure.function_configuration(function)
        concurrency = infrastructure.reserved_concurrency(function)
    except NotFoundError:
        configuration, concurrency = {"State": MISSING}, None
    finished = last_finished_operation(cloudformation.recent_events(stack), stack)
    return EnforcerFacts(
        rule_state=rule_state,
        target_arns=targets,
        function_arn=str(configuration.get("FunctionArn", "")),
        function_state=str(configuration.get("State", "Active")),
        last_modified=_moment(configuration.get("LastModified")),
        reserved_concurrency=concurrency,
        stack_settled_at=finished.timestamp if finished else None,
    )


def enforcer_problems(facts: EnforcerFacts) -> list[str]:
    """Everything that keeps the enforcer from running as deployed, one sentence each."""
    problems = []
    if facts.rule_state != "ENABLED":
        problems.append(f"its EventBridge rule is {facts.rule_state or MISSING}: no IAM event reaches it")
    # A missing rule has no targets and a missing function no ARN: each is said once, on its own line.
    targets_checked = MISSING not in (facts.rule_state, facts.function_state)
    if targets_checked and not any(_same_function(arn, facts.function_arn) for arn in facts.target_arns):
        named = ", ".join(facts.target_arns) or "nothing"
        problems.append(f"its EventBridge rule no longer targets the enforcer function (it targets {named})")
    if facts.reserved_concurrency == 0:
        problems.append("its reserved concurrency is 0: every invocation is throttled")
    if facts.function_state == MISSING:
        problems.append("the function is missing: deleted, no IAM event is handled")
    elif facts.function_state not in ("Active", ""):
        problems.append(f"the function is {facts.function_state}")
    settled, modified = facts.stack_settled_at, facts.last_modified
    if settled is not None and modified is not None and modified > settled:
        problems.append(
            f"the function was changed at {modified.isoformat(timespec='seconds')}, after the stack's last "
            f"deployment ({settled.isoformat(timespec='seconds')}): code or configuration edited by hand"
        )
    return problems


def check_enforcer(
    infrastructure: InfrastructureGateway, cloudformation: CloudFormationGateway, stack: str | None
) -> EnforcerHealth:
    if stack is None:
        return EnforcerHealth("not-checked")
    try:
        problems = enforcer_problems(read_enforcer(infrastructure, cloudformation, stack))
    except NotFoundError as exc:
        return EnforcerHealth(
            "problems", (f"the enforcer's {exc.operation} found nothing: {exc.aws_message}",)
        )
    except IamGuardError as exc:
        return EnforcerHealth("failed", (str(exc),))
    return EnforcerHealth("problems" if problems else "ok", tuple(problems))


def _moment(value: Any) -> datetime | None:
    """Lambda's LastModified is a string (``2026-11-29T19:29:53.000+0000``); emulators may send a datetime."""
    if isinstance(value, datetime):
        return value
    return parse_iam_timestamp(value) if isinstance(value, str) and value else None


def _same_function(target_arn: str, function_arn: str) -> bool:
    """The stack's rule targets the function's unqualified ARN (``$LATEST``, whose LastModified is read
    above). A version or alias (``...:function:name:1``, ``...:name:evil``) shares the ARN's prefix but may
    run other code, which nothing here reads: not the enforcer as deployed; nor is ``...:name-evil``."""
    return bool(function_arn) and target_arn in (function_arn, f"{function_arn}:$LATEST")
