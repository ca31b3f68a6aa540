"""The ``Custom::Guardrail`` CloudFormation resource: the stack's secured group and guardrail policy.

The template passes the same ``IAM_GUARD_*`` settings the functions get as environment variables; they
are validated by ``core.model.settings``, and the group and policy are made by ``core.guardrail.state`` - the
policy
text exists only in ``core.policy.document``. Create/Update ensure the guardrail; an Update that renames the
group or the policy ensures the new one, moves the members across, then removes the old one; Delete
removes both. The physical ID never changes, so CloudFormation never sends a Delete for a "replaced"
resource that still holds the live group.

Anyone allowed to invoke the function could hand it a request of their own making, so nothing is done
for a request that CloudFormation is not making right now, on this stack (``verify_request``): the stack
must be running an operation on this very resource, and the settings requested must be the stack's
current parameters (and, where CloudFormation records them, the properties of its own event) - for a
Delete too, since its properties name what it removes. An Update that renames the group or the policy
acts on its *old* properties as well, so those must be the properties CloudFormation sent the resource in
the operation before this one (its event history says); names are compared as IAM does, without regard
to case. A Delete during an update's cleanup is refused for the physical resource the stack still uses.
A request that fails the check changes nothing and gets no reply: its ResponseURL is the requester's
choice.

Planning (``plan_request``) and the check (``rejection``) are pure; ``apply_plan`` acts; ``handle`` never
raises - every failure of a verified request becomes a FAILED reply carrying the one-line reason.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import suppress
from dataclasses import dataclass, field, replace
from typing import Any, Literal, cast

from core.aws.cloudformation import (
    VERIFY_PERMISSIONS,
    CloudFormationGateway,
    ResourceEvent,
    StackFacts,
    latest_event_of,
    properties_before_current_operation,
)
from core.aws.iam import IamGateway, permissions_of
from core.guardrail.apply import (
    MIGRATE_PERMISSIONS,
    ensure_guardrail,
    migrate_legacy_policy,
    move_members,
    remove_group,
    remove_policy,
)
from core.guardrail.state import ENSURE_PERMISSIONS, REMOVE_PERMISSIONS, Change
from core.model.errors import IamGuardError, InvalidEventError, NotFoundError
from core.model.naming import group_arn, policy_arn, same_iam_name
from core.model.settings import (
    DEFAULT_GROUP_NAME,
    DEFAULT_POLICY_NAME,
    Settings,
    build_settings,
    settings_from_env,
)
from core.model.validation import Fields, validated

# ensure_guardrail, remove_group / remove_policy, the rename path (which moves members to the new group),
# the 0.1 -> 0.2 migration of the policy onto IAM Guard's path, and the check against CloudFormation.
REQUIRED_PERMISSIONS: frozenset[str] = (
    ENSURE_PERMISSIONS
    | REMOVE_PERMISSIONS
    | MIGRATE_PERMISSIONS
    | permissions_of(IamGateway.add_user_to_group)
    | VERIFY_PERMISSIONS
)

SETTINGS_PREFIX = "IAM_GUARD_"
LOGICAL_ID = "Guardrail"  # the resource's logical ID in template.yaml
# The settings that shape the group and the policy, and the template parameter each comes from
# (template.yaml passes exactly these to the resource; a test holds it to this table).
PARAMETER_OF_PROPERTY: dict[str, str] = {
    "IAM_GUARD_ALLOWED_CIDRS": "AllowedCIDRs",
    "IAM_GUARD_ALLOWED_VPCE_IDS": "AllowedVpceIds",
    "IAM_GUARD_ALLOWED_VPCE_ORG": "AllowedVpceOrgId",
    "IAM_GUARD_ALLOWED_VPCE_ACCOUNTS": "AllowedVpceAccounts",
    "IAM_GUARD_ALLOWED_VPCS": "AllowedVPCs",
    "IAM_GUARD_IP_RESTRICTION": "IpRestriction",
    "IAM_GUARD_MFA_MODE": "MfaMode",
    "IAM_GUARD_GROUP_NAME": "GroupName",
    "IAM_GUARD_POLICY_NAME": "PolicyName",
    "IAM_GUARD_EXEMPT_TAG_KEY": "ExemptTagKey",
    "IAM_GUARD_OWNER_TAG_KEY": "OwnerTagKey",
    "IAM_GUARD_MAX_MFA_AGE_HOURS": "MaxMfaAgeHours",
    # the policy protects the channels' secrets (DenyChangesToProtectedSecrets)
    "IAM_GUARD_SLACK_SECRET_ARN": "SlackSecretArn",
    "IAM_GUARD_SLACK_BOT_TOKEN_SECRET_ARN": "SlackBotTokenSecretArn",
    "IAM_GUARD_TEAMS_WEBHOOK_SECRET_ARN": "TeamsWebhookSecretArn",
    "IAM_GUARD_WEBHOOK_SECRET_ARN": "WebhookSecretArn",
}
STACK_NAME_PROPERTY = "IAM_GUARD_STACK_NAME"  # !Ref AWS::StackName: the self-protection statements
GUARDRAIL_PROPERTIES = (*PARAMETER_OF_PROPERTY, STACK_NAME_PROPERTY)
# Physical ID of a Create that failed before touching IAM: its rollback Delete must remove nothing
# (a same-named group may belong to someone else).
NOTHING_CREATED = "nothing-created"
# How far back (pages of DescribeStackEvents, 100 events each) a rename looks for the properties the
# resource had before the operation now running; a rename whose old properties are not found is refused.
HISTORY_PAGES = 10

# Stack statuses in which CloudFormation sends each request type to this resource.
_STACK_STATUSES: dict[str, frozenset[str]] = {
    "Create": frozenset({"CREATE_IN_PROGRESS", "UPDATE_IN_PROGRESS"}),
    "Update": frozenset({"UPDATE_IN_PROGRESS", "UPDATE_ROLLBACK_IN_PROGRESS"}),
    "Delete": frozenset(
        {
            "DELETE_IN_PROGRESS",
            "ROLLBACK_IN_PROGRESS",
            "UPDATE_ROLLBACK_IN_PROGRESS",
            "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS",
            "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS",
        }
    ),
}
_ROLLBACKS = frozenset({"ROLLBACK_IN_PROGRESS", "UPDATE_ROLLBACK_IN_PROGRESS"})


RequestKind = Literal["Create", "Update", "Delete"]


@dataclass(frozen=True)
class CustomResourceRequest:
    """The fields of a CloudFormation custom-resource request we use (CloudFormation's names)."""

    RequestType: RequestKind
    ResponseURL: str
    StackId: str
    RequestId: str
    LogicalResourceId: str
    PhysicalResourceId: str | None = None
    ResourceProperties: dict[str, Any] = field(default_factory=dict)
    OldResourceProperties: dict[str, Any] | None = None

    @classmethod
    def read(cls, f: Fields) -> CustomResourceRequest:
        return cls(
            RequestType=cast(RequestKind, f.choice("RequestType", ("Create", "Update", "Delete"))),
            ResponseURL=f.text("ResponseURL"),
            StackId=f.text("StackId"),
            RequestId=f.text("RequestId"),
            LogicalResourceId=f.text("LogicalResourceId"),
            PhysicalResourceId=f.optional_text("PhysicalResourceId"),
            ResourceProperties=f.mapping("ResourceProperties") or {},
            OldResourceProperties=f.mapping("OldResourceProperties"),
        )

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
    request = validated(CustomResourceRequest.read, event, "a CloudFormation custom-resource request")
    parts = request.StackId.split(":")
    if len(parts) < 6 or not parts[4].isdigit() or "/" not in parts[5]:
        raise InvalidEventError(f"not a CloudFormation stack ARN: {request.StackId!r}")
    for key in ("ResourceProperties", "OldResourceProperties"):
        for name, value in (getattr(request, key) or {}).items():
            # CloudFormation sends strings; anything nested is not its request (and could not be compared)
            if name.startswith(SETTINGS_PREFIX) and not isinstance(value, str | bool | int | float | None):
                raise InvalidEventError(
                    f"not a CloudFormation custom-resource request: {key}.{name} is not a string"
                )
    return request


def settings_from_properties(properties: dict[str, Any]) -> Settings:
    """The ``IAM_GUARD_*`` resource properties, read exactly like the functions' environment."""
    return settings_from_env(_as_environment(properties))


@dataclass(frozen=True)
class Names:
    """The secured group's and the guardrail policy's names, from the resource properties."""

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
    # The partition is the stack's own (its verified StackId), not a property anyone could set.
    new = replace(settings_from_properties(request.ResourceProperties), partition=request.partition)
    old = names_from_properties(request.OldResourceProperties) if request.RequestType == "Update" else None
    if old is None:
        return Plan(ensure=new)
    # IAM names are unique without regard to case: a case-only change names the same group and policy
    group_renamed = not same_iam_name(old.group, new.group_name)
    policy_renamed = not same_iam_name(old.policy, new.policy_name)
    return Plan(
        ensure=new,
        move_members_from=old.group if group_renamed else None,
        remove_group=old.group if group_renamed else None,
        # Removing the old group detaches everything from it; a kept group must drop the old policy.
        detach_policy=(new.group_name, old.policy) if policy_renamed and not group_renamed else None,
        remove_policy=old.policy if policy_renamed else None,
    )


# --- acting ---------------------------------------------------------------------------------------


def apply_plan(iam: IamGateway, plan: Plan, account_id: str, partition: str = "aws") -> list[Change]:
    changes: list[Change] = []
    if plan.ensure is not None:
        # Stacks of version 0.1 hold the policy on the path "/": move it onto IAM Guard's path first.
        changes += migrate_legacy_policy(iam, plan.ensure, account_id)
        changes += ensure_guardrail(iam, plan.ensure, account_id, check_path=True)
        if plan.move_members_from:
            changes += move_members(iam, plan.move_members_from, plan.ensure.group_name)
    if plan.remove_group:
        changes += remove_group(iam, plan.remove_group)
    if plan.detach_policy:
        group, policy = plan.detach_policy
        with suppress(NotFoundError):
            iam.detach_group_policy(group, policy_arn(account_id, policy, partition))
            changes.append(Change(f"group/{group}", "policy-detached", policy))
    if plan.remove_policy:
        changes += remove_policy(iam, policy_arn(account_id, plan.remove_policy, partition))
    return changes


# --- is it really CloudFormation? ----------------------------------------------------------------


def verify_request(
    request: CustomResourceRequest, own_stack_id: str, cloudformation: CloudFormationGateway
) -> str | None:
    """None when CloudFormation is making this request now, on this stack; else why it is refused.

    Three reads of the stack (its status and parameters, this resource's status and physical ID, its
    newest events), and for an Update that renames the group or the policy the event history back to the
    operation before this one (the old properties must be what CloudFormation sent then); any failure to
    read refuses the request (fail closed).
    """
    if request.StackId != own_stack_id:
        return f"the request names stack {request.StackId!r}, not this function's stack {own_stack_id!r}"
    if request.LogicalResourceId != LOGICAL_ID:
        return f"the request names resource {request.LogicalResourceId!r}, not {LOGICAL_ID!r}"
    try:
        facts = cloudformation.stack(own_stack_id)
        resource = cloudformation.resource(own_stack_id, LOGICAL_ID)
        event = latest_event_of(cloudformation.recent_events(own_stack_id), LOGICAL_ID)
    except IamGuardError as exc:
        return f"could not read the stack from CloudFormation: {exc}"
    reason = rejection(request, facts, resource.status, event, physical_id=resource.physical_id)
    if reason is not None or not renames(request):
        return reason
    try:
        history = cloudformation.event_history(own_stack_id, HISTORY_PAGES)
    except IamGuardError as exc:
        return f"could not read the stack's events from CloudFormation: {exc}"
    return old_properties_rejection(
        request, properties_before_current_operation(history, LOGICAL_ID, facts.name)
    )


def renames(request: CustomResourceRequest) -> bool:
    """An Update whose old properties name another group or policy (as IAM compares names): the only
    requests that act on what ``OldResourceProperties`` names."""
    if request.RequestType != "Update" or request.OldResourceProperties is None:
        return False
    old = names_from_properties(request.OldResourceProperties)
    new = names_from_properties(request.ResourceProperties)
    if old is None or new is None:
        return False  # names IAM refuses: nothing was made under them (old), or the plan fails (new)
    return not (same_iam_name(old.group, new.group) and same_iam_name(old.policy, new.policy))


def old_properties_rejection(
    request: CustomResourceRequest, previous: Mapping[str, Any] | None
) -> str | None:
    """None when a rename's old properties are those CloudFormation sent the resource in the operation
    before this one (``previous``); else why not. Pure."""
    if previous is None:
        return (
            "a rename, but CloudFormation's events hold no earlier properties of "
            f"{LOGICAL_ID} to check the old group and policy against"
        )
    old = _as_environment(request.OldResourceProperties or {})
    before = _as_environment(dict(previous))
    if old != before:
        differing = _difference(old, before)
        return f"the old settings are not the resource's properties before this operation ({differing})"
    return None


def rejection(
    request: CustomResourceRequest,
    facts: StackFacts,
    resource_status: str,
    event: ResourceEvent | None,
    *,
    physical_id: str | None = None,
) -> str | None:
    """The pure part of ``verify_request``: None, or the reason the request is not CloudFormation's."""
    kind = request.RequestType
    if facts.status not in _STACK_STATUSES[kind]:
        return f"a {kind} request while the stack is {facts.status}: no stack operation sends one now"
    if (
        kind == "Delete"
        and facts.status.endswith("_CLEANUP_IN_PROGRESS")
        and physical_id is not None
        and request.PhysicalResourceId == physical_id
    ):
        # Cleanup deletes only replaced resources; this one's physical ID never changes.
        return f"a Delete during {facts.status} of {physical_id!r}, the {LOGICAL_ID} the stack still uses"
    expected = f"{kind.upper()}_IN_PROGRESS"
    if resource_status != expected:
        return f"a {kind} request while {LOGICAL_ID} is {resource_status}, not {expected}"
    requested = _as_environment(request.ResourceProperties)
    sent = _as_environment(dict(event.properties)) if event is not None and event.properties else None
    if kind == "Delete":
        # What a Delete removes is named by its properties: they must be the stack's, as for an Update.
        if requested == expected_properties(facts) or requested == sent:
            return None
        return (
            "the Delete's settings are not the stack's parameters "
            f"({_difference(requested, expected_properties(facts))})"
        )
    if sent is not None and event is not None and event.status == expected and sent != requested:
        return f"the requested settings differ from CloudFormation's own ({_difference(requested, sent)})"
    from_parameters = expected_properties(facts)
    if requested == from_parameters:
        return None
    if facts.status in _ROLLBACKS and sent is not None and sent == requested:
        return None  # a rollback restores the previous settings, as CloudFormation's own event shows
    return (
        f"the requested settings are not the stack's parameters ({_difference(requested, from_parameters)})"
    )


def expected_properties(facts: StackFacts) -> dict[str, str]:
    """The ``IAM_GUARD_*`` properties the template gives the resource, from the stack's parameters."""
    expected = {
        prop: facts.parameters[parameter]
        for prop, parameter in PARAMETER_OF_PROPERTY.items()
        if parameter in facts.parameters
    }
    expected[STACK_NAME_PROPERTY] = facts.name
    return expected


def _difference(requested: Mapping[str, str], expected: Mapping[str, str]) -> str:
    keys = sorted(k for k in set(requested) | set(expected) if requested.get(k) != expected.get(k))
    return ", ".join(keys) or "none"


# --- the whole request ----------------------------------------------------------------------------


@dataclass(frozen=True)
class RequestResult:
    """What the custom resource answers CloudFormation, and the changes it made."""

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
        changes = apply_plan(iam, plan, request.account_id, request.partition)
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
        "GroupArn": group_arn(request.account_id, group, request.partition),
        "PolicyName": plan.ensure.policy_name,
        "PolicyArn": policy_arn(request.account_id, plan.ensure.policy_name, request.partition),
    }
