"""IAM Guard's own infrastructure, as CloudTrail sees it: which API calls on which of its resources the
enforcer is told about, and how bad each one is. Pure data and pure functions.

The template builds one EventBridge rule per service from ``WATCHED`` (a test holds it to this table), so
other teams' Lambda, SNS or KMS activity never reaches the enforcer; ``owned_resource`` then decides again,
in code, from the request parameters (a rule is a filter, not a proof). A resource may be named in every
form a request may name it: a bare name, a full or partial ARN, a qualifier (``name:alias``).

Severity: ``critical`` for a call that can stop enforcement or alerting (disable a rule, throttle or
replace a function, stop the trail, delete or re-key the topic, disable the key, change a role or the
stack), ``high`` for the rest.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple

from core.model.naming import log_group_prefix, owned_prefix, spoke_stackset_name


class WatchedService(NamedTuple):
    """A service whose IAM Guard resources the enforcer watches, and how to name them from an event."""

    source: str  # EventBridge source, e.g. "aws.lambda"
    event_source: str  # CloudTrail eventSource, e.g. "lambda.amazonaws.com"
    kind: str  # how names are read from the request: see ``resource_name``
    parameters: tuple[str, ...]  # requestParameters keys that may name the resource
    critical: frozenset[str]
    high: frozenset[str] = frozenset()

    @property
    def event_names(self) -> frozenset[str]:
        return self.critical | self.high


WATCHED: tuple[WatchedService, ...] = (
    WatchedService(
        "aws.lambda",
        "lambda.amazonaws.com",
        "function",
        ("functionName", "resource"),
        critical=frozenset(
            {
                "DeleteFunction20150331",
                "UpdateFunctionCode20150331v2",
                "UpdateFunctionConfiguration20150331v2",
                "PutFunctionConcurrency20171031",
                "RemovePermission20150331v2",
                "UpdateAlias20150331",
                "DeleteAlias20150331",
                "CreateFunctionUrlConfig20181031",
            }
        ),
        high=frozenset(
            {
                "AddPermission20150331v2",
                "DeleteFunctionConcurrency20171031",
                "PutFunctionEventInvokeConfig",
                "UpdateFunctionEventInvokeConfig",
                "DeleteFunctionEventInvokeConfig",
                "PublishVersion20150331",
                "CreateAlias20150331",
                "TagResource20170331v2",
                "UntagResource20170331v2",
            }
        ),
    ),
    WatchedService(
        "aws.events",
        "events.amazonaws.com",
        "rule",
        ("name", "rule", "eventBusName", "resourceARN"),
        critical=frozenset(
            {
                "DisableRule",
                "DeleteRule",
                "PutRule",
                "PutTargets",
                "RemoveTargets",
                "DeleteEventBus",
                "RemovePermission",
            }
        ),
        high=frozenset({"PutPermission", "TagResource", "UntagResource"}),
    ),
    WatchedService(
        "aws.cloudtrail",
        "cloudtrail.amazonaws.com",
        "trail",
        ("name", "trailName", "resourceId"),
        critical=frozenset({"StopLogging", "DeleteTrail", "UpdateTrail", "PutEventSelectors"}),
        high=frozenset({"AddTags", "RemoveTags"}),
    ),
    WatchedService(
        "aws.sns",
        "sns.amazonaws.com",
        "topic",
        ("topicArn", "subscriptionArn", "resourceArn"),
        critical=frozenset({"DeleteTopic", "SetTopicAttributes", "Unsubscribe", "SetSubscriptionAttributes"}),
        high=frozenset({"Subscribe", "AddPermission", "RemovePermission", "TagResource", "UntagResource"}),
    ),
    WatchedService(
        "aws.kms",
        "kms.amazonaws.com",
        "key",
        ("keyId", "aliasName"),
        critical=frozenset(
            {"DisableKey", "ScheduleKeyDeletion", "PutKeyPolicy", "DeleteAlias", "UpdateAlias"}
        ),
        high=frozenset({"CreateGrant", "DisableKeyRotation", "TagResource", "UntagResource"}),
    ),
    WatchedService(
        "aws.cloudformation",
        "cloudformation.amazonaws.com",
        "stack",
        # stackSetName: the spoke StackSet (org mode), whose changes reach every member account
        ("stackName", "stackSetName"),
        critical=frozenset(
            {
                "DeleteStack",
                "UpdateStack",
                "ExecuteChangeSet",
                "CancelUpdateStack",
                "UpdateStackSet",
                "DeleteStackSet",
                "UpdateStackInstances",
                "DeleteStackInstances",
            }
        ),
        high=frozenset(
            {
                "CreateChangeSet",
                "SetStackPolicy",
                "UpdateTerminationProtection",
                "CreateStackInstances",
                "StopStackSetOperation",
            }
        ),
    ),
    WatchedService(
        "aws.iam",
        "iam.amazonaws.com",
        "role",
        ("roleName",),
        critical=frozenset(
            {
                "PutRolePolicy",
                "AttachRolePolicy",
                "DetachRolePolicy",
                "DeleteRolePolicy",
                "UpdateAssumeRolePolicy",
                "DeleteRole",
                "PutRolePermissionsBoundary",
                "DeleteRolePermissionsBoundary",
            }
        ),
        high=frozenset({"UpdateRole", "TagRole", "UntagRole"}),
    ),
    WatchedService(
        "aws.cloudwatch",
        "monitoring.amazonaws.com",
        "alarm",
        ("alarmName", "alarmNames"),
        critical=frozenset({"DeleteAlarms", "DisableAlarmActions"}),
        high=frozenset({"PutMetricAlarm", "SetAlarmState"}),
    ),
    WatchedService(
        "aws.logs",
        "logs.amazonaws.com",
        "log-group",
        ("logGroupName",),
        critical=frozenset(),
        high=frozenset({"DeleteLogGroup", "PutRetentionPolicy", "DisassociateKmsKey"}),
    ),
    WatchedService(
        "aws.secretsmanager",
        "secretsmanager.amazonaws.com",
        "secret",
        ("secretId",),
        critical=frozenset(
            {
                "PutSecretValue",  # redirects the alerts
                "UpdateSecret",
                "DeleteSecret",
                "PutResourcePolicy",  # can lock the notifier out
                "DeleteResourcePolicy",
                "RotateSecret",
                "UpdateSecretVersionStage",
            }
        ),
        high=frozenset(
            {
                "GetSecretValue",
                "TagResource",
                "UntagResource",
                "CancelRotateSecret",
                "RestoreSecret",
                "ReplicateSecretToRegions",
                "RemoveRegionsFromReplication",
                "StopReplicationToReplica",
            }
        ),
    ),
    WatchedService(
        "aws.dynamodb",
        "dynamodb.amazonaws.com",
        "table",
        ("tableName", "resourceArn"),
        # the notifications table: deleting or emptying it makes every stage be sent again; its TTL
        # or recovery turned off, a policy that locks the sweep out
        critical=frozenset(
            {"DeleteTable", "UpdateTable", "UpdateTimeToLive", "PutResourcePolicy", "DeleteResourcePolicy"}
        ),
        high=frozenset({"UpdateContinuousBackups", "TagResource", "UntagResource"}),
    ),
    WatchedService(
        "aws.sqs",
        "sqs.amazonaws.com",
        "queue",
        ("queueUrl",),
        critical=frozenset(),
        high=frozenset({"DeleteQueue", "PurgeQueue", "SetQueueAttributes"}),
    ),
)
BY_EVENT_SOURCE: dict[str, WatchedService] = {s.event_source: s for s in WATCHED}
# A request parameter that names another kind of resource than its service's: the kind it names.
KIND_OF_PARAMETER: dict[str, str] = {"stackSetName": "stackset"}


def parameter_kind(service: WatchedService, key: str) -> str:
    return KIND_OF_PARAMETER.get(key, service.kind)


CLOUDFORMATION = "cloudformation.amazonaws.com"


class Ownership(NamedTuple):
    """Who IAM Guard is: its stack's name, its roles' names, its alert key's IDs and ARNs, and the
    secrets its alert channels depend on (``Settings.protected_secret_arns``)."""

    stack_name: str
    role_names: frozenset[str] = frozenset()
    key_ids: frozenset[str] = frozenset()  # key IDs and key ARNs
    secret_arns: frozenset[str] = frozenset()


def watched_service(event_source: str, event_name: str) -> WatchedService | None:
    service = BY_EVENT_SOURCE.get(event_source)
    return service if service is not None and event_name in service.event_names else None


def owned_resource(service: WatchedService, parameters: Mapping[str, object], owner: Ownership) -> str:
    """The first of IAM Guard's resources the request names, or ''."""
    for key in service.parameters:
        kind = parameter_kind(service, key)
        for value in _strings(parameters.get(key)):
            name = resource_name(kind, value)
            if name and _is_ours(kind, name, value, owner):
                return name
    return ""


def resource_name(kind: str, value: str) -> str:
    """The resource's own name in any form a request names it (name, ARN, partial ARN, qualifier)."""
    text = value.strip()
    if kind == "function":
        after = text.split(":function:", 1)[1] if ":function:" in text else text
        return after.split(":", 1)[0]
    if kind in ("rule", "trail", "stack"):
        marker = {"rule": ":rule/", "trail": ":trail/", "stack": ":stack/"}[kind]
        if marker in text:
            rest = text.split(marker, 1)[1]
            return rest.split("/")[0] if kind == "stack" else rest.rsplit("/", 1)[-1]
        if ":event-bus/" in text:
            return text.rsplit("/", 1)[-1]
        return text
    if kind == "secret":  # a name, a partial ARN (...:secret:<name>) or the full ARN (<name>-AbCdEf)
        return text.split(":secret:", 1)[-1]
    if kind == "stackset":  # a name, its ID (<name>:<uuid>) or its ARN (...:stackset/<name>:<uuid>)
        return text.split(":stackset/", 1)[-1].split(":", 1)[0]
    if kind == "topic":
        parts = text.split(":")
        return parts[5] if len(parts) >= 6 and parts[0] == "arn" else text
    if kind == "queue":
        return text.rstrip("/").rsplit("/", 1)[-1]
    if kind == "table":  # a name or an ARN (...:table/<name>, or a stream/backup/index under it)
        return text.split(":table/", 1)[1].split("/", 1)[0] if ":table/" in text else text
    return text  # key, role, alarm, log-group: the value itself


def _is_ours(kind: str, name: str, value: str, owner: Ownership) -> bool:
    stack = owner.stack_name
    if kind == "secret":
        return any(is_same_secret(name, secret_name(arn)) for arn in owner.secret_arns)
    if not stack:
        return False
    if kind == "stack":
        return name == stack
    if kind == "stackset":
        return name == spoke_stackset_name(stack)
    if kind == "log-group":
        return name.startswith(log_group_prefix(stack))
    if kind == "role":  # IAM resolves role names without regard to case
        return name.casefold() in {r.casefold() for r in owner.role_names} or name.casefold().startswith(
            owned_prefix(stack).casefold()
        )
    if kind == "key":
        alias = value.split(":alias/", 1)[1] if ":alias/" in value else value.removeprefix("alias/")
        if value.startswith("alias/") or ":alias/" in value:
            return alias.startswith(owned_prefix(stack))
        key_id = value.rsplit("/", 1)[-1]
        return value in owner.key_ids or key_id in {k.rsplit("/", 1)[-1] for k in owner.key_ids}
    return name.startswith(owned_prefix(stack))


_SUFFIX = "-[A-Za-z0-9]{6}"  # Secrets Manager's suffix of a secret's full ARN


def secret_name(arn: str) -> str:
    """The name part of a secret's ARN (with the suffix, if the ARN given is the full one)."""
    return arn.split(":secret:", 1)[-1]


def is_same_secret(named: str, protected: str) -> bool:
    """Does ``named`` (the name part of a request's secretId) name the protected secret (the name part
    of its ARN as configured)? Either may be the full form, ``<name>-AbCdEf``; names are case-sensitive."""
    return (
        named == protected
        or re.fullmatch(re.escape(protected) + _SUFFIX, named) is not None
        or re.fullmatch(re.escape(named) + _SUFFIX, protected) is not None
    )


def _strings(value: object) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        yield from (v for v in value if isinstance(v, str))


def is_critical(service: WatchedService, event_name: str, parameters: Mapping[str, object]) -> bool:
    """Critical when the call can stop enforcement or alerting; concurrency only when set to 0."""
    if event_name == "PutFunctionConcurrency20171031":
        return parameters.get("reservedConcurrentExecutions") in (0, "0")
    return event_name in service.critical


# --- the EventBridge rules (template.yaml has one per service; a test compares them with these) --------


def name_patterns(
    kind: str, stack: str, key_ids: Iterable[str] = (), secret_arns: Iterable[str] = ()
) -> list[Any]:
    """EventBridge value patterns matching every form a request may name one of the stack's resources."""
    prefix = owned_prefix(stack)
    if kind == "secret":
        return secret_patterns(stack, secret_arns)
    if kind == "function":
        return [{"prefix": prefix}, {"wildcard": f"*:function:{prefix}*"}]
    if kind == "rule":
        return [
            {"prefix": prefix},
            {"wildcard": f"*:rule/{prefix}*"},
            {"wildcard": f"*:rule/*/{prefix}*"},
            {"wildcard": f"*:event-bus/{prefix}*"},
        ]
    if kind == "trail":
        return [{"prefix": prefix}, {"wildcard": f"*:trail/{prefix}*"}]
    if kind == "topic":
        return [{"wildcard": f"arn:*:sns:*:*:{prefix}*"}]
    if kind == "key":
        return [*key_ids, {"prefix": f"alias/{prefix}"}, {"wildcard": f"*:alias/{prefix}*"}]
    if kind == "stack":
        return [stack, {"wildcard": f"arn:*:cloudformation:*:*:stack/{stack}/*"}]
    if kind == "stackset":
        spoke = spoke_stackset_name(stack)
        return [spoke, {"prefix": f"{spoke}:"}, {"wildcard": f"arn:*:cloudformation:*:*:stackset/{spoke}:*"}]
    if kind == "log-group":
        return [{"prefix": log_group_prefix(stack)}]
    if kind == "queue":
        return [{"wildcard": f"*/{prefix}*"}]
    if kind == "table":
        return [{"prefix": prefix}, {"wildcard": f"arn:*:dynamodb:*:*:table/{prefix}*"}]
    if kind == "role":  # IAM resolves role names without regard to case: so does the rule
        return [{"prefix": {"equals-ignore-case": prefix}}]
    return [{"prefix": prefix}]  # alarm


def secret_patterns(stack: str, secret_arns: Iterable[str]) -> list[Any]:
    """Each protected secret by its ARN as given, that ARN with a suffix, its name, its name with a suffix
    (a rule cannot cut a suffix off: given a full ARN, a request by the bare name is not delivered).
    Without any, a name no secret of IAM Guard's has, so the rule delivers nothing."""
    patterns: list[Any] = []
    for arn in secret_arns:
        name = secret_name(arn)
        patterns += [arn, {"prefix": f"{arn}-"}, name, {"prefix": f"{name}-"}]
    return patterns or [f"{owned_prefix(stack)}no-protected-secret"]


def rule_pattern(
    service: WatchedService, stack: str, key_ids: Iterable[str] = (), secret_arns: Iterable[str] = ()
) -> dict[str, Any]:
    """The rule delivering this service's calls on the stack's resources, and nothing else."""
    parameters = [
        {"requestParameters": {key: name_patterns(parameter_kind(service, key), stack, key_ids, secret_arns)}}
        for key in service.parameters
    ]
    detail: dict[str, Any] = {
        "eventSource": [service.event_source],
        "eventName": sorted(service.event_names),
        "errorCode": [{"exists": False}],
    }
    if len(parameters) == 1:
        detail.update(parameters[0])
    else:
        detail["$or"] = parameters
    return {"source": [service.source], "detail-type": ["AWS API Call via CloudTrail"], "detail": detail}
