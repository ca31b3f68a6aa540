"""The names of everything IAM Guard owns, in one place. Pure.

The template gives each resource of a stack an explicit name built here, and the guardrail's
self-protection statement (``core.policy.document``), the enforcer's "is this ours?" test
(``core.enforce.events``) and the EventBridge rule's filters all match those names. Two conventions make the
match exact:

- resources are named ``<stack>_<suffix>``. CloudFormation stack names may contain only letters, digits
  and hyphens, so no other stack's generated name (``<stack>-<LogicalId>-<random>``) can start with
  ``<our stack>_``: the pattern ``<stack>_*`` never matches another stack's resources;
- IAM entities live under a dedicated path: the secured group and the guardrail policy under
  ``/iam-guard/``, the stack's roles under ``/iam-guard/<stack>/``. IAM Guard's roles may write groups and
  policies only there (and the configured names themselves, for moving them back onto the path).
"""

from __future__ import annotations

import re

IAM_PATH = "/iam-guard/"  # the secured group and the guardrail policy
ACCOUNT_ID = re.compile(r"^[0-9]{12}$")  # an AWS account ID (ASCII digits: \d matches any script)
# The root user's name in the credential report (``core.model.credential_report.ROOT``) and wherever IAM
# Guard names the root user as a finding's or an action's subject: here, so that naming it (the enforcer
# does) does not load the credential report's model.
ROOT_USER = "<root_account>"

# AWS partitions (the ARN's second field) and the region prefixes that place a region in one; every
# other region is in ``aws``. The template passes ``AWS::Partition``; the CLI derives it from the region.
PARTITIONS = ("aws", "aws-cn", "aws-us-gov", "aws-iso", "aws-iso-b", "aws-iso-e", "aws-iso-f", "aws-eusc")
_REGION_PARTITIONS = (
    ("cn-", "aws-cn"),
    ("us-gov-", "aws-us-gov"),
    ("us-isob-", "aws-iso-b"),
    ("us-isof-", "aws-iso-f"),
    ("eu-isoe-", "aws-iso-e"),
    ("us-iso-", "aws-iso"),
    ("eusc-", "aws-eusc"),
)


def partition_of_region(region: str | None) -> str:
    """The partition a region belongs to (``us-gov-west-1`` -> ``aws-us-gov``); ``aws`` without one."""
    for prefix, partition in _REGION_PARTITIONS:
        if region and region.startswith(prefix):
            return partition
    return "aws"


# CloudFormation's own rule for stack names, shortened so that every name below fits its service's limit:
# the longest, "<stack>_policy-resource" (a role) and "<stack>_enforcer-events" (a rule), need 16 of the
# 64 characters IAM and EventBridge allow. A longer stack name fails at deploy time (CloudFormation
# refuses the role's name), never at run time.
MAX_STACK_NAME = 48
STACK_NAME = re.compile(rf"^[A-Za-z][A-Za-z0-9-]{{0,{MAX_STACK_NAME - 1}}}$")
SEPARATOR = "_"

# Name suffixes of the stack's resources (template.yaml uses exactly these; a test holds it to them).
FUNCTIONS = ("enforcer", "sweep", "policy-resource", "slack-notifier")
ENFORCER_FUNCTION = "enforcer"
SWEEP_FUNCTION = "sweep"
ENFORCER_RULE = "enforcer-events"
SWEEP_RULE = "sweep-schedule"
ALERT_TOPIC = "alerts"
KEY_ALIAS = "alerts"
TRAIL = "trail"
# S3 names hold neither "_" nor capitals, so the trail's bucket is named by the stack's ID (its UUID):
# iam-guard-trail-<uuid>. The prefix is IAM Guard's, whatever the stack.
TRAIL_BUCKET_PREFIX = "iam-guard-trail-"
# The rules delivering calls on IAM Guard's own resources, one per watched service (core.enforce.watch).
WATCH_RULE_PREFIX = "w-"
DASHBOARD = "iam-guard"  # the CloudWatch dashboard: <stack>_iam-guard
# The queue of alerts Teams or the signed webhook did not take after their retries (core.report.dead_letter).
ALERT_DLQ = "alert-dlq"

# Organizations mode (the hub's resources in template.yaml, condition OrgMode; core.org).
ORG_FUNCTIONS = ("org-enforcer", "org-list-accounts", "org-sweep-account", "org-digest")
ORG_ENFORCER_FUNCTION = "org-enforcer"
ORG_LIST_FUNCTION = "org-list-accounts"
ORG_SWEEP_ACCOUNT_FUNCTION = "org-sweep-account"
ORG_DIGEST_FUNCTION = "org-digest"
ORG_EVENT_BUS = "org-events"
ORG_EVENT_RULE = "org-events-to-queue"
ORG_EVENT_QUEUE = "org-events"
ORG_EVENT_DLQ = "org-events-dlq"
ORG_STATE_MACHINE = "org-sweep"
ORG_STATE_MACHINE_ROLE = "org-sweep-workflow"
ORG_SCHEDULE = "org-sweep-schedule"
ORG_SCHEDULER_ROLE = "org-sweep-scheduler"
ORG_SPOKE_STACKSET = "spoke"
# What the spoke StackSet (org/spoke.yaml) creates in every member, under fixed names (core.org.spoke).
AUDIT_ROLE = "IAMGuardAuditRole"  # the sweep's reads (and Security Hub import) in a member
ENFORCE_ROLE = "IAMGuardEnforceRole"  # the enforcer's and the sweep's scoped writes in a member
FORWARD_ROLE = "IAMGuardForwardRole"  # puts a member's IAM events on the hub's bus
SPOKE_ROLES = (AUDIT_ROLE, ENFORCE_ROLE, FORWARD_ROLE)
FORWARD_RULE = "IAMGuardForward"  # the 12 IAM events, as the single-account rule matches them
SPOKE_CHANGES_RULE = "IAMGuardForwardSpokeChanges"  # changes to the spoke's own roles and rules
FORWARD_HEALTH_RULE = "IAMGuardForwardHealth"  # AWS Health's leaked-key events (core.enforce.risk)
# GuardDuty's findings on an IAM user's key (core.enforce.guardduty; the spoke's GuardDutyFindings=true only)
FORWARD_GUARDDUTY_RULE = "IAMGuardForwardGuardDuty"
SPOKE_RULES = (FORWARD_RULE, SPOKE_CHANGES_RULE, FORWARD_HEALTH_RULE, FORWARD_GUARDDUTY_RULE)
# The role CloudFormation StackSets uses in members (service-managed: stacksets-exec-<hash>).
# Only the service-managed name: a self-managed AWSCloudFormationStackSetExecutionRole is a name any
# member administrator can create (IAM Guard's spoke StackSet is service-managed).
STACKSET_EXECUTION_ROLES = ("stacksets-exec-*",)
# The principal tag the enforcer and the sweep set on every enrolled user (and remove when the user leaves
# the group); the optional IAMGuardDenyUnenrolled SCP lets IAM users without it do nothing but MFA setup.
ENROLLED_TAG_KEY = "iam-guard:enrolled"
ENROLLED_TAG_VALUE = "true"
SPOKE_RULE_PREFIX = "IAMGuardForward"  # every name in SPOKE_RULES starts with it


def spoke_stackset_name(stack: str) -> str:
    """``<stack>-spoke``: the spoke StackSet's name (template.yaml's ``OrgSpokeStackSet``, and the name
    a hand-made StackSet must have to be protected and watched). StackSet ARNs: ``stackset/<name>:<id>``."""
    return f"{stack}-{ORG_SPOKE_STACKSET}"


def resource_name(stack: str, suffix: str) -> str:
    """``<stack>_<suffix>``: the explicit name of one of the stack's resources."""
    return f"{stack}{SEPARATOR}{suffix}"


def owned_prefix(stack: str) -> str:
    """Every named resource of the stack starts with this (and no other stack's resource does)."""
    return f"{stack}{SEPARATOR}"


def role_path(stack: str) -> str:
    return f"{IAM_PATH}{stack}/"


def log_group_prefix(stack: str) -> str:
    return f"/aws/lambda/{stack}/"


def key_alias(stack: str) -> str:
    return f"alias/{resource_name(stack, KEY_ALIAS)}"


def trail_bucket_prefix(stack: str) -> str:
    """``iam-guard-trail-<stack UUID>``: the prefix matches every IAM Guard stack's trail bucket."""
    return TRAIL_BUCKET_PREFIX


def group_arn(account_id: str, group_name: str, partition: str = "aws") -> str:
    return f"arn:{partition}:iam::{account_id}:group{IAM_PATH}{group_name}"


def policy_arn(account_id: str, policy_name: str, partition: str = "aws") -> str:
    return f"arn:{partition}:iam::{account_id}:policy{IAM_PATH}{policy_name}"


def legacy_policy_arn(account_id: str, policy_name: str, partition: str = "aws") -> str:
    """Where version 0.1 created the policy (path ``/``); upgrades move it onto ``IAM_PATH``."""
    return f"arn:{partition}:iam::{account_id}:policy/{policy_name}"


def same_iam_name(a: str, b: str) -> bool:
    """IAM user, group, role and policy names are unique without regard to case: compare them so."""
    return a.casefold() == b.casefold()


def name_of_arn(arn: str) -> str:
    """The last path segment of an IAM ARN (``...:group/iam-guard/X`` -> ``X``); a bare name stays."""
    return arn.rsplit("/", 1)[-1] if "/" in arn else arn.rsplit(":", 1)[-1]


# A leaked access key (core.enforce.leak; the sweep's access-key-exposed finding).
EXPOSED_KEYS_TAG = "iam-guard:exposed-keys"  # the user's leaked key IDs, space-separated
_AWS_QUARANTINE = re.compile(r"^arn:aws[a-z-]*:iam::aws:policy/AWSCompromisedKeyQuarantine(V\d+)?$")


def is_aws_quarantine_policy(arn: str) -> bool:
    """AWS's ``AWSCompromisedKeyQuarantine`` managed policy, any version (V2, V3, V4 ...)."""
    return bool(_AWS_QUARANTINE.match(arn))
