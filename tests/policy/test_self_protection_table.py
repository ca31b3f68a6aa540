"""Self-protection (issue 10, section 2), proved by the IAM engine over every resource type IAM Guard owns.

With a stack name the guardrail denies guarded users everything but reads on the stack's resources, the
secured group, the guardrail policy and the alert topic's KMS key, AdministratorAccess notwithstanding, and
through an AWS service too (no aws:ViaAWSService exception). Other resources, including those of stacks
whose names start or end with ours, stay untouched. Every row is evaluated by the engine on the rendered
policy and by the oracle in spec.py; the resources are labelled "ours" here from their names, which
``core.model.naming`` and CloudFormation give them, not from the policy's patterns.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace

import pytest

from .engine import ACCOUNT, ALLOWED, EXPLICIT_DENY, IMPLICIT_DENY
from .spec import Call, Setting, decide, disagreements, expected, report, rows, wrong

pytestmark = pytest.mark.engine

STACK = "iam-guard"
LONG_STACK = "Guard-Prod-" + "x" * 24 + "-Acme"  # 40 characters, mixed case (the bucket name is lower case)
assert len(LONG_STACK) == 40

SETTINGS = {
    "stack": Setting(stack=STACK),
    "long stack": Setting(stack=LONG_STACK, group="Secured-Engineers", policy="Engineers-Guardrail"),
    "console stack": Setting(mode="console", stack=STACK, max_mfa_age_hours=12),
    "no stack": Setting(),  # no stack name: no self-protection at all
}

REGION = "us-east-1"


def arn(service: str, resource: str, region: str = REGION, account: str = ACCOUNT) -> str:
    return f"arn:aws:{service}:{region}:{account}:{resource}"


@dataclass(frozen=True)
class Kind:
    """One type of resource a stack owns: its ARN for a stack, and calls that change or only read it."""

    name: str
    arn_of: Callable[[str], str]  # stack name -> the ARN of that stack's resource of this kind
    writes: tuple[str, ...]
    reads: tuple[str, ...]


# Names: <stack>_<suffix> (core.model.naming), CloudFormation's for the bucket and the stack, IAM paths for
# roles.
KINDS = [
    Kind(
        "lambda function",
        lambda s: arn("lambda", f"function:{s}_enforcer"),
        (
            "lambda:UpdateFunctionConfiguration",
            "lambda:UpdateFunctionCode",
            "lambda:PutFunctionConcurrency",
            "lambda:InvokeFunction",
            "lambda:AddPermission",
        ),
        ("lambda:GetFunction", "lambda:GetFunctionConfiguration"),
    ),
    Kind(
        "lambda function version",
        lambda s: arn("lambda", f"function:{s}_enforcer:7"),
        ("lambda:InvokeFunction",),
        ("lambda:GetFunction",),
    ),
    Kind(
        "lambda layer",
        lambda s: arn("lambda", f"layer:{s}_dependencies"),
        ("lambda:PublishLayerVersion",),
        (),
    ),
    Kind(
        "lambda layer version",
        lambda s: arn("lambda", f"layer:{s}_dependencies:3"),
        ("lambda:DeleteLayerVersion", "lambda:AddLayerVersionPermission"),
        ("lambda:GetLayerVersion",),
    ),
    Kind(
        "dynamodb table",
        lambda s: arn("dynamodb", f"table/{s}_notifications"),
        (
            "dynamodb:DeleteTable",
            "dynamodb:UpdateTable",
            "dynamodb:UpdateTimeToLive",
            "dynamodb:PutItem",  # a forged "already sent" stage silences an owner's warning
            "dynamodb:DeleteItem",
            "dynamodb:GetItem",  # not a read guarded users keep: the items hold owners' addresses
        ),
        ("dynamodb:DescribeTable", "dynamodb:DescribeTimeToLive"),
    ),
    Kind(
        "dynamodb table backup",
        lambda s: arn("dynamodb", f"table/{s}_notifications/backup/01700000000000-abcdef12"),
        ("dynamodb:DeleteBackup", "dynamodb:RestoreTableFromBackup"),
        ("dynamodb:DescribeBackup",),
    ),
    Kind(
        "eventbridge rule",
        lambda s: arn("events", f"rule/{s}_enforcer-events"),
        (
            "events:DisableRule",
            "events:DeleteRule",
            "events:PutRule",
            "events:PutTargets",
            "events:RemoveTargets",
        ),
        ("events:DescribeRule", "events:ListTargetsByRule"),
    ),
    Kind(
        "eventbridge bus",
        lambda s: arn("events", f"event-bus/{s}_bus"),
        ("events:DeleteEventBus",),
        ("events:DescribeEventBus",),
    ),
    Kind(
        "trail",
        lambda s: arn("cloudtrail", f"trail/{s}_trail"),
        (
            "cloudtrail:StopLogging",
            "cloudtrail:DeleteTrail",
            "cloudtrail:UpdateTrail",
            "cloudtrail:PutEventSelectors",
        ),
        ("cloudtrail:GetTrailStatus", "cloudtrail:GetEventSelectors"),
    ),
    Kind(
        "trail bucket",
        lambda s: trail_bucket(s),
        ("s3:PutBucketPolicy", "s3:DeleteBucket", "s3:PutLifecycleConfiguration"),
        ("s3:GetBucketPolicy", "s3:ListBucket"),
    ),
    Kind(
        "trail log object",
        lambda s: f"{trail_bucket(s)}/AWSLogs/{ACCOUNT}/CloudTrail/x.json.gz",
        ("s3:DeleteObject", "s3:PutObject"),
        ("s3:GetObject",),
    ),
    Kind(
        "sns topic",
        lambda s: arn("sns", f"{s}_alerts"),
        ("sns:Publish", "sns:Subscribe", "sns:SetTopicAttributes", "sns:AddPermission", "sns:DeleteTopic"),
        ("sns:GetTopicAttributes", "sns:ListSubscriptionsByTopic"),
    ),
    Kind(
        # IAM has no subscription resource type: subscription calls are authorized on their topic.
        "sns subscription",
        lambda s: arn("sns", f"{s}_alerts"),
        ("sns:Unsubscribe", "sns:SetSubscriptionAttributes"),
        ("sns:GetSubscriptionAttributes",),
    ),
    Kind(
        "sqs queue",
        lambda s: arn("sqs", f"{s}_enforcer-dlq"),
        # ReceiveMessage is a "Read" in the Service Authorization Reference, but it hides the messages
        # from everyone else for the visibility timeout: not a read here.
        (
            "sqs:PurgeQueue",
            "sqs:ReceiveMessage",
            "sqs:DeleteMessage",
            "sqs:SendMessage",
            "sqs:SetQueueAttributes",
        ),
        ("sqs:GetQueueAttributes", "sqs:ListDeadLetterSourceQueues"),
    ),
    Kind(
        # the alerts Teams or the webhook did not take (core.report.dead_letter): re-sent signed, so
        # nobody guarded may add to it, read it off, empty it, re-point or delete it
        "alert dead-letter queue",
        lambda s: arn("sqs", f"{s}_alert-dlq"),
        (
            "sqs:SendMessage",
            "sqs:ReceiveMessage",
            "sqs:DeleteMessage",
            "sqs:PurgeQueue",
            "sqs:SetQueueAttributes",
            "sqs:DeleteQueue",
            "sqs:AddPermission",
            "sqs:TagQueue",
        ),
        ("sqs:GetQueueAttributes", "sqs:GetQueueUrl", "sqs:ListQueueTags"),
    ),
    Kind(
        "log group",
        lambda s: arn("logs", f"log-group:/aws/lambda/{s}/enforcer"),
        ("logs:DeleteLogGroup", "logs:PutRetentionPolicy", "logs:PutSubscriptionFilter"),
        ("logs:FilterLogEvents", "logs:StartQuery", "logs:DescribeLogStreams"),
    ),
    Kind(
        "log stream",
        lambda s: arn("logs", f"log-group:/aws/lambda/{s}/enforcer:log-stream:2025/01/01/[$LATEST]0a1b"),
        ("logs:DeleteLogStream", "logs:PutLogEvents"),
        ("logs:GetLogEvents",),
    ),
    Kind(
        "alarm",
        lambda s: arn("cloudwatch", f"alarm:{s}_enforcer-errors"),
        (
            "cloudwatch:DisableAlarmActions",
            "cloudwatch:DeleteAlarms",
            "cloudwatch:PutMetricAlarm",
            "cloudwatch:SetAlarmState",
        ),
        ("cloudwatch:DescribeAlarms", "cloudwatch:DescribeAlarmHistory"),
    ),
    Kind(
        "cloudformation stack",
        lambda s: arn("cloudformation", f"stack/{s}/0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9"),
        (
            "cloudformation:UpdateStack",
            "cloudformation:DeleteStack",
            "cloudformation:CreateChangeSet",
            "cloudformation:ExecuteChangeSet",
            "cloudformation:SetStackPolicy",
            "cloudformation:CancelUpdateStack",
        ),
        ("cloudformation:DescribeStacks", "cloudformation:GetTemplate", "cloudformation:DescribeStackEvents"),
    ),
    # The spoke StackSet (org mode) is named <stack>-spoke (template.yaml), in the hub's account or, made by
    # hand, in another one (the management account): protected wherever its ARN says it lives.
    *(
        Kind(
            f"spoke stackset{where}",
            lambda s, account=account: arn(
                "cloudformation", f"stackset/{s}-spoke:5b2b7c40-1f0e-11ef-9a3b-0a1b2c3d4e5f", account=account
            ),
            (
                "cloudformation:UpdateStackSet",
                "cloudformation:UpdateStackInstances",
                "cloudformation:DeleteStackInstances",
                "cloudformation:DeleteStackSet",
                "cloudformation:CreateStackInstances",
                "cloudformation:StopStackSetOperation",
            ),
            (
                "cloudformation:DescribeStackSet",
                "cloudformation:ListStackInstances",
                "cloudformation:DescribeStackSetOperation",
            ),
        )
        for where, account in (("", ACCOUNT), (" in another account", "210987654321"))
    ),
    Kind(
        "iam role",
        lambda s: f"arn:aws:iam::{ACCOUNT}:role/iam-guard/{s}/{s}_enforcer",
        (
            "iam:PassRole",
            "iam:UpdateAssumeRolePolicy",
            "iam:PutRolePolicy",
            "iam:AttachRolePolicy",
            "iam:DeleteRole",
            "iam:UpdateRole",
        ),
        ("iam:GetRole", "iam:GetRolePolicy", "iam:ListAttachedRolePolicies"),
    ),
    Kind(
        "kms alias",
        lambda s: arn("kms", f"alias/{s}_alerts"),
        ("kms:DeleteAlias", "kms:UpdateAlias", "kms:CreateAlias"),
        (),
    ),
    Kind(
        "state machine",
        lambda s: arn("states", f"stateMachine:{s}_sweep"),
        ("states:StartExecution", "states:UpdateStateMachine", "states:DeleteStateMachine"),
        ("states:DescribeStateMachine",),
    ),
    Kind(
        "state machine execution",
        lambda s: arn("states", f"execution:{s}_sweep:run-1"),
        ("states:StopExecution",),
        ("states:DescribeExecution",),
    ),
    Kind(
        # the org sweep's Distributed Map runs (issue 21, item 8): mapRun:<state machine>/<label>:<id>
        "state machine map run",
        lambda s: arn("states", f"mapRun:{s}_org-sweep/accounts:0a1b2c3d-4e5f"),
        ("states:UpdateMapRun",),
        ("states:DescribeMapRun",),
    ),
    Kind(
        "schedule",
        lambda s: arn("scheduler", f"schedule/default/{s}_sweep"),
        ("scheduler:DeleteSchedule", "scheduler:UpdateSchedule"),
        ("scheduler:GetSchedule",),
    ),
]


OUR_STACKS = {STACK, LONG_STACK}


def trail_bucket(stack: str) -> str:
    """An IAM Guard stack's trail bucket is iam-guard-trail-<stack UUID> (template.yaml); another stack's
    trail bucket has CloudFormation's generated name."""
    if stack in OUR_STACKS:
        return "arn:aws:s3:::iam-guard-trail-5b2b7c40-1f0e-11ef-9a3b-0a1b2c3d4e5f"
    return f"arn:aws:s3:::{stack.lower()}-trailbucket-1a2b3c4d5e6f"


def foreign_stacks(stack: str) -> list[str]:
    """Other stacks of the account: names that start with ours, end with ours, or have nothing in common."""
    return [f"{stack}-dev", f"my-{stack}", "payments"]


# Names CloudFormation generates for a stack that names nothing explicitly (<stack>-<LogicalId>-<random>).
def generated(stack: str) -> list[tuple[str, str]]:
    return [
        ("lambda function", arn("lambda", f"function:{stack}-EnforcerFunction-AbCdEf123456")),
        ("sns topic", arn("sns", f"{stack}-AlertTopic-AbCdEf123456")),
        ("sqs queue", arn("sqs", f"{stack}-DeadLetterQueue-AbCdEf123456")),
        ("eventbridge rule", arn("events", f"rule/{stack}-EnforcerRule-AbCdEf123456")),
        ("log group", arn("logs", f"log-group:/aws/lambda/{stack}-EnforcerFunction-AbCdEf123456")),
        ("iam role", f"arn:aws:iam::{ACCOUNT}:role/{stack}-EnforcerRole-AbCdEf123456"),
        ("alarm", arn("cloudwatch", f"alarm:{stack}-EnforcerErrors-AbCdEf123456")),
    ]


KIND_BY_NAME = {kind.name: kind for kind in KINDS}

# How the request arrives: directly, or through an AWS service with the user's credentials (a stack of
# their own, say), even from outside the allowed networks (the network statement's one exception).
ROUTES = [
    ("inside", False, ()),
    ("inside", True, ("cloudformation.amazonaws.com",)),
    ("outside", True, ("cloudformation.amazonaws.com",)),
]


def resource_calls(setting: str, stack: str) -> Iterator[Call]:
    owners = [(stack, True), *((other, False) for other in foreign_stacks(stack))]
    for kind in KINDS:
        for owner, ours in owners:
            whose = "ours" if ours else f"of stack {owner}"
            for action, read in [*((a, False) for a in kind.writes), *((a, True) for a in kind.reads)]:
                for network, via, called_via in ROUTES if ours else (ROUTES[0], ROUTES[2]):
                    yield Call(
                        setting,
                        f"{kind.name} {whose}",
                        action,
                        kind.arn_of(owner),
                        ours=ours,
                        read=read,
                        network=network,
                        via=via,
                        called_via=called_via,
                    )
    for other in ("payments", f"{stack}-dev"):
        for kind_name, resource in generated(other):
            kind = KIND_BY_NAME[kind_name]
            for action in (*kind.writes, *kind.reads):
                yield Call(setting, f"{kind_name} generated for stack {other}", action, resource)


# The alert topic's KMS key: its ARN names no stack; kms:ResourceAliases lists the key's aliases.
KEY_ARN = arn("kms", "key/1234abcd-12ab-34cd-56ef-1234567890ab")
KEY_WRITES = (
    "kms:DisableKey",
    "kms:ScheduleKeyDeletion",
    "kms:PutKeyPolicy",
    "kms:CreateGrant",
    "kms:CreateAlias",  # another alias for our key
    "kms:Decrypt",
    "kms:Encrypt",
    "kms:GenerateDataKey",
)
KEY_READS = ("kms:DescribeKey", "kms:GetKeyPolicy", "kms:GetKeyRotationStatus", "kms:ListResourceTags")


def key_calls(setting: str, stack: str) -> Iterator[Call]:
    alias_sets: list[tuple[tuple[str, ...] | None, bool]] = [
        ((f"alias/{stack}_alerts",), True),
        (("alias/team-key", f"alias/{stack}_alerts"), True),
        ((f"alias/{stack}-dev_alerts",), False),
        ((f"alias/my-{stack}_alerts",), False),
        (("alias/payments-key",), False),
        (None, False),  # a key without any alias
    ]
    for aliases, ours in alias_sets:
        for action, read in [*((a, False) for a in KEY_WRITES), *((a, True) for a in KEY_READS)]:
            for network, via, called_via in ROUTES:
                yield Call(
                    setting,
                    "kms key " + ("ours" if ours else "not ours"),
                    action,
                    KEY_ARN,
                    ours=ours,
                    read=read,
                    network=network,
                    via=via,
                    called_via=called_via,
                    aliases=aliases,
                    key_policy=True,
                )


GROUP_WRITES = (
    "iam:AddUserToGroup",
    "iam:RemoveUserFromGroup",
    "iam:AttachGroupPolicy",
    "iam:DetachGroupPolicy",
    "iam:PutGroupPolicy",
    "iam:DeleteGroupPolicy",
    "iam:UpdateGroup",  # rename (or move off the path)
    "iam:DeleteGroup",
    "iam:CreateGroup",
)
GROUP_READS = ("iam:GetGroup", "iam:ListAttachedGroupPolicies")
POLICY_WRITES = (
    "iam:CreatePolicyVersion",
    "iam:SetDefaultPolicyVersion",
    "iam:DeletePolicyVersion",
    "iam:DeletePolicy",
    "iam:TagPolicy",
    "iam:CreatePolicy",
)
POLICY_READS = (
    "iam:GetPolicy",
    "iam:GetPolicyVersion",
    "iam:ListPolicyVersions",
    "iam:ListEntitiesForPolicy",
)


def iam_arn(resource: str) -> str:
    return f"arn:aws:iam::{ACCOUNT}:{resource}"


def guardrail_calls(setting_name: str, setting: Setting) -> Iterator[Call]:
    group = setting.group or "IAMGuardSecuredUsers"
    policy = setting.policy or "IAMGuardSecureIAMPolicy"
    groups = [
        (f"group/iam-guard/{group}", True),  # where IAM Guard keeps it
        ("group/iam-guard/OtherDeploymentGroup", True),  # the whole IAM Guard path
        (f"group/{group}", True),  # where version 0.1 created it
        ("group/Developers", False),
        (f"group/{group}-Admins", False),  # a name that starts with ours
        ("group/teams/Developers", False),
    ]
    policies = [
        (f"policy/iam-guard/{policy}", True),
        ("policy/iam-guard/OtherDeploymentPolicy", True),
        (f"policy/{policy}", True),
        ("policy/DeveloperAccess", False),
        (f"policy/{policy}2", False),
        ("policy/teams/DeveloperAccess", False),
    ]
    if setting.group is not None:  # renamed: the default name at the root is someone else's group now
        groups.append(("group/IAMGuardSecuredUsers", False))
        policies.append(("policy/IAMGuardSecureIAMPolicy", False))
    for resources, writes, reads in (
        (groups, GROUP_WRITES, GROUP_READS),
        (policies, POLICY_WRITES, POLICY_READS),
    ):
        for resource, ours in resources:
            for action, read in [*((a, False) for a in writes), *((a, True) for a in reads)]:
                for network, via, called_via in ROUTES[:2]:
                    yield Call(
                        setting_name,
                        f"{resource.split('/')[0]} " + ("ours" if ours else "not ours"),
                        action,
                        iam_arn(resource),
                        ours=ours,
                        read=read,
                        network=network,
                        via=via,
                        called_via=called_via,
                    )


FULL = {"stack", "long stack"}  # every row; the other settings only need our resources, called directly


def calls() -> list[Call]:
    rows: list[Call] = []
    for name, setting in SETTINGS.items():
        stack = setting.stack or STACK  # without a stack name, the resources of a stack named like ours
        for call in (*resource_calls(name, stack), *key_calls(name, stack), *guardrail_calls(name, setting)):
            if name in FULL or (call.ours and not call.via):
                rows.append(call)
    # The guardrail alone (no AdministratorAccess): it grants no reads, and still denies the writes.
    rows += [replace(row, admin=False) for row in rows if row.setting == "stack" and not row.via]
    return rows


@pytest.fixture(scope="module")
def table() -> list[tuple[Call, str]]:
    return decide(SETTINGS, calls())


# --- the proofs -----------------------------------------------------------------------------------------


def test_engine_agrees_with_the_specification_on_every_row(table: list[tuple[Call, str]]) -> None:
    assert len(table) > 3500  # the whole matrix, not a sample
    problems = disagreements(SETTINGS, table)
    assert not problems, report(problems)


@pytest.mark.parametrize("kind", [kind.name for kind in KINDS] + ["kms key"])
def test_each_resource_type_of_ours_denies_a_write_and_allows_a_read(
    table: list[tuple[Call, str]], kind: str
) -> None:
    """Even with AdministratorAccess, from inside, through an AWS service or from outside through one."""
    ours = rows(table, lambda c: c.setting != "no stack" and c.ours and c.admin and c.what == f"{kind} ours")
    writes = [(c, got) for c, got in ours if not c.read]
    assert writes, f"{kind}: no write in the table"
    assert not wrong(writes, EXPLICIT_DENY), report(wrong(writes, EXPLICIT_DENY))
    reads = [(c, got) for c, got in ours if c.read and c.network == "inside"]
    if kind not in {"lambda layer", "kms alias"}:  # no read action takes these resource types
        assert reads, f"{kind}: no read in the table"
    assert not wrong(reads, ALLOWED), report(wrong(reads, ALLOWED))


def test_foreign_resources_of_every_type_are_untouched(table: list[tuple[Call, str]]) -> None:
    """Other stacks' resources (names starting or ending with ours, generated names) and other keys."""
    foreign = rows(table, lambda c: not c.ours and c.admin and c.network == "inside")
    assert {c.what.split(" of stack")[0].split(" generated")[0] for c, _ in foreign} >= {
        kind.name for kind in KINDS
    }
    problems = wrong(foreign, ALLOWED)
    assert not problems, report(problems)


def test_the_aws_service_exception_of_the_network_statement_does_not_reach_our_resources(
    table: list[tuple[Call, str]],
) -> None:
    """A guarded user's own CloudFormation stack (aws:ViaAWSService, aws:CalledVia) changes nothing."""
    through_a_service = rows(table, lambda c: c.via and c.ours and not c.read and c.setting != "no stack")
    assert {c.network for c, _ in through_a_service} == {"inside", "outside"}
    problems = wrong(through_a_service, EXPLICIT_DENY)
    assert not problems, report(problems)
    # ...while the exception itself still works for everything else (the network statement is unchanged)
    foreign_outside = rows(table, lambda c: c.via and c.network == "outside" and not c.ours)
    assert not wrong(foreign_outside, ALLOWED)


GUARDRAIL_CHANGES = {
    "iam:AddUserToGroup",
    "iam:RemoveUserFromGroup",
    "iam:AttachGroupPolicy",
    "iam:DetachGroupPolicy",
    "iam:UpdateGroup",
    "iam:DeleteGroup",
    "iam:CreatePolicyVersion",
    "iam:SetDefaultPolicyVersion",
    "iam:DeletePolicyVersion",
    "iam:DeletePolicy",
}


@pytest.mark.parametrize("setting", ["stack", "long stack", "console stack"])
def test_the_group_and_the_policy_cannot_be_changed_by_a_guarded_admin(
    table: list[tuple[Call, str]], setting: str
) -> None:
    """Membership, attachments, rename, delete; versions, default version, delete; wherever they live."""
    ours = rows(table, lambda c: c.setting == setting and c.admin and c.what in {"group ours", "policy ours"})
    changes = [(c, got) for c, got in ours if c.action in GUARDRAIL_CHANGES]
    assert {c.action for c, _ in changes} == GUARDRAIL_CHANGES
    assert not wrong(changes, EXPLICIT_DENY), report(wrong(changes, EXPLICIT_DENY))
    assert not wrong([(c, got) for c, got in ours if c.read], ALLOWED)
    resources = {c.resource.split(":", 5)[5] for c, _ in changes}
    assert len(resources) >= 6  # on the IAM Guard path, any name there, and the root-path configured names


def test_our_roles_cannot_be_passed_or_edited(table: list[tuple[Call, str]]) -> None:
    pass_ours = rows(table, lambda c: c.action == "iam:PassRole" and c.ours and c.setting != "no stack")
    assert not wrong(pass_ours, EXPLICIT_DENY)
    pass_foreign = rows(table, lambda c: c.action == "iam:PassRole" and not c.ours and c.admin and not c.via)
    assert not wrong(pass_foreign, ALLOWED)


def test_without_a_stack_name_nothing_of_ours_is_protected(table: list[tuple[Call, str]]) -> None:
    """The self-protection statements are rendered from the stack name only."""
    unprotected = rows(
        table, lambda c: c.setting == "no stack" and c.ours and c.admin and c.network == "inside"
    )
    assert not wrong(unprotected, ALLOWED), report(wrong(unprotected, ALLOWED))


def test_the_guardrail_alone_grants_no_reads_and_still_denies_writes(table: list[tuple[Call, str]]) -> None:
    alone = rows(table, lambda c: not c.admin)
    assert not wrong([(c, g) for c, g in alone if c.ours and not c.read], EXPLICIT_DENY)
    assert not wrong([(c, g) for c, g in alone if c.read or not c.ours], IMPLICIT_DENY)


def test_the_oracle_is_not_vacuous() -> None:
    """The specification itself denies our writes and allows foreign ones: the comparison can fail."""
    write = Call("stack", "lambda function ours", "lambda:InvokeFunction", KINDS[0].arn_of(STACK), ours=True)
    assert expected(write, SETTINGS["stack"]) == EXPLICIT_DENY
    assert expected(replace(write, ours=False), SETTINGS["stack"]) == ALLOWED
    assert expected(write, SETTINGS["no stack"]) == ALLOWED
