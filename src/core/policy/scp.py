"""The optional ``IAMGuardProtect`` service control policy. Pure.

Attached to the organisation's root or OUs, it stops member principals - administrators and the member
root user included - from switching IAM Guard off in their account: changing the spoke's roles and rules,
changing or deleting the secured group or the guardrail policy (on ``/iam-guard/`` and under the
configured names), and setting or removing the exemption tag (any letter case). Exempt, by
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

from core.model.errors import PolicyTooLargeError
from core.model.naming import ENFORCE_ROLE, IAM_PATH, role_path
from core.model.settings import DEFAULT_EXEMPT_TAG_KEY, DEFAULT_GROUP_NAME, DEFAULT_POLICY_NAME
from core.org.spoke import SPOKE_ROLES, SPOKE_RULES, STACKSET_EXECUTION_ROLES

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
    stack_name: str, exemption_roles: Iterable[str] = (), hub_account: str | None = None
) -> list[str]:
    """Who the SCP leaves alone, as ``aws:PrincipalArn`` patterns: the spoke's enforce role and the
    StackSet execution roles in any account (names nobody in a member can take), the hub stack's roles
    (in ``hub_account``; any account without it), and the ``exemption_roles`` ARNs as given."""
    roles = [f"arn:aws:iam::*:role/{r}" for r in (ENFORCE_ROLE, *STACKSET_EXECUTION_ROLES)]
    hub = f"arn:aws:iam::{hub_account or '*'}:role{role_path(stack_name)}*"
    return [*roles, *exemption_roles, hub]


def render_scp(
    stack_name: str,
    *,
    group_name: str = DEFAULT_GROUP_NAME,
    policy_name: str = DEFAULT_POLICY_NAME,
    exempt_tag_key: str = DEFAULT_EXEMPT_TAG_KEY,
    exemption_roles: Iterable[str] = (),
    hub_account: str | None = None,
) -> dict[str, Any]:
    """The SCP document; ``PolicyTooLargeError`` (one line) when its minified JSON exceeds 5,120."""
    exempt = exempt_principals(stack_name, exemption_roles, hub_account)
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
            deny("ProtectSpokeRoles", SPOKE_ROLE_ACTIONS, [f"arn:aws:iam::*:role/{r}" for r in SPOKE_ROLES]),
            deny(
                "ProtectSpokeRules",
                SPOKE_RULE_ACTIONS,
                [f"arn:aws:events:*:*:rule/{r}" for r in SPOKE_RULES],
            ),
            deny(
                "ProtectGuardrailGroup",
                GROUP_ACTIONS,
                [f"arn:aws:iam::*:group{IAM_PATH}*", f"arn:aws:iam::*:group/{group_name}"],
            ),
            deny(
                "ProtectGuardrailPolicy",
                POLICY_ACTIONS,
                [f"arn:aws:iam::*:policy{IAM_PATH}*", f"arn:aws:iam::*:policy/{policy_name}"],
            ),
            deny(
                "ProtectExemptionTag",
                TAG_ACTIONS,
                ["arn:aws:iam::*:user/*"],
                **{"ForAnyValue:StringEqualsIgnoreCase": {"aws:TagKeys": [exempt_tag_key]}},
            ),
            # Everyone, the exempt included: the exempt names stay IAM Guard's StackSet's alone.
            {
                "Sid": "ProtectStackSetExecutionRoles",
                "Effect": "Deny",
                "Action": list(STACKSET_ROLE_ACTIONS),
                "Resource": [f"arn:aws:iam::*:role/{STACKSET_ROLE}"],
            },
            {
                "Sid": "ProtectStackSetExecutionStacks",
                "Effect": "Deny",
                "Action": list(STACKSET_STACK_ACTIONS),
                "Resource": [f"arn:aws:cloudformation:*:*:stack/{STACKSET_STACK}"],
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
