"""The spoke's fixed names (``org/spoke.yaml``) and what the hub makes of changes to them. Pure.

The StackSet gives every member the same two roles, one forwarding role and two rules, under fixed names:
the hub's roles may assume exactly ``IAMGuardAuditRole`` / ``IAMGuardEnforceRole`` in any account of
the organisation, and the protection SCP names them. Changes to these resources are forwarded to the hub
by the second rule (the first drops events the enforce role caused); the hub cannot heal a StackSet
instance, so it alerts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime, timedelta
from functools import cache
from typing import Any, NamedTuple

from core.aws.cloudformation import StackSetOperation
from core.model.naming import (  # the spoke's fixed names live with every other name
    AUDIT_ROLE,
    ENFORCE_ROLE,
    FORWARD_GUARDDUTY_RULE,
    FORWARD_HEALTH_RULE,
    FORWARD_ROLE,
    FORWARD_RULE,
    SPOKE_CHANGES_RULE,
    SPOKE_ROLES,
    SPOKE_RULES,
    STACKSET_EXECUTION_ROLES,
    same_iam_name,
)
from core.model.settings import Settings
from core.model.validation import FieldError, Fields

__all__ = [  # re-exported: the spoke's names, read here by the hub's code and tests
    "AUDIT_ROLE",
    "ENFORCE_ROLE",
    "FORWARD_GUARDDUTY_RULE",
    "FORWARD_HEALTH_RULE",
    "FORWARD_ROLE",
    "FORWARD_RULE",
    "SPOKE_CHANGES_RULE",
    "SPOKE_ROLES",
    "SPOKE_RULES",
    "STACKSET_EXECUTION_ROLES",
]

ROLE_CHANGE_EVENTS = (
    "AttachRolePolicy",
    "DeleteRole",
    "DeleteRolePermissionsBoundary",
    "DeleteRolePolicy",
    "DetachRolePolicy",
    "PutRolePermissionsBoundary",
    "PutRolePolicy",
    "TagRole",  # as the hub watches its own roles (core.enforce.watch)
    "UntagRole",
    "UpdateAssumeRolePolicy",
    "UpdateRole",
)
RULE_CHANGE_EVENTS = ("DeleteRule", "DisableRule", "PutRule", "PutTargets", "RemoveTargets")
EVENTS_SOURCE = "aws.events"
EVENTS_EVENT_SOURCE = "events.amazonaws.com"


class SpokeChange(NamedTuple):
    """A change to a spoke resource in a member account, and whether the StackSet made it."""

    resource: str  # role/IAMGuardAuditRole, rule/IAMGuardForward
    by_stackset: bool  # made by the StackSet execution role (a rollout), not by a person


def member_settings(settings: Settings) -> Settings:
    """The hub's settings as a member account's guardrail needs them: the spoke is protected, not the
    hub's own stack (whose resources do not exist in the member), and the group's members carry the
    enrolled tag the optional IAMGuardDenyUnenrolled SCP reads."""
    return replace(settings, stack_name=None, protect_spoke=True, tag_enrolled=True)


def spoke_change(raw: Mapping[str, Any]) -> SpokeChange | None:
    """The spoke resource this CloudTrail event (raw EventBridge JSON) changed, or None."""
    from core.enforce.events import (  # the sweep never needs it
        CLOUDTRAIL_DETAIL_TYPE,
        IAM_SOURCE,
        CloudTrailDetail,
    )

    if (
        raw.get("source") not in (IAM_SOURCE, EVENTS_SOURCE)
        or raw.get("detail-type") != CLOUDTRAIL_DETAIL_TYPE
    ):
        return None
    try:
        detail = CloudTrailDetail.read(Fields(raw.get("detail"), "detail"))
    except FieldError:
        return None  # not ours to judge: the enforcer's parser reports malformed events
    if detail.errorCode:
        return None
    params = detail.requestParameters or {}
    resource = ""
    if detail.eventName in ROLE_CHANGE_EVENTS:
        name = str(params.get("roleName") or "")
        resource = next((f"role/{r}" for r in SPOKE_ROLES if name and same_iam_name(name, r)), "")
    elif detail.eventName in RULE_CHANGE_EVENTS and detail.eventSource == EVENTS_EVENT_SOURCE:
        name = str(params.get("name") or params.get("rule") or "")
        resource = f"rule/{name}" if name in SPOKE_RULES else ""
    if not resource:
        return None
    issuer = detail.userIdentity.issuer_arn.rsplit("/", 1)[-1]
    by_stackset = issuer.startswith("stacksets-exec-")
    return SpokeChange(resource, by_stackset)


# CloudTrail records when the call was made; the event reaches the hub seconds to minutes later, when the
# operation may have ended: it counts when it ran at the call's time (give or take the clocks' skew).
OPERATION_CLOCK_SKEW = timedelta(minutes=1)
# An account's result statuses in which the execution role works there (PENDING: not reached yet;
# CANCELLED: never reached).
WORKED_STATUSES = frozenset({"RUNNING", "SUCCEEDED", "FAILED"})


def ran_at(operation: StackSetOperation, at: datetime, now: datetime) -> bool:
    """Whether the StackSet operation was running at ``at``: started before it, and still running
    (RUNNING, STOPPING: no end yet, so up to ``now``) or ended after it."""
    if operation.status == "QUEUED" or operation.started is None:
        return False
    end = operation.ended or now
    return operation.started - OPERATION_CLOCK_SKEW <= at <= end + OPERATION_CLOCK_SKEW


@cache
def role_permissions(guardduty: bool = False) -> tuple[frozenset[str], frozenset[str]]:
    """What each spoke role must grant, from the code: (audit role, enforce role).

    The audit role: the sweep's reads (the routing client sends every Get/List/Generate there); the
    enforce role: the enforcer's calls and the sweep's writes, and the leaked-key response's reads in the
    member (CloudTrail's ``LookupEvents``, the Health API; ``guardduty``: the spoke's
    ``GuardDutyFindings=true`` adds ``guardduty:GetFindings``). Computed on demand: it reads the sweep's
    and the enforcer's declared permissions, which the functions importing this module do not load.
    """
    from core.enforce import actions as enforcement
    from core.org import enforce as member_enforce
    from core.org.routing import is_read_action
    from core.sweep import enrolled_tag
    from core.sweep import run as sweep

    # In a member the sweep makes only IAM calls, and the enforcer IAM calls plus the leaked-key reads:
    # the enforcer's own-stack checks (CloudFormation, EventBridge, Lambda) concern the hub's stack, and
    # whose a key is (STS) is asked with the hub's own credentials.
    member_sweep = frozenset(a for a in sweep.REQUIRED_PERMISSIONS if a.startswith("iam:"))
    member_enforcer = frozenset(a for a in enforcement.REQUIRED_PERMISSIONS if a.startswith("iam:"))
    member_enforcer |= member_enforce.MEMBER_LEAK_READ_PERMISSIONS
    if guardduty:
        member_enforcer |= member_enforce.MEMBER_GUARDDUTY_PERMISSIONS
    reads = frozenset(a for a in member_sweep if is_read_action(a))
    writes = frozenset(a for a in member_sweep if not is_read_action(a))
    return reads | SECURITY_HUB_PERMISSIONS, member_enforcer | writes | enrolled_tag.PERMISSIONS


# Findings are imported with the credentials of the account they describe (ASFF AwsAccountId = caller).
# A hidden finding's Workflow is set back to NEW (BatchUpdateFindings) and its history read: the same calls.
SECURITY_HUB_PERMISSIONS = frozenset(
    {
        "securityhub:BatchImportFindings",
        "securityhub:BatchUpdateFindings",
        "securityhub:GetFindingHistory",
        "securityhub:GetFindings",
    }
)
