"""The guardrail policy: rendered from settings, compared semantically with a live document. Pure.

This module is the only place the policy exists. The Lambda functions, the CloudFormation custom
resource, the CLI and the tests all call ``render_policy``.

Statements (see the policy documentation for each one and why):

1. ``DenyAllOutsideAllowedNetworks`` - deny everything unless the request comes from an allowed CIDR or
   an allowed VPC endpoint, or an AWS service calls on the user's behalf.
2. ``DenyAllExceptSelfServiceWithoutMFA`` - without MFA, deny everything except the self-service actions
   needed to sign in the first time, change the password and set up MFA, and ``sts:GetSessionToken`` so
   CLI users can get an MFA session (needed in strict mode; harmless in console mode, where access keys
   are not gated and STS refuses GetSessionToken to session credentials).
3. ``DenySelfServiceOnOtherUsersWithoutMFA`` - without MFA, those self-service actions are denied on any
   user but yourself, even for users whose other policies grant more (AdministratorAccess).
4. ``DenyMFARegistrationWithAccessKeys`` (strict mode) - registering an MFA device needs a session: a
   request signed with a long-term key (no ``aws:MultiFactorAuthPresent`` at all) cannot add a device, so
   a leaked key cannot mint its own MFA. The console's first sign-in (the key present, ``false``) can.
5. ``DenyAllExceptSelfServiceWithOldMFA`` / ``DenySelfServiceOnOtherUsersWithOldMFA``
   (``max_mfa_age_hours``) - MFA older than H hours counts as none: statements 2 and 3 again.
6. ``DenyIAMGuardTags`` - nobody in the group sets, removes or creates a user with any tag key IAM Guard
   decides by or writes (``Settings.guard_tag_keys``: the exemption and owner keys, ``iam-guard:enrolled``
   and ``iam-guard:exposed-keys``), in any letter case: they are set from outside the group (IAM Guard's
   own roles are not in it). IAM has no case-insensitive wildcard, so every key is named.
7. ``DenyChangesToIAMGuard`` (``stack_name``) - every action but reads on the stack's own resources (by
   the names ``core.model.naming`` gives them), the guardrail group and policy; and
   ``DenyChangesToIAMGuardKey`` - the same for the alert topic's KMS key, found by its alias;
   ``DenyHidingAlerts`` - no metric in IAM Guard's namespace, no Security Hub finding update or import, no
   automation-rule write (the keys cannot tell IAM Guard's findings from others'); and
   ``DenyChangesToProtectedSecrets`` (``protected_secret_arns``) - all but metadata reads on the secrets
   the alert channels depend on (the Slack webhook's and any ``--protect-secret``).
8. ``AllowListingForMFASetup`` / ``AllowCreatingVirtualMFADevices`` / ``AllowManagingOwnMFAAndPassword`` /
   ``AllowDeactivatingOwnMFAWithMFA`` - grant exactly the self-service the console and CLI flows need, on
   the caller's own user whatever its IAM path.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from core.model import metric_names, naming
from core.model.errors import PolicyTooLargeError
from core.model.policy_text import policy_size
from core.model.settings import Settings

POLICY_VERSION = "2012-10-17"
MAX_POLICY_CHARS = 6144  # IAM's managed-policy limit, whitespace excluded
# The caller's own user, at the root path or under any IAM path (/engineering/bob). User names are unique
# in an account whatever their path, and contain no "/": the second pattern names nobody else.
# Rendered in the settings' partition (``own_user_arns``); these are the ``aws`` partition's.
OWN_USER_ARNS = ("arn:aws:iam::*:user/${aws:username}", "arn:aws:iam::*:user/*/${aws:username}")
ANY_MFA_DEVICE_ARN = "arn:aws:iam::*:mfa/*"


def own_user_arns(partition: str = "aws") -> list[str]:
    """The caller's own user in ``partition`` (aws, aws-cn, aws-us-gov...), at the root or any path."""
    return [arn.replace("arn:aws:", f"arn:{partition}:", 1) for arn in OWN_USER_ARNS]


def any_mfa_device_arn(partition: str = "aws") -> str:
    return ANY_MFA_DEVICE_ARN.replace("arn:aws:", f"arn:{partition}:", 1)


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
# Registering an MFA device: denied to long-term keys in strict mode.
MFA_REGISTRATION = ("iam:CreateVirtualMFADevice", "iam:EnableMFADevice", "iam:ResyncMFADevice")
# Where the exemption tag may be set, removed or given at creation (aws:TagKeys: the keys in the request).
EXEMPTION_TAGGING = ("iam:CreateUser", "iam:TagUser", "iam:UntagUser")

# What guarded users may still do on IAM Guard's own resources: read them (Describe/Get/List, and the log
# queries). Everything else is denied: writes, deletes, tagging, and also lambda:InvokeFunction,
# sns:Publish, sqs:ReceiveMessage, iam:PassRole, kms:Decrypt...
_READS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("cloudformation", ("Describe*", "Get*", "List*")),
    ("cloudtrail", ("Describe*", "Get*", "List*")),
    ("cloudwatch", ("Describe*", "Get*", "List*")),
    ("dynamodb", ("Describe*",)),  # the table's settings; its items (owners' addresses) are not read
    ("events", ("Describe*", "List*")),
    ("iam", ("Get*", "List*")),
    ("kms", ("Describe*", "Get*", "List*")),
    ("lambda", ("Get*", "List*")),
    ("logs", ("Describe*", "FilterLogEvents", "Get*", "List*", "StartQuery", "StopQuery")),
    ("s3", ("Get*", "List*")),
    ("scheduler", ("Get*", "List*")),
    ("sns", ("Get*", "List*")),
    ("sqs", ("Get*", "List*")),
    ("states", ("Describe*", "Get*", "List*")),
)
READ_ACTIONS = tuple(f"{service}:{verb}" for service, verbs in _READS for verb in verbs)
KMS_READ_ACTIONS = tuple(action for action in READ_ACTIONS if action.startswith("kms:"))


def own_resource_arns(settings: Settings) -> tuple[str, ...]:
    """ARN patterns of everything IAM Guard owns (partition, region and account wildcarded).

    Stack resources are named ``<stack>_<suffix>``: stack names hold no "_", so no other stack's resource
    (``<other stack>-<LogicalId>-<random>``, even when the other stack's name starts or ends with ours)
    matches. IAM allows no wildcard in an ARN's resource type (``function:``, ``rule/``...): one pattern
    per type. The trail bucket's name is CloudFormation's (``<stack lower>-trailbucket-<random>``), the
    stack itself is ``stack/<stack>/<id>``, the spoke StackSet ``stackset/<stack>-spoke:<id>``, log
    groups ``/aws/lambda/<stack>/...`` and roles ``/iam-guard/<stack>/...``. The group and the policy:
    IAM Guard's whole path, and the configured names at the root path, where version 0.1 created them.
    """
    if settings.stack_name is None:
        return ()
    stack = settings.stack_name
    own = naming.owned_prefix(stack)
    return (
        f"arn:*:cloudformation:*:*:stack/{stack}/*",
        # the spoke StackSet (org mode), in any account: stackset/<name>:<id>
        f"arn:*:cloudformation:*:*:stackset/{naming.spoke_stackset_name(stack)}:*",
        f"arn:*:cloudtrail:*:*:trail/{own}*",
        f"arn:*:cloudwatch:*:*:alarm:{own}*",
        f"arn:*:dynamodb:*:*:table/{own}*",  # the notifications table, its streams and backups
        f"arn:*:events:*:*:event-bus/{own}*",
        f"arn:*:events:*:*:rule/{own}*",
        f"arn:*:iam::*:group/{settings.group_name}",
        f"arn:*:iam::*:group{naming.IAM_PATH}*",
        f"arn:*:iam::*:policy/{settings.policy_name}",
        f"arn:*:iam::*:policy{naming.IAM_PATH}*",
        f"arn:*:iam::*:role{naming.role_path(stack)}*",
        f"arn:*:kms:*:*:alias/{own}*",
        f"arn:*:lambda:*:*:function:{own}*",  # and its versions and aliases (function:<name>:<qualifier>)
        f"arn:*:lambda:*:*:layer:{own}*",
        f"arn:*:logs:*:*:log-group:{naming.log_group_prefix(stack)}*",  # and their streams
        f"arn:*:s3:::{naming.trail_bucket_prefix(stack)}*",  # the bucket and its objects
        f"arn:*:scheduler:*:*:schedule/*/{own}*",  # schedule/<group>/<name>
        f"arn:*:sns:*:*:{own}*",  # the topic and its subscriptions (<topic>:<id>)
        f"arn:*:sqs:*:*:{own}*",
        f"arn:*:states:*:*:execution:{own}*",
        f"arn:*:states:*:*:mapRun:{own}*",  # the org sweep's map runs: mapRun:<state machine>/<label>:<id>
        f"arn:*:states:*:*:stateMachine:{own}*",
    )


def render_policy(settings: Settings) -> dict[str, Any]:
    """Return the guardrail policy document for these settings; refuse one IAM would reject for size."""
    strict = settings.mfa_mode == "strict"
    without_mfa = {"BoolIfExists" if strict else "Bool": {"aws:MultiFactorAuthPresent": "false"}}
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
            "NotResource": own_user_arns(settings.partition),
            "Condition": without_mfa,
        },
    ]
    if strict:
        # Null "true": the key is absent, as in every request signed with a long-term access key. A
        # console session without MFA carries it ("false") and may register the user's first device.
        statements.append(
            {
                "Sid": "DenyMFARegistrationWithAccessKeys",
                "Effect": "Deny",
                "Action": list(MFA_REGISTRATION),
                "Resource": "*",
                "Condition": {"Null": {"aws:MultiFactorAuthPresent": "true"}},
            }
        )
    if settings.max_mfa_age_hours is not None:
        # MFA older than that counts as none: the two statements above, for a session whose MFA is old.
        # Absent without MFA (those statements decide such requests); seconds since the MFA sign-in.
        too_old = {"NumericGreaterThan": {"aws:MultiFactorAuthAge": str(settings.max_mfa_age_hours * 3600)}}
        statements += [
            {
                "Sid": "DenyAllExceptSelfServiceWithOldMFA",
                "Effect": "Deny",
                "NotAction": list(SELF_SERVICE_ACTIONS),
                "Resource": "*",
                "Condition": too_old,
            },
            {
                "Sid": "DenySelfServiceOnOtherUsersWithOldMFA",
                "Effect": "Deny",
                "Action": list(OWN_USER_SELF_SERVICE),
                "NotResource": own_user_arns(settings.partition),
                "Condition": too_old,
            },
        ]
    statements.append(
        {
            "Sid": "DenyIAMGuardTags",
            "Effect": "Deny",
            "Action": list(EXEMPTION_TAGGING),
            "Resource": "*",
            # Any of the request's tag keys equal to one of ours, ignoring case; no tags never matches.
            "Condition": {
                "ForAnyValue:StringEqualsIgnoreCase": {"aws:TagKeys": list(settings.guard_tag_keys)}
            },
        }
    )
    statements += _self_protection_statements(settings)
    statements += _secret_protection_statements(settings)
    if settings.protect_spoke:
        statements.append(_spoke_protection_statement(settings))
    statements += [
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
            "Resource": any_mfa_device_arn(settings.partition),
        },
        {
            "Sid": "AllowManagingOwnMFAAndPassword",
            "Effect": "Allow",
            "Action": list(OWN_USER_SELF_SERVICE),
            "Resource": own_user_arns(settings.partition),
        },
        {
            "Sid": "AllowDeactivatingOwnMFAWithMFA",
            "Effect": "Allow",
            "Action": "iam:DeactivateMFADevice",
            "Resource": own_user_arns(settings.partition),
            "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}},
        },
    ]
    document = {"Version": POLICY_VERSION, "Statement": statements}
    _check_size(document, settings)
    return document


# Reads of the spoke's resources stay allowed; every other call on them is denied to guarded users.
SPOKE_READ_ACTIONS = ("events:Describe*", "events:List*", "iam:Get*", "iam:List*")


def _spoke_protection_statement(settings: Settings) -> dict[str, Any]:
    """In a member account (org mode): the spoke's roles and rules, the secured group and the policy.

    The spoke is a StackSet instance the hub cannot heal: without the optional protection SCP, this is
    what keeps a guarded member user from switching the member off (the hub alerts on any change too).
    """
    return {
        "Sid": "DenyChangesToIAMGuardSpoke",
        "Effect": "Deny",
        "NotAction": list(SPOKE_READ_ACTIONS),
        "Resource": [
            *(f"arn:*:iam::*:role/{role}" for role in naming.SPOKE_ROLES),
            f"arn:*:events:*:*:rule/{naming.SPOKE_RULE_PREFIX}*",
            f"arn:*:iam::*:group/{settings.group_name}",
            f"arn:*:iam::*:group{naming.IAM_PATH}*",
            f"arn:*:iam::*:policy/{settings.policy_name}",
            f"arn:*:iam::*:policy{naming.IAM_PATH}*",
        ],
    }


# What guarded users may still do with a protected secret: read its metadata, never its value.
SECRET_METADATA_READS = (
    "secretsmanager:DescribeSecret",
    "secretsmanager:GetResourcePolicy",
    "secretsmanager:ListSecretVersionIds",
)


def secret_resource_arns(secret_arn: str) -> tuple[str, str]:
    """A secret named by its ARN: that ARN, and the ARN with Secrets Manager's 6-character suffix (the
    full ARN, ``<partial>-AbCdEf``, is what IAM authorizes when the ARN given is the partial one)."""
    return (secret_arn, f"{secret_arn}-??????")


def _secret_protection_statements(settings: Settings) -> list[dict[str, Any]]:
    """The secrets IAM Guard's alert channels depend on: no value read, no new value, no resource policy,
    no deletion, no rotation by a guarded user (``settings.protected_secret_arns``)."""
    arns = settings.protected_secret_arns
    if not arns:
        return []
    return [
        {
            "Sid": "DenyChangesToProtectedSecrets",
            "Effect": "Deny",
            "NotAction": list(SECRET_METADATA_READS),
            "Resource": [resource for arn in arns for resource in secret_resource_arns(arn)],
        }
    ]


def _network_statement(settings: Settings) -> dict[str, Any]:
    # Several operators in one Condition are ANDed: deny only when the request is from no allowed CIDR,
    # AND through no allowed VPC endpoint, AND not made by an AWS service on the user's behalf.
    # BoolIfExists: if aws:ViaAWSService were ever absent, fail closed (the seed's Bool would not deny).
    # The aws:ViaAWSService exception is this statement's only: every other Deny applies to requests an
    # AWS service makes for the user too (a guarded user's own CloudFormation stack cannot tamper).
    condition: dict[str, Any] = {"BoolIfExists": {"aws:ViaAWSService": "false"}}
    if settings.allowed_cidrs:
        condition["NotIpAddress"] = {"aws:SourceIp": list(settings.allowed_cidrs)}
    # Through a VPC endpoint: an allowed endpoint ID, any endpoint of the allowed organisation or
    # accounts, or any endpoint in an allowed VPC. Keys in one operator are ANDed (deny only if none
    # matches); IfExists: a request without the key (no endpoint, or a service that does not populate
    # aws:VpceOrgID / aws:VpceAccount / aws:SourceVpc) is judged by the other keys, as without these
    # settings - never more open.
    through_endpoint: dict[str, list[str]] = {}
    if settings.allowed_vpce_ids:
        through_endpoint["aws:SourceVpce"] = list(settings.allowed_vpce_ids)
    if settings.allowed_vpce_org:
        through_endpoint["aws:VpceOrgID"] = [settings.allowed_vpce_org]
    if settings.allowed_vpce_accounts:
        through_endpoint["aws:VpceAccount"] = list(settings.allowed_vpce_accounts)
    if settings.allowed_vpcs:  # aws:SourceVpc: only requests through an endpoint carry it
        through_endpoint["aws:SourceVpc"] = list(settings.allowed_vpcs)
    if through_endpoint:
        condition["StringNotEqualsIfExists"] = through_endpoint
    return {
        "Sid": "DenyAllOutsideAllowedNetworks",
        "Effect": "Deny",
        "Action": "*",
        "Resource": "*",
        "Condition": condition,
    }


def _self_protection_statements(settings: Settings) -> list[dict[str, Any]]:
    """Guarded users may read IAM Guard's resources and do nothing else with them (needs the stack name)."""
    if settings.stack_name is None:
        return []
    return [
        {
            "Sid": "DenyChangesToIAMGuard",
            "Effect": "Deny",
            "NotAction": list(READ_ACTIONS),
            "Resource": list(own_resource_arns(settings)),
        },
        _signals_statement(),
        {
            # A key's ARN holds no name: find the alert topic's key by its alias. Requests on anything but a
            # KMS key carry no kms:ResourceAliases, and ForAnyValue never matches an absent key.
            "Sid": "DenyChangesToIAMGuardKey",
            "Effect": "Deny",
            "NotAction": list(KMS_READ_ACTIONS),
            "Resource": "*",
            "Condition": {
                "ForAnyValue:StringEquals": {"kms:ResourceAliases": naming.key_alias(settings.stack_name)}
            },
        },
    ]


# What keeps IAM Guard's alerts from being hidden: its metrics (the sweep-missing alarm counts
# SweepCompleted in this namespace) and Security Hub's finding writes. Security Hub's condition keys name
# the fields a BatchUpdateFindings request sets, never the findings it updates, and BatchImportFindings and
# the automation-rule actions have none that name IAM Guard's findings: guarded users get none of them.
# "*eAutomationRule*" is every write on automation rules (Create, Update, Delete; V1 and V2), no read
# (Get, List, BatchGet end in "t").
SIGNAL_ACTIONS = ("cloudwatch:PutMetricData", "securityhub:Batch*Findings*", "securityhub:*eAutomationRule*")


def _signals_statement() -> dict[str, Any]:
    """Deny guarded users IAM Guard's metrics and Security Hub's finding writes. IfExists: the namespace
    key exists only on PutMetricData, so every other action listed is denied whatever the request."""
    return {
        "Sid": "DenyHidingAlerts",
        "Effect": "Deny",
        "Action": list(SIGNAL_ACTIONS),
        "Resource": "*",
        "Condition": {"StringEqualsIfExists": {"cloudwatch:namespace": metric_names.NAMESPACE}},
    }


def _check_size(document: dict[str, Any], settings: Settings) -> None:
    size = policy_size(document)
    if size <= MAX_POLICY_CHARS:
        return
    advice: list[str] = []
    if settings.allowed_cidrs:
        fit = _how_many_fit(size, settings.allowed_cidrs)
        advice.append(
            f"{len(settings.allowed_cidrs)} CIDRs given, at most {fit} CIDRs of this length fit "
            "(merge adjacent ranges into larger CIDRs)"
        )
    elif settings.allowed_vpce_ids:
        fit = _how_many_fit(size, settings.allowed_vpce_ids)
        advice.append(f"{len(settings.allowed_vpce_ids)} VPC endpoint IDs given, at most {fit} fit")
    if settings.stack_name is not None:
        advice.append(
            f"or shorten the stack name (each of its {len(settings.stack_name)} characters counts "
            f"{_stack_name_weight(settings)} times)"
        )
    raise PolicyTooLargeError(
        f"the policy would be {size:,} characters, over IAM's limit of {MAX_POLICY_CHARS:,}: "
        + ("; ".join(advice) if advice else "shorten the group, policy or exemption tag names")
    )


def _how_many_fit(size: int, items: tuple[str, ...]) -> int:
    """How many items of the given items' average length the list could hold within the limit."""
    list_chars = sum(len(json.dumps(item)) + 1 for item in items)  # quoted, plus a separating comma
    fixed = size - list_chars
    # fixed is one less than the rest of the document (the last item has no comma): k items take
    # k * (length + 1) - 1 characters, so k fit when k * (length + 1) <= limit - fixed.
    return max(int((MAX_POLICY_CHARS - fixed) // (list_chars / len(items))), 0)


def _stack_name_weight(settings: Settings) -> int:
    """How many characters one more character of the stack name adds to the policy."""
    assert settings.stack_name is not None
    longer = replace(settings, stack_name=f"{settings.stack_name}x")
    return policy_size({"S": _self_protection_statements(longer)}) - policy_size(
        {"S": _self_protection_statements(settings)}
    )


# --- semantic comparison -------------------------------------------------------------------------------
