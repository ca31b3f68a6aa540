"""The optional ``IAMGuardProtect`` service control policy. Pure.

Attached to the organisation's root or OUs, it stops member principals - administrators and the member
root user included - from switching IAM Guard off in their account: changing the spoke's roles and rules,
changing or deleting the secured group or the guardrail policy (on ``/iam-guard/`` and under the
configured names), and setting or removing IAM Guard's user tags - the exemption and owner keys and the
leaked-key responder's ``iam-guard:exposed-keys`` - in any letter case. Exempt, by
``aws:PrincipalArn``: the hub's roles in the member (``IAMGuardEnforceRole``), the hub stack's own roles
(in the hub account, with ``hub_account``), the StackSet execution roles (``stacksets-exec-*``), and any
exemption-granting roles named by full ARN. SCPs never apply to the management account (it keeps its
single-account stack) nor to service-linked roles.

The exempt names must be unobtainable: nobody - exempt or not - may create, change or delete a role named
``stacksets-exec-*`` or the ``stacksets-exec-role-stack-*`` stacks that make them
(``ProtectStackSetExecutionRoles``, ``ProtectStackSetExecutionStacks``). StackSets' service-linked role
``AWSServiceRoleForCloudFormationStackSetsOrgMember``, which creates them, is not bound by SCPs.

Not denied on purpose: ``RemoveUserFromGroup`` (deleting a user needs it; the enforcer puts a removed user
back within seconds) and attaching more policies to the group (an Allow never beats the guardrail's Deny).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from core.model.errors import InvalidInputError, PolicyTooLargeError
from core.model.naming import (
    ENFORCE_ROLE,
    ENROLLED_TAG_KEY,
    ENROLLED_TAG_VALUE,
    EXPOSED_KEYS_TAG,
    IAM_PATH,
    SPOKE_ROLES,
    SPOKE_RULES,
    STACKSET_EXECUTION_ROLES,
    role_path,
)
from core.model.settings import (
    DEFAULT_EXEMPT_TAG_KEY,
    DEFAULT_GROUP_NAME,
    DEFAULT_OWNER_TAG_KEY,
    DEFAULT_POLICY_NAME,
)
from core.policy.document import SELF_SERVICE_ACTIONS

MAX_SCP_CHARS = 5120  # Organizations' SCP size limit (budgeted as characters of the minified JSON)
SCP_NAME = "IAMGuardProtect"

SPOKE_ROLE_ACTIONS = (
    "iam:AttachRolePolicy",
    "iam:DeleteRole",
    "iam:DeleteRolePermissionsBoundary",
    "iam:DeleteRolePolicy",
    "iam:DetachRolePolicy",
    "iam:PutRolePermissionsBoundary",
    "iam:PutRolePolicy",
    "iam:TagRole",
    "iam:UntagRole",
    "iam:UpdateAssumeRolePolicy",
    "iam:UpdateRole",
    "iam:UpdateRoleDescription",
)
SPOKE_RULE_ACTIONS = (
    "events:DeleteRule",
    "events:DisableRule",
    "events:PutRule",
    "events:PutTargets",
    "events:RemoveTargets",
    "events:TagResource",
    "events:UntagResource",
)
GROUP_ACTIONS = ("iam:DeleteGroup", "iam:DetachGroupPolicy", "iam:UpdateGroup")
POLICY_ACTIONS = (
    "iam:CreatePolicyVersion",
    "iam:DeletePolicy",
    "iam:DeletePolicyVersion",
    "iam:SetDefaultPolicyVersion",
    "iam:TagPolicy",
    "iam:UntagPolicy",
)
TAG_ACTIONS = ("iam:CreateUser", "iam:TagUser", "iam:UntagUser")
STACKSET_ROLE = "stacksets-exec-*"
STACKSET_ROLE_ACTIONS = (
    "iam:AttachRolePolicy",
    "iam:CreateRole",
    "iam:DeleteRole",
    "iam:DeleteRolePermissionsBoundary",
    "iam:DeleteRolePolicy",
    "iam:DetachRolePolicy",
    "iam:PutRolePermissionsBoundary",
    "iam:PutRolePolicy",
    "iam:TagRole",
    "iam:UntagRole",
    "iam:UpdateAssumeRolePolicy",
    "iam:UpdateRole",
)
STACKSET_STACK = "stacksets-exec-role-stack-*"
STACKSET_STACK_ACTIONS = (
    "cloudformation:CancelUpdateStack",
    "cloudformation:ContinueUpdateRollback",
    "cloudformation:CreateChangeSet",
    "cloudformation:CreateStack",
    "cloudformation:DeleteStack",
    "cloudformation:ExecuteChangeSet",
    "cloudformation:SetStackPolicy",
    "cloudformation:UpdateStack",
)


def exempt_principals(
    stack_name: str,
    exemption_roles: Iterable[str] = (),
    hub_account: str | None = None,
    partition: str = "aws",
) -> list[str]:
    """Who the SCP leaves alone, as ``aws:PrincipalArn`` patterns: the spoke's enforce role and the
    StackSet execution roles in any account (names nobody in a member can take), the hub stack's roles
    (in ``hub_account``; any account without it), and the ``exemption_roles`` ARNs as given."""
    roles = [f"arn:{partition}:iam::*:role/{r}" for r in (ENFORCE_ROLE, *STACKSET_EXECUTION_ROLES)]
    hub = f"arn:{partition}:iam::{hub_account or '*'}:role{role_path(stack_name)}*"
    return [*roles, *exemption_roles, hub]


def render_scp(
    stack_name: str,
    *,
    group_name: str = DEFAULT_GROUP_NAME,
    policy_name: str = DEFAULT_POLICY_NAME,
    exempt_tag_key: str = DEFAULT_EXEMPT_TAG_KEY,
    exemption_roles: Iterable[str] = (),
    hub_account: str | None = None,
    partition: str = "aws",
    owner_tag_key: str = DEFAULT_OWNER_TAG_KEY,
) -> dict[str, Any]:
    """The SCP document, its ARNs in ``partition``; ``PolicyTooLargeError`` (one line) when its minified
    JSON exceeds 5,120."""
    tag_keys = list(dict.fromkeys([exempt_tag_key, owner_tag_key, EXPOSED_KEYS_TAG]))
    exempt = exempt_principals(stack_name, exemption_roles, hub_account, partition)
    p = partition
    unless = {"ArnNotLike": {"aws:PrincipalArn": exempt}}

    def deny(sid: str, actions: Iterable[str], resources: list[str], **condition: Any) -> dict[str, Any]:
        return {
            "Sid": sid,
            "Effect": "Deny",
            "Action": list(actions),
            "Resource": resources,
            "Condition": {**condition, **unless},
        }

    document = {
        "Version": "2012-10-17",
        "Statement": [
            deny("ProtectSpokeRoles", SPOKE_ROLE_ACTIONS, [f"arn:{p}:iam::*:role/{r}" for r in SPOKE_ROLES]),
            deny(
                "ProtectSpokeRules",
                SPOKE_RULE_ACTIONS,
                [f"arn:{p}:events:*:*:rule/{r}" for r in SPOKE_RULES],
            ),
            deny(
                "ProtectGuardrailGroup",
                GROUP_ACTIONS,
                [f"arn:{p}:iam::*:group{IAM_PATH}*", f"arn:{p}:iam::*:group/{group_name}"],
            ),
            deny(
                "ProtectGuardrailPolicy",
                POLICY_ACTIONS,
                [f"arn:{p}:iam::*:policy{IAM_PATH}*", f"arn:{p}:iam::*:policy/{policy_name}"],
            ),
            # IAM Guard's user tags (the enrolled key: IAMGuardDenyUnenrolled's ProtectEnrolledTag).
            deny(
                "ProtectIAMGuardTags",
                TAG_ACTIONS,
                [f"arn:{p}:iam::*:user/*"],
                **{"ForAnyValue:StringEqualsIgnoreCase": {"aws:TagKeys": tag_keys}},
            ),
            # Everyone, the exempt included: the exempt names stay IAM Guard's StackSet's alone.
            {
                "Sid": "ProtectStackSetExecutionRoles",
                "Effect": "Deny",
                "Action": list(STACKSET_ROLE_ACTIONS),
                "Resource": [f"arn:{p}:iam::*:role/{STACKSET_ROLE}"],
            },
            {
                "Sid": "ProtectStackSetExecutionStacks",
                "Effect": "Deny",
                "Action": list(STACKSET_STACK_ACTIONS),
                "Resource": [f"arn:{p}:cloudformation:*:*:stack/{STACKSET_STACK}"],
            },
        ],
    }
    size = len(minified(document))
    if size > MAX_SCP_CHARS:
        raise PolicyTooLargeError(
            f"the SCP would be {size:,} characters, over Organizations' limit of {MAX_SCP_CHARS:,}: "
            "name fewer --exemption-role"
        )
    return document


def minified(document: dict[str, Any]) -> str:
    return json.dumps(document, separators=(",", ":"))


# --- the optional IAMGuardDenyUnenrolled SCP (the zero window) -------------------------------------------

DENY_UNENROLLED_SCP_NAME = "IAMGuardDenyUnenrolled"
ENROLLED_TAGGING = TAG_ACTIONS  # where the enrolled tag may be given, set or removed


def exempt_user_arns(user_name: str, partition: str = "aws") -> list[str]:
    """``aws:PrincipalArn`` patterns of one user name in any member account, at the root or any path."""
    return [f"arn:{partition}:iam::*:user/{user_name}", f"arn:{partition}:iam::*:user/*/{user_name}"]


def render_deny_unenrolled_scp(
    stack_name: str,
    *,
    exempt_users: Iterable[str] = (),
    user_break_glass: bool = True,
    exempt_tag_key: str = DEFAULT_EXEMPT_TAG_KEY,
    exemption_roles: Iterable[str] = (),
    partition: str = "aws",
) -> dict[str, Any]:
    """The ``IAMGuardDenyUnenrolled`` SCP: IAM users of member accounts (``aws:PrincipalType`` ``User``;
    roles, the root user and service-linked roles never match) may do nothing but their first MFA setup
    (the guardrail's self-service actions) until they carry the principal tag ``iam-guard:enrolled=true``
    or the exemption tag key (any value: an SCP cannot compare dates), or are named in ``exempt_users``.

    Only IAM Guard's roles (``IAMGuardEnforceRole`` and the hub stack's roles) may give, set or remove the
    enrolled tag, and ``IAMGuardEnforceRole`` itself is protected as in ``IAMGuardProtect`` (who could
    rewrite it could tag anyone). Refused without an exempt user unless
    ``user_break_glass`` is False (root and roles are then the break-glass path): ``InvalidInputError``.
    """
    users = list(dict.fromkeys(exempt_users))
    if user_break_glass and not users:
        raise InvalidInputError(
            "--deny-unenrolled needs a break-glass user: name one with --exempt-user NAME, "
            "or pass --no-user-break-glass (root and roles are then the only way in)"
        )
    if not user_break_glass and users:
        raise InvalidInputError("--exempt-user and --no-user-break-glass contradict each other: choose one")
    unenrolled: dict[str, Any] = {
        "StringEquals": {"aws:PrincipalType": "User"},
        "StringNotEquals": {f"aws:PrincipalTag/{ENROLLED_TAG_KEY}": ENROLLED_TAG_VALUE},
        "Null": {f"aws:PrincipalTag/{exempt_tag_key}": "true"},
    }
    if users:
        unenrolled["ArnNotLike"] = {
            "aws:PrincipalArn": [a for u in users for a in exempt_user_arns(u, partition)]
        }
    own_roles = [
        f"arn:{partition}:iam::*:role/{ENFORCE_ROLE}",
        f"arn:{partition}:iam::*:role{role_path(stack_name)}*",
    ]
    document = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "DenyUnenrolledUsersExceptMFASetup",
                "Effect": "Deny",
                "NotAction": list(SELF_SERVICE_ACTIONS),
                "Resource": "*",
                "Condition": unenrolled,
            },
            {
                "Sid": "ProtectEnrolledTag",
                "Effect": "Deny",
                "Action": list(ENROLLED_TAGGING),
                "Resource": "*",
                "Condition": {
                    "ForAnyValue:StringEqualsIgnoreCase": {"aws:TagKeys": [ENROLLED_TAG_KEY]},
                    "ArnNotLike": {"aws:PrincipalArn": own_roles},
                },
            },
            {
                "Sid": "ProtectEnforceRole",
                "Effect": "Deny",
                "Action": list(SPOKE_ROLE_ACTIONS),
                "Resource": [f"arn:{partition}:iam::*:role/{ENFORCE_ROLE}"],
                "Condition": {
                    "ArnNotLike": {
                        "aws:PrincipalArn": exempt_principals(stack_name, exemption_roles, None, partition)
                    }
                },
            },
        ],
    }
    size = len(minified(document))
    if size > MAX_SCP_CHARS:
        raise PolicyTooLargeError(
            f"the SCP would be {size:,} characters, over Organizations' limit of {MAX_SCP_CHARS:,}: "
            "name fewer --exempt-user or --exemption-role"
        )
    return document
