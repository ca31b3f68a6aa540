"""The enforcer's one table of events: (source, detail-type, event name) -> parser -> command.

``ROUTES`` is every event the enforcer acts on, keyed as EventBridge delivers it: the EventBridge
``source``, the ``detail-type`` and the event's name (CloudTrail's ``eventName``; an event type code
for events that are not API calls). Each route names the parser that turns the event into exactly one
command (``core.enforce.commands``); ``core.enforce.enforcer.ACTIONS`` maps each command to its action.
The template's rules are held equal to this table (``tests/enforce/test_routes.py``): an event a rule
delivers that no route handles, or a route no rule delivers, fails the tests.

A new event: add its route here (and its parser below), its command and its action; the rule follows
from the test. Pure: no I/O, no clock.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from types import MappingProxyType
from typing import Any, NamedTuple

from core.enforce.commands import (
    Command,
    EnrolUser,
    EventMeta,
    ExemptionChanged,
    HealGuardrail,
    Ignore,
    InfrastructureChanged,
    LeakedKeyReported,
    MfaDeviceEnabled,
    OwnerChanged,
    QuarantineDetached,
    RestoreMembership,
    RestorePasswordPolicy,
    RestoreRenamedGroup,
    RootAccessKeyCreated,
    RootPasswordCreated,
    RootSessionAssumed,
)
from core.enforce.events import (
    CLOUDFORMATION_INVOKER,
    CLOUDTRAIL_DETAIL_TYPE,
    ENROLMENT_EVENTS,
    GROUP_TAMPER_EVENTS,
    IAM_EVENT_SOURCE,
    IAM_SOURCE,
    MFA_EVENTS,
    PASSWORD_POLICY_EVENTS,
    POLICY_TAMPER_EVENTS,
    ROOT_SESSION_EVENTS,
    STS_EVENT_SOURCE,
    STS_SOURCE,
    TAG_EVENTS,
    ApiCallEvent,
    CloudTrailDetail,
)
from core.enforce.guardduty import (
    FINDING_TYPES,
    GUARDDUTY_DETAIL_TYPE,
    GUARDDUTY_SOURCE,
    IAM_USER,
    FindingClaim,
    type_name,
)
from core.enforce.risk import (
    HEALTH_DETAIL_TYPE,
    HEALTH_SOURCE,
    RISK_EVENT_CODES,
    RISK_SERVICE,
    HealthDetail,
    is_quarantine_policy,
    named_keys,
)
from core.enforce.watch import WATCHED, Ownership, WatchedService, is_critical, owned_resource
from core.model.errors import InvalidEventError
from core.model.naming import name_of_arn, same_iam_name
from core.model.settings import Settings

EventKey = tuple[str, str, str]  # (EventBridge source, detail-type, eventName or event type code)


class Call(NamedTuple):
    """What a parser reads: one CloudTrail API call and the settings it is judged against."""

    meta: EventMeta
    detail: CloudTrailDetail
    params: dict[str, Any]
    settings: Settings
    owner: Ownership | None


Parser = Callable[[Call], Command]


class Notice(NamedTuple):
    """What a parser of an event that is not an API call reads: an AWS Health event."""

    meta: EventMeta
    health: HealthDetail
    resources: tuple[str, ...]
    settings: Settings


NoticeParser = Callable[[Notice], Command]


class Sighting(NamedTuple):
    """What a parser of a GuardDuty finding reads."""

    meta: EventMeta
    finding: FindingClaim
    settings: Settings


SightingParser = Callable[[Sighting], Command]


class Route(NamedTuple):
    event_source: str  # the CloudTrail eventSource the route expects ('' for events not API calls)
    parse: Parser | None = None  # an API call (CloudTrail)
    parse_notice: NoticeParser | None = None  # a service's own event (AWS Health)
    parse_finding: SightingParser | None = None  # a GuardDuty finding (keyed by its type or type prefix)


def _api_calls(source: str, event_source: str, names: Iterable[str], parse: Parser) -> dict[EventKey, Route]:
    return {(source, CLOUDTRAIL_DETAIL_TYPE, name): Route(event_source, parse) for name in names}


def _watched(service: WatchedService) -> dict[EventKey, Route]:
    def parse(call: Call) -> Command:
        return _infrastructure(call.meta, call.detail, service, call.params, call.settings, call.owner)

    return _api_calls(service.source, service.event_source, service.event_names, parse)


def _iam(names: Iterable[str], parse: Parser) -> dict[EventKey, Route]:
    return _api_calls(IAM_SOURCE, IAM_EVENT_SOURCE, names, parse)


ROUTES: Mapping[EventKey, Route] = MappingProxyType(
    {
        **_iam(ENROLMENT_EVENTS, lambda c: _enrolment(c.meta, c.detail, c.params)),
        **_iam(TAG_EVENTS, lambda c: _tag_change(c.meta, c.params, c.settings)),
        **_iam(MFA_EVENTS, lambda c: _mfa_enabled(c.meta, c.detail, c.params)),
        **_iam(POLICY_TAMPER_EVENTS | GROUP_TAMPER_EVENTS, lambda c: _tamper(c.meta, c.params, c.settings)),
        # The account password policy changed or deleted (ManagePasswordPolicy=true restores it).
        **_iam(PASSWORD_POLICY_EVENTS, lambda c: _password_policy(c.meta, c.settings)),
        # A root session in a member account (centralized root access; template rule AssumeRoot).
        **_api_calls(
            STS_SOURCE, STS_EVENT_SOURCE, ROOT_SESSION_EVENTS, lambda c: _root_session(c.meta, c.params)
        ),
        # AWS's quarantine policy taken off a user (template rule QuarantineDetached, core.enforce.risk).
        **_iam({"DetachUserPolicy"}, lambda c: _quarantine_detached(c.meta, c.params)),
        # AWS Health: a leaked access key (template rule HealthRisk, core.enforce.risk).
        **{
            (HEALTH_SOURCE, HEALTH_DETAIL_TYPE, code): Route("", parse_notice=lambda n: _leaked_key(n))
            for code in RISK_EVENT_CODES
        },
        # GuardDuty: an IAM user's key used by someone else (opt-in rule GuardDutyFinding,
        # core.enforce.guardduty), keyed by the finding type or the type prefix the rule matches.
        **{
            (GUARDDUTY_SOURCE, GUARDDUTY_DETAIL_TYPE, name): Route("", parse_finding=lambda s: _finding(s))
            for name, _prefix in FINDING_TYPES
        },
        # IAM Guard's own infrastructure (core.enforce.watch), its IAM roles included: last, so a watched
        # event wins over the same name above, as it always has.
        **{key: route for service in WATCHED for key, route in _watched(service).items()},
    }
)


def command_for(
    event: ApiCallEvent,
    settings: Settings,
    ignore_arns: frozenset[str] = frozenset(),
    owner: Ownership | None = None,
) -> Command:
    """The one command this event asks for.

    ``ignore_arns``: callers whose events are our own doing. ``owner``: what IAM Guard's own resources
    are called (from ``settings.stack_name`` when not given); without a stack name, infrastructure
    events are ignored.
    """
    detail = event.detail
    meta = _meta(event)
    if event.health is not None:
        return _notice(event, event.health, meta, settings)
    if event.finding is not None:
        return _sighting(event, event.finding, meta, settings)
    if detail is None:
        return Ignore(meta, f"not a CloudTrail API call (source {event.source}, {event.detail_type})")
    if detail.errorCode:
        return Ignore(meta, f"the call failed ({detail.errorCode}): nothing changed")
    identity = detail.userIdentity
    if ignore_arns & {identity.arn, identity.issuer_arn} - {""}:
        return Ignore(meta, "caused by IAM Guard itself (one of its own roles)")
    route = ROUTES.get((event.source, event.detail_type, detail.eventName))
    if route is None or route.event_source != detail.eventSource:
        if detail.eventSource != IAM_EVENT_SOURCE:
            return Ignore(meta, f"event source {detail.eventSource} is not {IAM_EVENT_SOURCE}")
        return Ignore(meta, f"{detail.eventName} is not an event the enforcer handles")
    if route.parse is None:
        return Ignore(meta, f"{detail.eventName} is not an event the enforcer handles")
    return route.parse(Call(meta, detail, detail.requestParameters or {}, settings, owner))


def _notice(event: ApiCallEvent, health: HealthDetail, meta: EventMeta, settings: Settings) -> Command:
    route = ROUTES.get((event.source, event.detail_type, health.event_type_code))
    if health.service != RISK_SERVICE or route is None or route.parse_notice is None:
        return Ignore(
            meta, f"Health event {health.service or '?'}/{health.event_type_code or '?'} is not handled"
        )
    return route.parse_notice(Notice(meta, health, event.resources, settings))


def _sighting(event: ApiCallEvent, finding: FindingClaim, meta: EventMeta, settings: Settings) -> Command:
    route = ROUTES.get((event.source, event.detail_type, type_name(finding.finding_type)))
    if route is None or route.parse_finding is None:
        return Ignore(meta, f"GuardDuty finding {finding.finding_type or '?'} is not handled")
    return route.parse_finding(Sighting(meta, finding, settings))


def _finding(sighting: Sighting) -> Command:
    """A GuardDuty finding, re-checked as the rule checks it (anyone may invoke the function directly)."""
    meta, claim, settings = sighting
    if not settings.guardduty_findings:
        return Ignore(meta, "GuardDuty findings are not handled (GuardDutyFindings=false)")
    if claim.user_type != IAM_USER:
        return Ignore(meta, f"GuardDuty finding on a {claim.user_type or '?'} credential, not an IAM user's")
    if claim.severity < settings.guardduty_min_severity:
        return Ignore(meta, f"GuardDuty severity {claim.severity} is below {settings.guardduty_min_severity}")
    keys, other = named_keys((claim.access_key_id,) if claim.access_key_id else (), ())
    return LeakedKeyReported(
        meta, keys, "guardduty", claim.finding_type, claim.finding_id, other, finding=claim
    )


def _leaked_key(notice: Notice) -> Command:
    keys, other = named_keys(notice.health.entity_values, notice.resources)
    return LeakedKeyReported(
        notice.meta, keys, "health", notice.health.event_type_code, notice.health.event_arn, other
    )


def _password_policy(meta: EventMeta, settings: Settings) -> Command:
    if not settings.manage_password_policy:
        return Ignore(meta, f"{meta.event_name}: ManagePasswordPolicy is off (the sweep reports the policy)")
    return RestorePasswordPolicy(meta)


def _root_session(meta: EventMeta, params: dict[str, Any]) -> Command:
    """AssumeRoot's ``targetPrincipal`` (the member account) and ``taskPolicyArn`` (a string, or the
    API's ``{"arn": ...}`` structure)."""
    task = params.get("taskPolicyArn")
    if isinstance(task, Mapping):
        task = task.get("arn")
    return RootSessionAssumed(meta, _text(params.get("targetPrincipal")) or "?", _text(task) or "?")


def _quarantine_detached(meta: EventMeta, params: dict[str, Any]) -> Command:
    policy = _text(params.get("policyArn"))
    if not is_quarantine_policy(policy):
        return Ignore(meta, f"DetachUserPolicy of {policy or '?'} is not AWS's quarantine policy")
    return QuarantineDetached(
        meta, _require(_text(params.get("userName")), meta, "requestParameters.userName"), policy
    )


def _meta(event: ApiCallEvent) -> EventMeta:
    detail = event.detail
    if event.finding is not None:
        return EventMeta(
            event_name=event.finding.finding_type or event.detail_type,
            event_id=event.id,
            account_id=event.account,
            region=event.finding.region or event.region,
            actor="",
            occurred_at=event.time,
        )
    if event.health is not None:
        return EventMeta(
            event_name=event.health.event_type_code or event.detail_type,
            event_id=event.id,
            account_id=event.account,
            region=event.region,
            actor="",
            occurred_at=event.time,
        )
    return EventMeta(
        event_name=detail.eventName if detail else event.detail_type,
        event_id=detail.eventID if detail else event.id,
        account_id=event.account,
        region=event.region,
        actor=detail.userIdentity.arn if detail else "",
        occurred_at=(detail.eventTime if detail else None) or event.time,
        source_ip=detail.sourceIPAddress if detail else "",
    )


# Where CloudTrail's responseElements name the credential's owner, per event (CloudTrail's camelCase).
_RESPONSE_CREDENTIAL = {
    "CreateAccessKey": "accessKey",
    "UploadSSHPublicKey": "sSHPublicKey",
    "UploadSigningCertificate": "certificate",
    "CreateServiceSpecificCredential": "serviceSpecificCredential",
    "ResetServiceSpecificCredential": "serviceSpecificCredential",
}


def _enrolment(meta: EventMeta, detail: CloudTrailDetail, params: dict[str, Any]) -> Command:
    response = detail.responseElements or {}
    identity = detail.userIdentity
    named = _text(params.get("userName"))
    if meta.event_name == "CreateUser":
        user = named or _text(_mapping(response.get("user"), meta, "responseElements.user").get("userName"))
        tags = _tags(params.get("tags"), meta)
        return EnrolUser(meta, _require(user, meta, "requestParameters.userName"), tags)
    if not named and identity.type == "Root":
        # No userName and the caller is root: the key or password belongs to the root user itself.
        if meta.event_name == "CreateAccessKey":
            access_key = _mapping(response.get("accessKey"), meta, "responseElements.accessKey")
            return RootAccessKeyCreated(meta, _text(access_key.get("accessKeyId")))
        if meta.event_name == "CreateLoginProfile":
            return RootPasswordCreated(meta)
        return Ignore(meta, f"{meta.event_name} by the root user for itself")
    # Users creating their own key / password omit userName: it is in the response or the identity.
    field = _RESPONSE_CREDENTIAL.get(meta.event_name, "accessKey")
    access_key = _mapping(response.get(field), meta, f"responseElements.{field}")
    user = named or _text(access_key.get("userName"))
    if not user and identity.type == "IAMUser":
        user = identity.userName or ""
    return EnrolUser(meta, _require(user, meta, "requestParameters.userName"))


def _tag_change(meta: EventMeta, params: dict[str, Any], settings: Settings) -> Command:
    user = _require(_text(params.get("userName")), meta, "requestParameters.userName")
    key, owner_key = settings.exempt_tag_key, settings.owner_tag_key
    added = meta.event_name == "TagUser"
    if added:
        tags = _tags(params.get("tags"), meta)
    else:
        tags = {str(k): "" for k in _list(params.get("tagKeys"), meta, "requestParameters.tagKeys")}
    exemption = _has_key(tags, key)
    owner = next((v for k, v in tags.items() if k.casefold() == owner_key.casefold()), None)
    if owner is not None:  # checked first: one request may touch both keys, and both are handled
        return OwnerChanged(meta, user, owner if added else None, exemption_too=exemption)
    if exemption:
        return ExemptionChanged(meta, user, tag_added=added)
    return Ignore(meta, f"does not change the exemption tag {key} or the owner tag {owner_key}")


def _mfa_enabled(meta: EventMeta, detail: CloudTrailDetail, params: dict[str, Any]) -> Command:
    identity = detail.userIdentity
    user = _text(params.get("userName")) or (identity.userName or "" if identity.type == "IAMUser" else "")
    user = _require(user, meta, "requestParameters.userName")
    by_the_user = identity.type == "IAMUser" and same_iam_name(identity.userName or "", user)
    return MfaDeviceEnabled(
        meta,
        user,
        _text(params.get("serialNumber")),
        with_mfa=identity.mfa_authenticated,
        from_console=detail.from_console,
        by_the_user=by_the_user,
    )


def _tamper(meta: EventMeta, params: dict[str, Any], settings: Settings) -> Command:
    name = meta.event_name
    group = _text(params.get("groupName"))
    policy = _text(params.get("policyArn"))
    ours_group = bool(group) and same_iam_name(group, settings.group_name)
    ours_policy = is_our_policy_arn(policy, meta.account_id, settings)
    if name == "UpdateGroup":
        return _group_updated(meta, params, settings, ours_group)
    if name == "RemoveUserFromGroup" and ours_group:
        return RestoreMembership(
            meta, _require(_text(params.get("userName")), meta, "requestParameters.userName")
        )
    if name == "DetachGroupPolicy" and ours_policy:
        # Detached from ours, or from a group that took our group's place after a rename: verify.
        return HealGuardrail(meta, f"group/{group}")
    if name == "DeleteGroup" and ours_group:
        return HealGuardrail(meta, f"group/{group}")
    if name in POLICY_TAMPER_EVENTS and ours_policy:
        return HealGuardrail(meta, f"policy/{settings.policy_name}")
    target = group or policy or "another resource"
    return Ignore(meta, f"{name} on {target} does not touch the guardrail")


def _group_updated(meta: EventMeta, params: dict[str, Any], settings: Settings, ours: bool) -> Command:
    new_name = _text(params.get("newGroupName"))
    new_path = _text(params.get("newPath")) or None
    if ours:
        return RestoreRenamedGroup(meta, new_name or _text(params.get("groupName")), new_path)
    if new_name and same_iam_name(new_name, settings.group_name):
        # Another group now carries the secured group's name: make it the guardrail group it claims to be.
        return HealGuardrail(meta, f"group/{new_name}")
    return Ignore(
        meta, f"UpdateGroup on {_text(params.get('groupName')) or '?'} does not touch the guardrail"
    )


def _infrastructure(
    meta: EventMeta,
    detail: CloudTrailDetail,
    service: WatchedService,
    params: dict[str, Any],
    settings: Settings,
    owner: Ownership | None,
) -> Command:
    if owner is None:
        secrets = frozenset(settings.protected_secret_arns)
        if settings.stack_name is None and not (service.kind == "secret" and secrets):
            return Ignore(meta, f"{meta.event_name}: no stack name configured, IAM Guard's resources unknown")
        owner = Ownership(settings.stack_name or "", secret_arns=secrets)
    resource = owned_resource(service, params, owner)
    if not resource:
        return Ignore(meta, f"{meta.event_name} does not touch IAM Guard's own resources")
    by_cloudformation = CLOUDFORMATION_INVOKER in {detail.userIdentity.invokedBy, detail.sourceIPAddress}
    return InfrastructureChanged(
        meta, service.source, resource, is_critical(service, meta.event_name, params), by_cloudformation
    )


def is_our_policy_arn(arn: str, account_id: str, settings: Settings) -> bool:
    """``arn:<partition>:iam::<account>:policy/<any path>/<name>`` of our policy, the name in any case.

    Policy names are unique in an account whatever the path, so the name decides.
    """
    parts = arn.split(":", 5)
    return (
        len(parts) == 6
        and parts[2] == "iam"
        and parts[4] == account_id
        and parts[5].startswith("policy/")
        and same_iam_name(name_of_arn(parts[5]), settings.policy_name)
    )


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _require(value: str, meta: EventMeta, where: str) -> str:
    if not value:
        raise InvalidEventError(f"{meta.event_name} event {meta.event_id or '?'} names no user ({where})")
    return value


def _mapping(value: Any, meta: EventMeta, where: str) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise InvalidEventError(f"{meta.event_name} event {meta.event_id or '?'}: {where} is not an object")
    return value


def _list(value: Any, meta: EventMeta, where: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise InvalidEventError(f"{meta.event_name} event {meta.event_id or '?'}: {where} is not a list")
    return value


def _tags(value: Any, meta: EventMeta) -> dict[str, str]:
    """CloudTrail's ``[{"key": k, "value": v}]`` as a dict; anything else is a malformed event."""
    tags: dict[str, str] = {}
    for tag in _list(value, meta, "requestParameters.tags"):
        key = tag.get("key", tag.get("Key")) if isinstance(tag, Mapping) else None
        raw_value = tag.get("value", tag.get("Value", "")) if isinstance(tag, Mapping) else None
        if not isinstance(key, str) or not isinstance(raw_value, str | None):
            raise InvalidEventError(
                f"{meta.event_name} event {meta.event_id or '?'}: requestParameters.tags must be a list "
                "of {key, value} objects with string values"
            )
        tags[key] = raw_value or ""
    return tags


def _has_key(tags: Mapping[str, str], key: str) -> bool:
    return any(k.casefold() == key.casefold() for k in tags)
