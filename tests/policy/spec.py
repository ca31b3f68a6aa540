"""What the guardrail must decide, written from the issues and iam-facts.md, not from
``core.policy.document``.

The truth tables evaluate every row twice: with the IAM engine on the policy ``render_policy`` produces,
and with the oracle here (``expected``), then compare. This module holds the specification they share:
the self-service actions (issue 2), and for the self-defence statements (issue 10) a row model that says
what each request is (whose resource, a read or a change, which credentials) and the decision it needs.
Which resources are IAM Guard's and which actions only read are labelled by the table that builds the
rows, from the resource names and the Service Authorization Reference: the oracle never looks at the
policy's patterns.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from core.model.settings import build_settings
from core.policy.document import render_policy

from .engine import ACCOUNT, ALLOWED, EXPLICIT_DENY, IMPLICIT_DENY, Request, evaluate

# --- self-service (issue 2) ------------------------------------------------------------------------------

# What a user without MFA may still do: sign in the first time (password policy, password change), reach
# the console's Security credentials page (GetUser, the list calls) and set up a virtual MFA device; in
# strict mode, also obtain an MFA session for the CLI (sts:GetSessionToken). IAM itself never lets a
# policy block GetSessionToken ("Permissions for GetSessionToken", IAM User Guide); the engine evaluates
# it like any action, so the policy exempts it explicitly, as AWS's re:Post example does.
ACCOUNT_WIDE_SELF_SERVICE = (  # no resource-level permissions: requested on "*"
    "iam:GetAccountPasswordPolicy",
    "iam:ListUsers",
    "iam:ListVirtualMFADevices",
    "sts:GetSessionToken",
)
OWN_USER_SELF_SERVICE = (  # resource: the user; allowed only on the caller's own user
    "iam:ChangePassword",
    "iam:GetUser",
    "iam:ListMFADevices",
    "iam:EnableMFADevice",
    "iam:ResyncMFADevice",
    "iam:GetMFADevice",
)
CREATE_DEVICE = "iam:CreateVirtualMFADevice"  # resource: the device, which may have any name
DEACTIVATE = "iam:DeactivateMFADevice"  # own user, and only with MFA
SELF_SERVICE = frozenset({*ACCOUNT_WIDE_SELF_SERVICE, *OWN_USER_SELF_SERVICE, CREATE_DEVICE})

ADMIN_POLICY = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}

# --- self-defence (issue 10) -----------------------------------------------------------------------------

# Strict mode: registering a device needs a session. A long-term key carries no aws:MultiFactorAuthPresent.
MFA_REGISTRATION = frozenset({CREATE_DEVICE, "iam:EnableMFADevice", "iam:ResyncMFADevice"})
# Where a request names tag keys for a user: the exemption tag key may appear in none of them.
USER_TAGGING = frozenset({"iam:CreateUser", "iam:TagUser", "iam:UntagUser"})

INSIDE_CIDR = "203.0.113.0/24"
SOURCE_IP = {"inside": "203.0.113.10", "outside": "198.51.100.10"}
FRESH_MFA_SECONDS = 600

# A KMS key authorizes through its key policy: the default one delegates to the account's IAM policies.
DEFAULT_KEY_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "Enable IAM User Permissions",
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
            "Action": "kms:*",
            "Resource": "*",
        }
    ],
}


@dataclass(frozen=True)
class Setting:
    """One way to configure the guardrail (the network is always the one CIDR above)."""

    mode: str = "strict"
    stack: str | None = None
    max_mfa_age_hours: int | None = None
    group: str | None = None  # None: the default name
    policy: str | None = None
    exempt_tag: str | None = None
    owner_tag: str | None = None

    def document(self) -> dict[str, Any]:
        return render_policy(
            build_settings(
                allowed_cidrs=(INSIDE_CIDR,),
                mfa_mode=self.mode,
                stack_name=self.stack,
                max_mfa_age_hours=self.max_mfa_age_hours,
                group_name=self.group,
                policy_name=self.policy,
                exempt_tag_key=self.exempt_tag,
                owner_tag_key=self.owner_tag,
            )
        )

    @property
    def tag_key(self) -> str:
        return self.exempt_tag or "iam-guard:exempt"

    @property
    def guard_tag_keys(self) -> tuple[str, ...]:
        """Every key IAM Guard decides by or writes: guarded users may touch none of them (DenyIAMGuardTags):
        the exemption and owner keys, the enrolled key and the leaked-key responder's exposed keys."""
        return (
            self.tag_key,
            self.owner_tag or "iam-guard:owner",
            "iam-guard:enrolled",
            "iam-guard:exposed-keys",
        )


@dataclass(frozen=True)
class Call:
    """One request by a guarded user, labelled with what the specification needs to know about it."""

    setting: str  # which guardrail (a key of the table's settings)
    what: str  # for people: "lambda function of my-iam-guard", "pathed user, other user"...
    action: str
    resource: str
    ours: bool = False  # the resource is IAM Guard's own (the setting's stack, group, policy, key)
    read: bool = False  # the action only reads (Describe/Get/List, log queries): allowed on ours
    target: str = "any"  # for self-service on a user: "own" or "other"
    network: str = "inside"  # "inside" the allowed CIDR or "outside"
    via: bool = False  # an AWS service makes the request with the user's credentials
    called_via: tuple[str, ...] = ()
    mfa: str = "true"  # aws:MultiFactorAuthPresent: "true", "false", or "absent" (a long-term key)
    mfa_age: int | None = FRESH_MFA_SECONDS  # aws:MultiFactorAuthAge, seconds (sessions with MFA only)
    tag_keys: tuple[str, ...] | None = None  # aws:TagKeys, None: no tags in the request
    aliases: tuple[str, ...] | None = None  # kms:ResourceAliases of the key, None: a key without alias
    admin: bool = True  # the user also has AdministratorAccess
    path: str = "/"  # the caller's IAM path
    key_policy: bool = False  # the resource is a KMS key (authorizes through DEFAULT_KEY_POLICY)

    def __str__(self) -> str:
        extra = [
            f"mfa={self.mfa}" + (f"/{self.mfa_age}s" if self.mfa == "true" and self.mfa_age else ""),
            self.network + (" via service" if self.via else ""),
            "admin" if self.admin else "guardrail only",
        ]
        if self.tag_keys is not None:
            extra.append(f"tags={list(self.tag_keys)}")
        if self.aliases is not None:
            extra.append(f"aliases={list(self.aliases)}")
        if self.path != "/":
            extra.append(f"caller path {self.path}")
        return f"[{self.setting}] {self.what}: {self.action} on {self.resource} ({', '.join(extra)})"


def expected(call: Call, setting: Setting) -> str:
    """The decision the specification asks for."""
    if call.network != "inside" and not call.via:
        return EXPLICIT_DENY  # outside the allowed networks, and no AWS service acting for the user
    strict = setting.mode == "strict"
    without_mfa = call.mfa == "false" or (call.mfa == "absent" and strict)
    self_service_on_own = call.action in SELF_SERVICE and call.target != "other"
    if without_mfa and not self_service_on_own:
        return EXPLICIT_DENY  # even an admin: nothing but self-service on yourself until MFA
    if strict and call.mfa == "absent" and call.action in MFA_REGISTRATION:
        return EXPLICIT_DENY  # a leaked long-term key cannot register its own MFA device
    too_old = (
        setting.max_mfa_age_hours is not None
        and call.mfa == "true"
        and call.mfa_age is not None
        and call.mfa_age > setting.max_mfa_age_hours * 3600
    )
    if too_old and not self_service_on_own:
        return EXPLICIT_DENY  # old MFA counts as none: sign in again
    if call.action in USER_TAGGING and any(
        key.casefold() in {k.casefold() for k in setting.guard_tag_keys} for key in call.tag_keys or ()
    ):
        return EXPLICIT_DENY  # exemptions and owners are set from outside the group only
    if setting.stack is not None and call.ours and not call.read:
        return EXPLICIT_DENY  # IAM Guard's own resources: reads only, whatever else the user may do
    if call.admin:
        return ALLOWED
    if self_service_on_own or (call.action == DEACTIVATE and call.target == "own" and call.mfa == "true"):
        return ALLOWED
    return IMPLICIT_DENY  # the guardrail grants nothing else


def to_request(call: Call) -> Request:
    context: dict[str, str | list[str]] = {
        "aws:SourceIp": SOURCE_IP[call.network],
        "aws:ViaAWSService": "true" if call.via else "false",
    }
    if call.called_via:
        context["aws:CalledVia"] = list(call.called_via)
    if call.mfa != "absent":
        context["aws:MultiFactorAuthPresent"] = call.mfa
        if call.mfa == "true" and call.mfa_age is not None:
            context["aws:MultiFactorAuthAge"] = str(call.mfa_age)
    if call.tag_keys is not None:
        context["aws:TagKeys"] = list(call.tag_keys)
    if call.aliases is not None:
        context["kms:ResourceAliases"] = list(call.aliases)
    policies = (call.setting, "admin") if call.admin else (call.setting,)
    return Request(
        policies,
        call.action,
        call.resource,
        context,
        path=call.path,
        resource_policy=DEFAULT_KEY_POLICY if call.key_policy else None,
    )


def decide(settings: Mapping[str, Setting], calls: Sequence[Call]) -> list[tuple[Call, str]]:
    """Every call with the engine's decision: one engine process for the whole table."""
    documents: dict[str, Mapping[str, Any]] = {name: s.document() for name, s in settings.items()}
    documents["admin"] = ADMIN_POLICY
    return list(zip(calls, evaluate(documents, [to_request(call) for call in calls]), strict=True))


def disagreements(settings: Mapping[str, Setting], table: Sequence[tuple[Call, str]]) -> list[str]:
    return [
        f"{call}: engine {got}, specification {expected(call, settings[call.setting])}"
        for call, got in table
        if got != expected(call, settings[call.setting])
    ]


def report(problems: Sequence[str], limit: int = 40) -> str:
    shown = "\n  ".join(problems[:limit])
    more = f"\n  ... and {len(problems) - limit} more" if len(problems) > limit else ""
    return f"{len(problems)} rows disagree:\n  {shown}{more}"


def rows(table: Sequence[tuple[Call, str]], where: Callable[[Call], bool]) -> list[tuple[Call, str]]:
    """The rows of a decided table whose call matches ``where`` (never none: a selection that matches
    nothing proves nothing)."""
    selected = [(call, got) for call, got in table if where(call)]
    assert selected, "the selection must not be empty"
    return selected


def wrong(selected: Sequence[tuple[Call, str]], want: str) -> list[str]:
    """The rows where the engine decided otherwise than ``want``, one line each."""
    return [f"{call}: engine {got}, want {want}" for call, got in selected if got != want]
