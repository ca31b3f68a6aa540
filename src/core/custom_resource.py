"""The ``Custom::Guardrail`` CloudFormation resource: the stack's secured group and guardrail policy.

The template passes the same ``IAM_GUARD_*`` settings the functions get as environment variables; they
are validated by ``core.settings``, and the group and policy are made by ``core.guardrail`` - the policy
text exists only in ``core.policy``. Create/Update ensure the guardrail; an Update that renames the
group or the policy ensures the new one, moves the members across, then removes the old one; Delete
removes both. The physical ID never changes, so CloudFormation never sends a Delete for a "replaced"
resource that still holds the live group.

Planning (``plan_request``) is pure; ``apply_plan`` acts; ``handle`` never raises - every failure
becomes a FAILED reply carrying the one-line reason, so the stack never hangs.
"""

from __future__ import annotations

from contextlib import suppress
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from core.errors import IamGuardError, InvalidEventError, NotFoundError
from core.guardrail import (
    ENSURE_PERMISSIONS,
    REMOVE_PERMISSIONS,
    Change,
    ensure_guardrail,
    policy_arn,
    remove_group,
    remove_policy,
)
from core.iam import IamGateway, permissions_of
from core.settings import DEFAULT_GROUP_NAME, DEFAULT_POLICY_NAME, Settings, build_settings, settings_from_env

# ensure_guardrail, remove_group / remove_policy, and the rename path (which moves members to the new group).
REQUIRED_PERMISSIONS: frozenset[str] = (
    ENSURE_PERMISSIONS | REMOVE_PERMISSIONS | permissions_of(IamGateway.add_user_to_group)
)

SETTINGS_PREFIX = "IAM_GUARD_"
# The settings that shape the group and the policy: template.yaml passes exactly these to the resource.
GUARDRAIL_PROPERTIES = (
    "IAM_GUARD_ALLOWED_CIDRS",
    "IAM_GUARD_ALLOWED_VPCE_IDS",
    "IAM_GUARD_IP_RESTRICTION",
    "IAM_GUARD_MFA_MODE",
    "IAM_GUARD_GROUP_NAME",
    "IAM_GUARD_POLICY_NAME",
)
# Physical ID of a Create that failed before touching IAM: its rollback Delete must remove nothing
# (a same-named group may belong to someone else).
NOTHING_CREATED = "nothing-created"


class CustomResourceRequest(BaseModel):
    """The fields of a CloudFormation custom-resource request we use."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    RequestType: Literal["Create", "Update", "Delete"]
    ResponseURL: str
    StackId: str
    RequestId: str
    LogicalResourceId: str
    PhysicalResourceId: str | None = None
    ResourceProperties: dict[str, Any] = {}
    OldResourceProperties: dict[str, Any] | None = None

    @property
    def account_id(self) -> str:
        return self.StackId.split(":")[4]

    @property
    def partition(self) -> str:
        return self.StackId.split(":")[1]

    @property
    def stack_name(self) -> str:
        return self.StackId.split(":")[5].split("/")[1]


def parse_request(event: Any) -> CustomResourceRequest:
    try:
        request = CustomResourceRequest.model_validate(event)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "event"
        raise InvalidEventError(
            f"not a CloudFormation custom-resource request: {where}: {first['msg']}"
        ) from None
    parts = request.StackId.split(":")
    if len(parts) < 6 or not parts[4].isdigit() or "/" not in parts[5]:
        raise InvalidEventError(f"not a CloudFormation stack ARN: {request.StackId!r}")
    return request


def settings_from_properties(properties: dict[str, Any]) -> Settings:
    """The ``IAM_GUARD_*`` resource properties, read exactly like the functions' environment."""
    return settings_from_env(_as_environment(properties))


@dataclass(frozen=True)
class Names:
    group: str
    policy: str


def names_from_properties(properties: dict[str, Any] | None) -> Names | None:
    """Group and policy names only - enough to find what to remove even if other settings are invalid."""
    env = _as_environment(properties or {})
    try:
        names = build_settings(
            group_name=env.get("IAM_GUARD_GROUP_NAME") or DEFAULT_GROUP_NAME,
            policy_name=env.get("IAM_GUARD_POLICY_NAME") or DEFAULT_POLICY_NAME,
            ip_restriction=False,
        )
    except IamGuardError:
        return None  # names IAM would refuse: nothing can have been created under them
    return Names(names.group_name, names.policy_name)


def _as_environment(properties: dict[str, Any]) -> dict[str, str]:
    # CloudFormation sends every property as a string; `sam local invoke -e` files may use JSON booleans.
    return {
        key: (str(value).lower() if isinstance(value, bool) else str(value))
        for key, value in properties.items()
        if key.startswith(SETTINGS_PREFIX) and value is not None
    }


# --- planning (pure) ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    """What one request does to IAM, in order."""

    ensure: Settings | None = None
    move_members_from: str | None = None  # old group whose members join the new group
    remove_group: str | None = None
    detach_policy: tuple[str, str] | None = None  # (group, policy name): an old policy still attached
    remove_policy: str | None = None


def plan_request(request: CustomResourceRequest) -> Plan:
    """Decide what to do. Raises ``SettingsError`` for invalid settings (before any IAM call)."""
    if request.RequestType == "Delete":
        if request.PhysicalResourceId == NOTHING_CREATED:
            return Plan()
        names = names_from_properties(request.ResourceProperties)
        return Plan(remove_group=names.group, remove_policy=names.policy) if names else Plan()
    new = settings_from_properties(request.ResourceProperties)
    old = names_from_properties(request.OldResourceProperties) if request.RequestType == "Update" else None
    if old is None:
        return Plan(ensure=new)
    group_renamed = old.group != new.group_name
    policy_renamed = old.policy != new.policy_name
    return Plan(
        ensure=new,
        move_members_from=old.group if group_renamed else None,
        remove_group=old.group if group_renamed else None,
        # Removing the old group detaches everything from it; a kept group must drop the old policy.
        detach_policy=(new.group_name, old.policy) if policy_renamed and not group_renamed else None,
        remove_policy=old.policy if policy_renamed else None,
    )


# --- acting ---------------------------------------------------------------------------------------


def apply_plan(iam: IamGateway, plan: Plan, account_id: str) -> list[Change]:
    changes: list[Change] = []
    if plan.ensure is not None:
        changes += ensure_guardrail(iam, plan.ensure, account_id)
        if plan.move_members_from:
            changes += _move_members(iam, plan.move_members_from, plan.ensure.group_name)
    if plan.remove_group:
        changes += remove_group(iam, plan.remove_group)
    if plan.detach_policy:
        group, policy = plan.detach_policy
        with suppress(NotFoundError):
            iam.detach_group_policy(group, policy_arn(account_id, policy))
            changes.append(Change(f"group/{group}", "policy-detached", policy))
    if plan.remove_policy:
        changes += remove_policy(iam, account_id, plan.remove_policy)
    return changes


def _move_members(iam: IamGateway, old_group: str, new_group: str) -> list[Change]:
    """A renamed group keeps its members protected: they join the new group before the old one goes."""
    try:
        members = iam.list_group_members(old_group)
    except NotFoundError:
        return []
    for member in members:
        iam.add_user_to_group(new_group, member)
    return [Change(f"group/{new_group}", "member-moved", m) for m in members]


# --- the whole request ----------------------------------------------------------------------------


@dataclass(frozen=True)
class RequestResult:
    status: Literal["SUCCESS", "FAILED"]
    physical_id: str
    reason: str = ""
    data: dict[str, str] = field(default_factory=dict)
    changes: tuple[Change, ...] = ()


def handle(request: CustomResourceRequest, iam: IamGateway) -> RequestResult:
    """Plan and apply one request; every expected failure becomes a FAILED outcome with its reason."""
    physical_id = request.PhysicalResourceId or f"{request.stack_name}-{request.LogicalResourceId}"
    try:
        plan = plan_request(request)
    except IamGuardError as exc:  # invalid settings: nothing was touched
        failed_id = NOTHING_CREATED if request.RequestType == "Create" else physical_id
        return RequestResult("FAILED", failed_id, str(exc))
    try:
        changes = apply_plan(iam, plan, request.account_id)
    except IamGuardError as exc:
        return RequestResult("FAILED", physical_id, str(exc))
    data = _data(plan, request) if plan.ensure is not None else {}
    return RequestResult("SUCCESS", physical_id, "", data, tuple(changes))


def _data(plan: Plan, request: CustomResourceRequest) -> dict[str, str]:
    """Attributes for ``!GetAtt Guardrail.<name>``."""
    assert plan.ensure is not None
    group = plan.ensure.group_name
    return {
        "GroupName": group,
        "GroupArn": f"arn:{request.partition}:iam::{request.account_id}:group/{group}",
        "PolicyName": plan.ensure.policy_name,
        "PolicyArn": policy_arn(request.account_id, plan.ensure.policy_name, request.partition),
    }


def response_body(request: CustomResourceRequest, outcome: RequestResult) -> dict[str, Any]:
    """The JSON CloudFormation expects on the ResponseURL."""
    body: dict[str, Any] = {
        "Status": outcome.status,
        "Reason": outcome.reason or "OK",
        "PhysicalResourceId": outcome.physical_id,
        "StackId": request.StackId,
        "RequestId": request.RequestId,
        "LogicalResourceId": request.LogicalResourceId,
        "NoEcho": False,
    }
    if outcome.data:
        body["Data"] = outcome.data
    return body


def failure_body(event: Any, reason: str) -> dict[str, Any] | None:
    """A FAILED reply for a request we could not even parse or finish; None if it cannot be addressed."""
    if not isinstance(event, dict) or not isinstance(event.get("ResponseURL"), str):
        return None
    keys = ("StackId", "RequestId", "LogicalResourceId")
    if not all(isinstance(event.get(k), str) for k in keys):
        return None
    physical = event.get("PhysicalResourceId")
    return {
        "Status": "FAILED",
        "Reason": reason,
        "PhysicalResourceId": physical if isinstance(physical, str) and physical else NOTHING_CREATED,
        **{k: event[k] for k in keys},
        "NoEcho": False,
    }
