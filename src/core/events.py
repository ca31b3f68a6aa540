"""CloudTrail-via-EventBridge events -> typed enforcer commands. Pure: no I/O, no clock.

``parse_event`` validates the raw Lambda payload into ``IamApiCallEvent`` (the handler and the CLI call
it); ``classify`` turns a parsed event into exactly one command, or an ``Ignore`` saying why nothing is
to be done. Only events that touch the guardrail's own group, policy or exemption tag become tamper
commands; everything else the enforcer does not own is ignored.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from aws_lambda_powertools.utilities.parser.models.event_bridge import EventBridgeModel
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from core.errors import InvalidEventError
from core.exemptions import tags_to_dict
from core.settings import Settings

IAM_SOURCE = "aws.iam"
CLOUDTRAIL_DETAIL_TYPE = "AWS API Call via CloudTrail"
IAM_EVENT_SOURCE = "iam.amazonaws.com"

ENROLMENT_EVENTS = frozenset({"CreateUser", "CreateAccessKey", "CreateLoginProfile"})
POLICY_TAMPER_EVENTS = frozenset(
    {"CreatePolicyVersion", "SetDefaultPolicyVersion", "DeletePolicyVersion", "DeletePolicy"}
)
GROUP_TAMPER_EVENTS = frozenset({"RemoveUserFromGroup", "DetachGroupPolicy", "DeleteGroup"})
TAG_EVENTS = frozenset({"TagUser", "UntagUser"})
HANDLED_EVENTS = ENROLMENT_EVENTS | POLICY_TAMPER_EVENTS | GROUP_TAMPER_EVENTS | TAG_EVENTS


# --- the typed event ------------------------------------------------------------------------------


class SessionIssuer(BaseModel):
    model_config = ConfigDict(extra="ignore")

    type: str = ""
    arn: str = ""
    userName: str = ""  # CloudTrail's field names


class SessionContext(BaseModel):
    model_config = ConfigDict(extra="ignore")

    sessionIssuer: SessionIssuer | None = None


class UserIdentity(BaseModel):
    model_config = ConfigDict(extra="ignore")

    type: str = ""
    arn: str = ""
    principalId: str = ""
    accountId: str = ""
    userName: str | None = None
    invokedBy: str | None = None
    sessionContext: SessionContext | None = None

    @property
    def issuer_arn(self) -> str:
        """The role behind an assumed-role session ('' for users and root)."""
        issuer = self.sessionContext.sessionIssuer if self.sessionContext else None
        return issuer.arn if issuer else ""


class CloudTrailDetail(BaseModel):
    """The CloudTrail record carried in ``detail`` (only the fields the enforcer reads)."""

    model_config = ConfigDict(extra="ignore")

    eventName: str
    eventSource: str
    eventTime: datetime | None = None
    eventID: str = ""
    awsRegion: str = ""
    sourceIPAddress: str = ""
    userIdentity: UserIdentity = UserIdentity()
    requestParameters: dict[str, Any] | None = None
    responseElements: dict[str, Any] | None = None
    errorCode: str | None = None
    errorMessage: str | None = None
    recipientAccountId: str = ""


class IamApiCallEvent(EventBridgeModel):
    """An EventBridge event; ``detail`` is typed when it is a CloudTrail IAM API call, else None."""

    detail: CloudTrailDetail | None  # type: ignore[assignment]

    @field_validator("detail", mode="before")
    @classmethod
    def validate_detail(cls, value: Any, info: Any) -> Any:
        # Other sources / detail types are valid EventBridge events that we ignore, not bad input.
        is_cloudtrail = (
            info.data.get("source") == IAM_SOURCE and info.data.get("detail_type") == CLOUDTRAIL_DETAIL_TYPE
        )
        return value if is_cloudtrail else None


def parse_event(raw: Any) -> IamApiCallEvent:
    """Validate a raw EventBridge payload; one-line ``InvalidEventError`` when it is not one."""
    if not isinstance(raw, dict):
        raise InvalidEventError(f"not an EventBridge event: expected a JSON object, got {type(raw).__name__}")
    try:
        return IamApiCallEvent.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "event"
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        raise InvalidEventError(f"not an EventBridge event: {where}: {first['msg']}{more}") from None


# --- commands ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EventMeta:
    """Who did what, where and when: carried into every result and alert."""

    event_name: str
    event_id: str
    account_id: str
    region: str
    actor: str  # the caller's ARN
    occurred_at: datetime | None
    source_ip: str = ""


@dataclass(frozen=True)
class Ignore:
    meta: EventMeta
    reason: str


@dataclass(frozen=True)
class EnrolUser:
    """CreateUser / CreateAccessKey / CreateLoginProfile: the user must be in the group unless exempt."""

    meta: EventMeta
    user_name: str
    event_tags: dict[str, str] = field(default_factory=dict)  # tags given in CreateUser

    @property
    def is_new_user(self) -> bool:
        return self.meta.event_name == "CreateUser"


@dataclass(frozen=True)
class RootAccessKeyCreated:
    meta: EventMeta
    access_key_id: str


@dataclass(frozen=True)
class RestoreMembership:
    """Someone removed a user from the secured group."""

    meta: EventMeta
    user_name: str


@dataclass(frozen=True)
class HealGuardrail:
    """Someone changed the group, the policy or the attachment: verify everything, uncached."""

    meta: EventMeta
    resource: str  # what the event touched, e.g. "policy/IAMGuardSecureIAMPolicy"


@dataclass(frozen=True)
class ExemptionChanged:
    """TagUser / UntagUser on the exemption tag key: re-decide from the user's current tags."""

    meta: EventMeta
    user_name: str
    tag_added: bool  # TagUser (True) or UntagUser (False)


Command = Ignore | EnrolUser | RootAccessKeyCreated | RestoreMembership | HealGuardrail | ExemptionChanged
TAMPER_COMMANDS = (RestoreMembership, HealGuardrail)


def classify(
    event: IamApiCallEvent, settings: Settings, ignore_arns: frozenset[str] = frozenset()
) -> Command:
    """The one command this event asks for. ``ignore_arns``: callers whose events are our own doing."""
    detail = event.detail
    meta = _meta(event)
    if detail is None:
        return Ignore(meta, f"not a CloudTrail IAM API call (source {event.source}, {event.detail_type})")
    if detail.eventSource != IAM_EVENT_SOURCE:
        return Ignore(meta, f"event source {detail.eventSource} is not {IAM_EVENT_SOURCE}")
    if detail.errorCode:
        return Ignore(meta, f"the call failed ({detail.errorCode}): nothing changed")
    if detail.eventName not in HANDLED_EVENTS:
        return Ignore(meta, f"{detail.eventName} is not an event the enforcer handles")
    identity = detail.userIdentity
    if ignore_arns & {identity.arn, identity.issuer_arn} - {""}:
        return Ignore(meta, "caused by IAM Guard itself (one of its own roles)")
    params = detail.requestParameters or {}
    name = detail.eventName
    if name in ENROLMENT_EVENTS:
        return _enrolment(meta, detail, params)
    if name in TAG_EVENTS:
        return _tag_change(meta, params, settings)
    return _tamper(meta, params, settings)


def _meta(event: IamApiCallEvent) -> EventMeta:
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
        user = named or _text((response.get("user") or {}).get("userName"))
        return EnrolUser(
            meta, _require(user, meta, "requestParameters.userName"), tags_to_dict(params.get("tags"))
        )
    access_key = response.get("accessKey") or {}
    if not named and identity.type == "Root":
        # No userName and the caller is root: the key belongs to the root user itself.
        return RootAccessKeyCreated(meta, _text(access_key.get("accessKeyId")))
    # Users creating their own key / password omit userName: it is in the response or the identity.
    user = named or _text(access_key.get("userName"))
    if not user and identity.type == "IAMUser":
        user = identity.userName or ""
    return EnrolUser(meta, _require(user, meta, "requestParameters.userName"))


def _tag_change(meta: EventMeta, params: dict[str, Any], settings: Settings) -> Command:
    user = _require(_text(params.get("userName")), meta, "requestParameters.userName")
    key = settings.exempt_tag_key
    if meta.event_name == "TagUser":
        if key in tags_to_dict(params.get("tags")):
            return ExemptionChanged(meta, user, tag_added=True)
    elif key in (params.get("tagKeys") or []):
        return ExemptionChanged(meta, user, tag_added=False)
    return Ignore(meta, f"does not change the exemption tag {key}")


def _tamper(meta: EventMeta, params: dict[str, Any], settings: Settings) -> Command:
    name = meta.event_name
    group = _text(params.get("groupName"))
    policy = _text(params.get("policyArn"))
    ours_group = group == settings.group_name
    ours_policy = is_our_policy_arn(policy, meta.account_id, settings)
    if name == "RemoveUserFromGroup" and ours_group:
        return RestoreMembership(
            meta, _require(_text(params.get("userName")), meta, "requestParameters.userName")
        )
    if name == "DetachGroupPolicy" and ours_group and ours_policy:
        return HealGuardrail(meta, f"group/{group}")
    if name == "DeleteGroup" and ours_group:
        return HealGuardrail(meta, f"group/{group}")
    if name in POLICY_TAMPER_EVENTS and ours_policy:
        return HealGuardrail(meta, f"policy/{settings.policy_name}")
    target = group or policy or "another resource"
    return Ignore(meta, f"{name} on {target} does not touch the guardrail")


def is_our_policy_arn(arn: str, account_id: str, settings: Settings) -> bool:
    """``arn:<partition>:iam::<account>:policy/<name>`` of our policy (any partition, no path)."""
    parts = arn.split(":", 5)
    return (
        len(parts) == 6
        and parts[2] == "iam"
        and parts[4] == account_id
        and parts[5] == f"policy/{settings.policy_name}"
    )


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _require(value: str, meta: EventMeta, where: str) -> str:
    if not value:
        raise InvalidEventError(f"{meta.event_name} event {meta.event_id or '?'} names no user ({where})")
    return value
