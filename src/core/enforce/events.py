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

from datetime import datetime
from typing import Any, NamedTuple

from core.enforce.guardduty import GUARDDUTY_DETAIL_TYPE, GUARDDUTY_SOURCE, FindingClaim
from core.enforce.risk import HEALTH_DETAIL_TYPE, HEALTH_SOURCE, HealthDetail
from core.enforce.watch import (
    WATCHED,
)
from core.model.errors import InvalidEventError
from core.model.validation import Fields, validated

IAM_SOURCE = "aws.iam"
CLOUDTRAIL_DETAIL_TYPE = "AWS API Call via CloudTrail"
IAM_EVENT_SOURCE = "iam.amazonaws.com"

# Long-term credentials besides access keys and passwords, handled like CreateAccessKey (enrol; an alert
# for an exempt user): SSH public keys (CodeCommit), X.509 signing certificates, service-specific credentials.
OTHER_CREDENTIAL_EVENTS = frozenset(
    {
        "UploadSSHPublicKey",
        "UploadSigningCertificate",
        "CreateServiceSpecificCredential",
        "ResetServiceSpecificCredential",
    }
)
ENROLMENT_EVENTS = (
    frozenset({"CreateUser", "CreateAccessKey", "CreateLoginProfile", "UpdateLoginProfile"})
    | OTHER_CREDENTIAL_EVENTS
)
POLICY_TAMPER_EVENTS = frozenset(
    {"CreatePolicyVersion", "SetDefaultPolicyVersion", "DeletePolicyVersion", "DeletePolicy"}
)
GROUP_TAMPER_EVENTS = frozenset({"RemoveUserFromGroup", "DetachGroupPolicy", "DeleteGroup", "UpdateGroup"})
TAG_EVENTS = frozenset({"TagUser", "UntagUser"})
MFA_EVENTS = frozenset({"EnableMFADevice"})
# The account password policy changed or removed: restored with ManagePasswordPolicy=true.
PASSWORD_POLICY_EVENTS = frozenset({"UpdateAccountPasswordPolicy", "DeleteAccountPasswordPolicy"})
# The IAM user/group/policy events the enforcer's main rule delivers (IAM role events: core.enforce.watch).
HANDLED_EVENTS = (
    ENROLMENT_EVENTS
    | POLICY_TAMPER_EVENTS
    | GROUP_TAMPER_EVENTS
    | TAG_EVENTS
    | MFA_EVENTS
    | PASSWORD_POLICY_EVENTS
)
CLOUDFORMATION_INVOKER = "cloudformation.amazonaws.com"
# sts:AssumeRoot (centralized root access): a session as a member account's root user, alerted.
STS_SOURCE = "aws.sts"
STS_EVENT_SOURCE = "sts.amazonaws.com"
ROOT_SESSION_EVENTS = frozenset({"AssumeRoot"})
WATCHED_SOURCES = frozenset({IAM_SOURCE, STS_SOURCE, *(service.source for service in WATCHED)})


# --- the typed event ------------------------------------------------------------------------------
# CloudTrail's own field names (camelCase), so a reader can hold the code next to a CloudTrail record.


class UserIdentity(NamedTuple):
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


class CloudTrailDetail(NamedTuple):
    """The CloudTrail record carried in ``detail`` (only the fields the enforcer reads)."""

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


class ApiCallEvent(NamedTuple):
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
    health: HealthDetail | None = None  # an AWS Health event's detail (core.enforce.risk)
    finding: FindingClaim | None = None  # a GuardDuty finding's detail (core.enforce.guardduty)

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
        is_health = source == HEALTH_SOURCE and detail_type == HEALTH_DETAIL_TYPE
        health = HealthDetail.read(f.required_record("detail")) if is_health else None
        is_finding = source == GUARDDUTY_SOURCE and detail_type == GUARDDUTY_DETAIL_TYPE
        finding = FindingClaim.read(f.required_record("detail")) if is_finding else None
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
            health=health,
            finding=finding,
        )


IamApiCallEvent = ApiCallEvent  # the name used before other services' events were handled


def parse_event(raw: Any) -> ApiCallEvent:
    """Validate a raw EventBridge payload; one-line ``InvalidEventError`` when it is not one."""
    if not isinstance(raw, dict):
        raise InvalidEventError(f"not an EventBridge event: expected a JSON object, got {type(raw).__name__}")
    return validated(ApiCallEvent.read, raw, "an EventBridge event")


# --- reading request parameters safely --------------------------------------------------------------
