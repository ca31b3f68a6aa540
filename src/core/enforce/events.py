"""CloudTrail-via-EventBridge events -> typed enforcer commands. Pure: no I/O, no clock.

``parse_event`` validates the raw Lambda payload into ``ApiCallEvent`` (the handler and the CLI call it);
``command_for`` turns a parsed event into exactly one command, or an ``Ignore`` saying why nothing is to
be done. Only events that touch the guardrail's own group, policy or exemption tag, a user's credentials,
or IAM Guard's own infrastructure (``core.enforce.watch``) become commands; everything else is ignored.

Names are compared as IAM compares them: user, group, role and policy names without regard to case.
Anything a caller can put in an event that is not of the expected shape is an ``InvalidEventError`` (one
line), never a crash.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Any, NamedTuple

from core.enforce.watch import (
    WATCHED,
    Ownership,
    WatchedService,
    is_critical,
    owned_resource,
    watched_service,
)
from core.model.errors import InvalidEventError
from core.model.naming import name_of_arn, same_iam_name
from core.model.settings import Settings
from core.model.validation import Fields, validated

IAM_SOURCE = "aws.iam"
CLOUDTRAIL_DETAIL_TYPE = "AWS API Call via CloudTrail"
IAM_EVENT_SOURCE = "iam.amazonaws.com"

ENROLMENT_EVENTS = frozenset({"CreateUser", "CreateAccessKey", "CreateLoginProfile", "UpdateLoginProfile"})
POLICY_TAMPER_EVENTS = frozenset(
    {"CreatePolicyVersion", "SetDefaultPolicyVersion", "DeletePolicyVersion", "DeletePolicy"}
)
GROUP_TAMPER_EVENTS = frozenset({"RemoveUserFromGroup", "DetachGroupPolicy", "DeleteGroup", "UpdateGroup"})
TAG_EVENTS = frozenset({"TagUser", "UntagUser"})
MFA_EVENTS = frozenset({"EnableMFADevice"})
# The IAM user/group/policy events the enforcer's main rule delivers (IAM role events: core.enforce.watch).
HANDLED_EVENTS = ENROLMENT_EVENTS | POLICY_TAMPER_EVENTS | GROUP_TAMPER_EVENTS | TAG_EVENTS | MFA_EVENTS
CLOUDFORMATION_INVOKER = "cloudformation.amazonaws.com"
WATCHED_SOURCES = frozenset({IAM_SOURCE, *(service.source for service in WATCHED)})


# --- the typed event ------------------------------------------------------------------------------
# CloudTrail's own field names (camelCase), so a reader can hold the code next to a CloudTrail record.


@dataclass(frozen=True)
class UserIdentity:
    """Who made the call. The session's issuer and attributes are read flat from ``sessionContext``."""

    type: str = ""
    arn: str = ""
    principalId: str = ""
    accountId: str = ""
    accessKeyId: str = ""
    userName: str | None = None
    invokedBy: str | None = None
    issuer_arn: str = ""  # the role behind an assumed-role session ('' for users and root)
    # The request was signed with credentials from an MFA sign-in (long-term keys never are).
    mfa_authenticated: bool = False

    @classmethod
    def read(cls, f: Fields) -> UserIdentity:
        context = f.record("sessionContext")
        issuer = context.record("sessionIssuer") if context else None
        attributes = context.record("attributes") if context else None
        return cls(
            type=f.text("type", ""),
            arn=f.text("arn", ""),
            principalId=f.text("principalId", ""),
            accountId=f.text("accountId", ""),
            accessKeyId=f.text("accessKeyId", ""),
            userName=f.optional_text("userName"),
            invokedBy=f.optional_text("invokedBy"),
            issuer_arn=issuer.text("arn", "") if issuer else "",
            mfa_authenticated=_is_true(attributes.text("mfaAuthenticated", "")) if attributes else False,
        )


def _is_true(flag: str) -> bool:
    """CloudTrail writes these flags as the strings "true" and "false"."""
    return flag.lower() == "true"


@dataclass(frozen=True)
class CloudTrailDetail:
    """The CloudTrail record carried in ``detail`` (only the fields the enforcer reads)."""

    eventName: str
    eventSource: str
    eventTime: datetime | None = None
    eventID: str = ""
    awsRegion: str = ""
    sourceIPAddress: str = ""
    userIdentity: UserIdentity = field(default_factory=UserIdentity)
    requestParameters: dict[str, Any] | None = None
    responseElements: dict[str, Any] | None = None
    errorCode: str | None = None
    errorMessage: str | None = None
    recipientAccountId: str = ""
    # The record's own sessionCredentialFromConsole (CloudTrail writes it next to userIdentity, not in it,
    # and only when "true"): the call came from an AWS Management Console session.
    from_console: bool = False

    @classmethod
    def read(cls, f: Fields) -> CloudTrailDetail:
        identity = f.record("userIdentity")
        return cls(
            eventName=f.text("eventName"),
            eventSource=f.text("eventSource"),
            eventTime=f.timestamp("eventTime"),
            eventID=f.text("eventID", ""),
            awsRegion=f.text("awsRegion", ""),
            sourceIPAddress=f.text("sourceIPAddress", ""),
            userIdentity=UserIdentity.read(identity) if identity else UserIdentity(),
            requestParameters=f.mapping("requestParameters"),
            responseElements=f.mapping("responseElements"),
            errorCode=f.optional_text("errorCode"),
            errorMessage=f.optional_text("errorMessage"),
            recipientAccountId=f.text("recipientAccountId", ""),
            from_console=_is_true(f.text("sessionCredentialFromConsole", "")),
        )


@dataclass(frozen=True)
class ApiCallEvent:
    """An EventBridge event; ``detail`` is typed when it is a CloudTrail API call we watch, else None.

    The envelope's fields are the ones EventBridge always sends (Powertools' ``EventBridgeModel``).
    """

    version: str
    id: str
    source: str
    account: str
    time: datetime
    region: str
    resources: tuple[str, ...]
    detail_type: str
    detail: CloudTrailDetail | None
    replay_name: str | None = None

    @classmethod
    def read(cls, f: Fields) -> ApiCallEvent:
        version, event_id, source = f.text("version"), f.text("id"), f.text("source")
        account = f.text("account")
        time = f.required_timestamp("time")
        region, resources = f.text("region"), tuple(f.texts("resources", required=True))
        detail_type = f.text("detail-type")
        # Other sources and detail types are valid EventBridge events that we ignore, not bad input.
        is_watched_call = source in WATCHED_SOURCES and detail_type == CLOUDTRAIL_DETAIL_TYPE
        f.value("detail", required=True)
        detail = CloudTrailDetail.read(f.required_record("detail")) if is_watched_call else None
        return cls(
            version=version,
            id=event_id,
            source=source,
            account=account,
            time=time,
            region=region,
            resources=resources,
            detail_type=detail_type,
            detail=detail,
            replay_name=f.optional_text("replay-name"),
        )


IamApiCallEvent = ApiCallEvent  # the name used before other services' events were handled


def parse_event(raw: Any) -> ApiCallEvent:
    """Validate a raw EventBridge payload; one-line ``InvalidEventError`` when it is not one."""
    if not isinstance(raw, dict):
        raise InvalidEventError(f"not an EventBridge event: expected a JSON object, got {type(raw).__name__}")
    return validated(ApiCallEvent.read, raw, "an EventBridge event")


# --- commands ---------------------------------------------------------------------------------------


# Commands are NamedTuples: immutable values like the records above, and about seven times cheaper to
# define than frozen dataclasses - the enforcer defines all eleven at every cold start.


class EventMeta(NamedTuple):
    """Who did what, where and when: carried into every result and alert."""

    event_name: str
    event_id: str
    account_id: str
    region: str
    actor: str  # the caller's ARN
    occurred_at: datetime | None
    source_ip: str = ""


class Ignore(NamedTuple):
    meta: EventMeta
    reason: str


class EnrolUser(NamedTuple):
    """CreateUser / CreateAccessKey / Create- or UpdateLoginProfile: the user belongs in the group."""

    meta: EventMeta
    user_name: str
    event_tags: Mapping[str, str] = MappingProxyType({})  # tags given in CreateUser (read-only)

    @property
    def is_new_user(self) -> bool:
        return self.meta.event_name == "CreateUser"


class RootAccessKeyCreated(NamedTuple):
    meta: EventMeta
    access_key_id: str


class RootPasswordCreated(NamedTuple):
    meta: EventMeta


class RestoreMembership(NamedTuple):
    """Someone removed a user from the secured group."""

    meta: EventMeta
    user_name: str


class HealGuardrail(NamedTuple):
    """Someone changed the group, the policy or the attachment: verify everything, uncached."""

    meta: EventMeta
    resource: str  # what the event touched, e.g. "policy/IAMGuardSecureIAMPolicy"


class RestoreRenamedGroup(NamedTuple):
    """UpdateGroup renamed the secured group and/or moved it to another path."""

    meta: EventMeta
    new_name: str
    new_path: str | None  # None: the path did not change (read it)


class ExemptionChanged(NamedTuple):
    """TagUser / UntagUser on the exemption tag key: re-decide from the user's current tags."""

    meta: EventMeta
    user_name: str
    tag_added: bool  # TagUser (True) or UntagUser (False)


class MfaDeviceEnabled(NamedTuple):
    """EnableMFADevice: suspicious when made without MFA outside a console session, or for another user."""

    meta: EventMeta
    user_name: str
    serial_number: str
    with_mfa: bool  # the request itself was signed with MFA-authenticated credentials
    from_console: bool
    by_the_user: bool

    @property
    def suspicious(self) -> bool:
        return not self.by_the_user or not (self.with_mfa or self.from_console)


class InfrastructureChanged(NamedTuple):
    """A call on one of IAM Guard's own resources (function, rule, trail, topic, key, stack, role ...)."""

    meta: EventMeta
    service: str  # EventBridge source, e.g. "aws.lambda"
    resource: str
    critical: bool
    by_cloudformation: bool  # made by CloudFormation (this stack's update, if it is running)


Command = (
    Ignore
    | EnrolUser
    | RootAccessKeyCreated
    | RootPasswordCreated
    | RestoreMembership
    | HealGuardrail
    | RestoreRenamedGroup
    | ExemptionChanged
    | MfaDeviceEnabled
    | InfrastructureChanged
)
TAMPER_COMMANDS = (RestoreMembership, HealGuardrail, RestoreRenamedGroup)


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
    if detail is None:
        return Ignore(meta, f"not a CloudTrail API call (source {event.source}, {event.detail_type})")
    if detail.errorCode:
        return Ignore(meta, f"the call failed ({detail.errorCode}): nothing changed")
    identity = detail.userIdentity
    if ignore_arns & {identity.arn, identity.issuer_arn} - {""}:
        return Ignore(meta, "caused by IAM Guard itself (one of its own roles)")
    params = detail.requestParameters or {}
    service = watched_service(detail.eventSource, detail.eventName)
    if service is not None:
        return _infrastructure(meta, detail, service, params, settings, owner)
    if detail.eventSource != IAM_EVENT_SOURCE:
        return Ignore(meta, f"event source {detail.eventSource} is not {IAM_EVENT_SOURCE}")
    name = detail.eventName
    if name not in HANDLED_EVENTS:
        return Ignore(meta, f"{name} is not an event the enforcer handles")
    if name in ENROLMENT_EVENTS:
        return _enrolment(meta, detail, params)
    if name in TAG_EVENTS:
        return _tag_change(meta, params, settings)
    if name in MFA_EVENTS:
        return _mfa_enabled(meta, detail, params)
    return _tamper(meta, params, settings)


def _meta(event: ApiCallEvent) -> EventMeta:
    detail = event.detail
    return EventMeta(
        event_name=detail.eventName if detail else event.detail_type,
        event_id=detail.eventID if detail else event.id,
        account_id=event.account,
        region=event.region,
        actor=detail.userIdentity.arn if detail else "",
        occurred_at=(detail.eventTime if detail else None) or event.time,
        source_ip=detail.sourceIPAddress if detail else "",
    )


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
    access_key = _mapping(response.get("accessKey"), meta, "responseElements.accessKey")
    user = named or _text(access_key.get("userName"))
    if not user and identity.type == "IAMUser":
        user = identity.userName or ""
    return EnrolUser(meta, _require(user, meta, "requestParameters.userName"))


def _tag_change(meta: EventMeta, params: dict[str, Any], settings: Settings) -> Command:
    user = _require(_text(params.get("userName")), meta, "requestParameters.userName")
    key = settings.exempt_tag_key
    if meta.event_name == "TagUser":
        if _has_key(_tags(params.get("tags"), meta), key):
            return ExemptionChanged(meta, user, tag_added=True)
    elif _has_key({str(k): "" for k in _list(params.get("tagKeys"), meta, "requestParameters.tagKeys")}, key):
        return ExemptionChanged(meta, user, tag_added=False)
    return Ignore(meta, f"does not change the exemption tag {key}")


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
        if settings.stack_name is None:
            return Ignore(meta, f"{meta.event_name}: no stack name configured, IAM Guard's resources unknown")
        owner = Ownership(settings.stack_name)
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


# --- reading request parameters safely --------------------------------------------------------------


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
