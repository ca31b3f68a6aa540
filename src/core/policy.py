"""The guardrail policy: rendered from settings, compared semantically with a live document. Pure.

This module is the only place the policy exists. The Lambda functions, the CloudFormation custom
resource, the CLI and the tests all call ``render_policy``.

Statements (see README "The policy" for each difference from the seed blog post):

1. ``DenyAllOutsideAllowedNetworks`` - deny everything unless the request comes from an allowed CIDR or
   an allowed VPC endpoint, or an AWS service calls on the user's behalf.
2. ``DenyAllExceptSelfServiceWithoutMFA`` - without MFA, deny everything except the self-service actions
   needed to sign in the first time, change the password and set up MFA, and ``sts:GetSessionToken`` so
   CLI users can get an MFA session (needed in strict mode; harmless in console mode, where access keys
   are not gated and STS refuses GetSessionToken to session credentials).
3. ``DenySelfServiceOnOtherUsersWithoutMFA`` - without MFA, those self-service actions are denied on any
   user but yourself, even for users whose other policies grant more (AdministratorAccess).
4. ``AllowListingForMFASetup`` / ``AllowCreatingVirtualMFADevices`` / ``AllowManagingOwnMFAAndPassword`` /
   ``AllowDeactivatingOwnMFAWithMFA`` - grant exactly the self-service the console and CLI flows need.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from core.errors import PolicyTooLargeError
from core.settings import Settings

POLICY_VERSION = "2012-10-17"
MAX_POLICY_CHARS = 6144  # IAM's managed-policy limit, whitespace excluded
OWN_USER_ARN = "arn:aws:iam::*:user/${aws:username}"
ANY_MFA_DEVICE_ARN = "arn:aws:iam::*:mfa/*"

# Self-service actions that do not support resource-level permissions (Service Authorization Reference).
ACCOUNT_LEVEL_SELF_SERVICE = (
    "iam:GetAccountPasswordPolicy",
    "iam:ListUsers",
    "iam:ListVirtualMFADevices",
)
# Actions on the caller's own IAM user (resource type "user").
OWN_USER_SELF_SERVICE = (
    "iam:ChangePassword",
    "iam:EnableMFADevice",
    "iam:GetMFADevice",
    "iam:GetUser",
    "iam:ListMFADevices",
    "iam:ResyncMFADevice",
)
# Resource type "mfa": a virtual device may have any name since 2022-11.
CREATE_MFA_DEVICE = "iam:CreateVirtualMFADevice"
GET_SESSION_TOKEN = "sts:GetSessionToken"  # noqa: S105 - an action name, not a secret

# What a user without MFA may still do (statement 2's NotAction). Not DeleteVirtualMFADevice (AWS warns).
SELF_SERVICE_ACTIONS = tuple(
    sorted((*ACCOUNT_LEVEL_SELF_SERVICE, *OWN_USER_SELF_SERVICE, CREATE_MFA_DEVICE, GET_SESSION_TOKEN))
)


def render_policy(settings: Settings) -> dict[str, Any]:
    """Return the guardrail policy document for these settings; refuse one IAM would reject for size."""
    mfa_absent_operator = "BoolIfExists" if settings.mfa_mode == "strict" else "Bool"
    without_mfa = {mfa_absent_operator: {"aws:MultiFactorAuthPresent": "false"}}
    statements: list[dict[str, Any]] = []
    if settings.ip_restriction:
        statements.append(_network_statement(settings))
    statements += [
        {
            "Sid": "DenyAllExceptSelfServiceWithoutMFA",
            "Effect": "Deny",
            "NotAction": list(SELF_SERVICE_ACTIONS),
            "Resource": "*",
            "Condition": without_mfa,
        },
        {
            "Sid": "DenySelfServiceOnOtherUsersWithoutMFA",
            "Effect": "Deny",
            "Action": list(OWN_USER_SELF_SERVICE),
            "NotResource": OWN_USER_ARN,
            "Condition": without_mfa,
        },
        {
            "Sid": "AllowListingForMFASetup",
            "Effect": "Allow",
            "Action": [*ACCOUNT_LEVEL_SELF_SERVICE, GET_SESSION_TOKEN],
            "Resource": "*",
        },
        {
            "Sid": "AllowCreatingVirtualMFADevices",
            "Effect": "Allow",
            "Action": CREATE_MFA_DEVICE,
            "Resource": ANY_MFA_DEVICE_ARN,
        },
        {
            "Sid": "AllowManagingOwnMFAAndPassword",
            "Effect": "Allow",
            "Action": list(OWN_USER_SELF_SERVICE),
            "Resource": OWN_USER_ARN,
        },
        {
            "Sid": "AllowDeactivatingOwnMFAWithMFA",
            "Effect": "Allow",
            "Action": "iam:DeactivateMFADevice",
            "Resource": OWN_USER_ARN,
            "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}},
        },
    ]
    document = {"Version": POLICY_VERSION, "Statement": statements}
    _check_size(document, settings)
    return document


def _network_statement(settings: Settings) -> dict[str, Any]:
    # Several operators in one Condition are ANDed: deny only when the request is from no allowed CIDR,
    # AND through no allowed VPC endpoint, AND not made by an AWS service on the user's behalf.
    # BoolIfExists: if aws:ViaAWSService were ever absent, fail closed (the seed's Bool would not deny).
    condition: dict[str, Any] = {"BoolIfExists": {"aws:ViaAWSService": "false"}}
    if settings.allowed_cidrs:
        condition["NotIpAddress"] = {"aws:SourceIp": list(settings.allowed_cidrs)}
    if settings.allowed_vpce_ids:
        condition["StringNotEqualsIfExists"] = {"aws:SourceVpce": list(settings.allowed_vpce_ids)}
    return {
        "Sid": "DenyAllOutsideAllowedNetworks",
        "Effect": "Deny",
        "Action": "*",
        "Resource": "*",
        "Condition": condition,
    }


def policy_json(document: Mapping[str, Any], *, indent: int | None = 2) -> str:
    """Serialize a policy document the same way everywhere (CLI output, IAM calls)."""
    return json.dumps(document, indent=indent, sort_keys=False)


def policy_size(document: Mapping[str, Any]) -> int:
    """Characters IAM counts against the limit: the JSON text without whitespace (outside strings)."""
    return len(json.dumps(document, separators=(",", ":")))


def _check_size(document: dict[str, Any], settings: Settings) -> None:
    size = policy_size(document)
    if size <= MAX_POLICY_CHARS:
        return
    if settings.allowed_cidrs:
        fit = _how_many_fit(size, settings.allowed_cidrs)
        advice = (
            f"{len(settings.allowed_cidrs)} CIDRs given, at most {fit} CIDRs of this length fit "
            "(merge adjacent ranges into larger CIDRs)"
        )
    else:
        fit = _how_many_fit(size, settings.allowed_vpce_ids)
        advice = f"{len(settings.allowed_vpce_ids)} VPC endpoint IDs given, at most {fit} fit"
    raise PolicyTooLargeError(
        f"the policy would be {size:,} characters, over IAM's limit of {MAX_POLICY_CHARS:,}: {advice}"
    )


def _how_many_fit(size: int, items: tuple[str, ...]) -> int:
    """How many items of the given items' average length the list could hold within the limit."""
    list_chars = sum(len(json.dumps(item)) + 1 for item in items)  # quoted, plus a separating comma
    fixed = size - list_chars
    # fixed is one less than the rest of the document (the last item has no comma): k items take
    # k * (length + 1) - 1 characters, so k fit when k * (length + 1) <= limit - fixed.
    return max(int((MAX_POLICY_CHARS - fixed) // (list_chars / len(items))), 0)


# --- semantic comparison -------------------------------------------------------------------------------

_LIST_VALUED = {"Action", "NotAction", "Resource", "NotResource"}


def canonical_policy(document: Mapping[str, Any] | str) -> Any:
    """A hashable canonical form that is equal for documents IAM evaluates identically.

    Ignored, as IAM ignores them: key order, whitespace, order and duplicates inside action/resource/
    condition-value lists, a single string vs a one-element list, JSON ``false`` vs ``"false"``, the case
    of condition keys, statement order and ``Sid`` (a label, not part of evaluation).
    """
    doc = json.loads(document) if isinstance(document, str) else document
    statements = doc.get("Statement", [])
    if isinstance(statements, Mapping):
        statements = [statements]
    return (
        str(doc.get("Version", "2008-10-17")),
        frozenset(_canonical_statement(s) for s in statements),
    )


def _canonical_statement(statement: Mapping[str, Any]) -> Any:
    items: list[tuple[str, Any]] = []
    for key, value in statement.items():
        if key == "Sid":
            continue
        if key in _LIST_VALUED:
            items.append((key, _value_set(value)))
        elif key == "Condition":
            items.append((key, _canonical_condition(value)))
        elif key in {"Principal", "NotPrincipal"}:
            items.append((key, _canonical_principal(value)))
        else:
            items.append((key, _scalar(value)))
    return frozenset(items)


def _canonical_condition(condition: Mapping[str, Any]) -> Any:
    return frozenset(
        (operator, frozenset((key.lower(), _value_set(values)) for key, values in keys.items()))
        for operator, keys in condition.items()
    )


def _canonical_principal(principal: Any) -> Any:
    if isinstance(principal, Mapping):
        return frozenset((kind, _value_set(v)) for kind, v in principal.items())
    return _scalar(principal)


def _value_set(value: Any) -> frozenset[str]:
    values = value if isinstance(value, list) else [value]
    return frozenset(_scalar(v) for v in values)


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def policies_equal(live: Mapping[str, Any] | str, rendered: Mapping[str, Any] | str) -> bool:
    """True when the live document is semantically the rendered one ("current")."""
    return bool(canonical_policy(live) == canonical_policy(rendered))
