"""The enforcer's commands: what one event asks for, as immutable values. Pure.

Commands are NamedTuples: immutable values like the parsed events, and about seven times cheaper to
define than frozen dataclasses - the enforcer defines all eleven at every cold start.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from types import MappingProxyType
from typing import NamedTuple

from core.enforce.guardduty import FindingClaim


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


class OwnerChanged(NamedTuple):
    """TagUser / UntagUser on the owner tag key: always alerted (it redirects the user's notices)."""

    meta: EventMeta
    user_name: str
    value: str | None  # the new value (TagUser), None when the tag was removed (UntagUser)
    exemption_too: bool = False  # the same request touched the exemption tag: re-decided as well


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


class LeakedKeyReported(NamedTuple):
    """AWS says these access keys leaked (a Health RISK event), or a person says so (``iam-guard respond``).

    Nothing in it is trusted: the responder asks IAM and STS whose each key is before acting.
    """

    meta: EventMeta
    access_key_ids: tuple[str, ...]
    origin: str  # "health" (an AWS Health event), "guardduty" (a finding) or "manual" (iam-guard respond)
    event_type: str  # the Health event type code, the GuardDuty finding type, or "manual"
    reference: str = ""  # the Health event ARN, or the GuardDuty finding's ID
    not_keys: tuple[str, ...] = ()  # entity values that are no access key ID (reported, never acted on)
    confirmed: bool = False  # a person's decision (respond --apply): no corroboration by AWS needed
    finding: FindingClaim | None = None  # origin "guardduty": what the finding claims (GetFindings checks)


class QuarantineDetached(NamedTuple):
    """DetachUserPolicy of AWS's AWSCompromisedKeyQuarantine* policy from a user."""

    meta: EventMeta
    user_name: str
    policy_arn: str


class RestorePasswordPolicy(NamedTuple):
    """UpdateAccountPasswordPolicy / DeleteAccountPasswordPolicy with ManagePasswordPolicy=true: re-read
    the policy from IAM and set the managed one when it differs (the event's parameters are not trusted)."""

    meta: EventMeta


class RootSessionAssumed(NamedTuple):
    """sts:AssumeRoot: someone took a short-term session as a member account's root user."""

    meta: EventMeta
    member: str  # requestParameters.targetPrincipal: the member account (its ID)
    task_policy: str  # requestParameters.taskPolicyArn: the root-task policy scoping the session


Command = (
    Ignore
    | EnrolUser
    | RootAccessKeyCreated
    | RootPasswordCreated
    | RestoreMembership
    | HealGuardrail
    | RestoreRenamedGroup
    | ExemptionChanged
    | OwnerChanged
    | MfaDeviceEnabled
    | InfrastructureChanged
    | LeakedKeyReported
    | QuarantineDetached
    | RestorePasswordPolicy
    | RootSessionAssumed
)


TAMPER_COMMANDS = (RestoreMembership, HealGuardrail, RestoreRenamedGroup)
