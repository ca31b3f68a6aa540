"""The enforcer against what a guarded user (or a leaked key) would try: switch IAM Guard off, hide from it,
exempt themselves, mint their own MFA, rename what it watches. moto IAM; CloudTrail events as CloudTrail
writes them (the shapes of events/ and of public captures)."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from tests.enforce.conftest import ACCOUNT, GROUP, Harness, make_settings, sample
from tests.harness.mfa import enable_virtual_mfa

from core.aws.cloudformation import CloudFormationGateway
from core.enforce.commands import Ignore, InfrastructureChanged, MfaDeviceEnabled
from core.enforce.events import parse_event
from core.enforce.routes import command_for
from core.enforce.watch import WATCHED, Ownership
from core.model.alerts import AlertKind, Severity
from core.model.errors import InvalidEventError
from demo.cloudformation import CloudFormationStandIn

STACK = "iam-guard"
SETTINGS = make_settings(stack_name=STACK)
STACK_ID = f"arn:aws:cloudformation:us-east-1:{ACCOUNT}:stack/{STACK}/5b2b7c40-1f0e-11ef-9a3b-0a1b2c3d4e5f"
KEY_ARN = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
SLACK_SECRET = f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:iam-guard/slack-webhook"
TEAMS_SECRET = f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:iam-guard/teams-webhook-Xy12Zw"  # full ARN
OWNER = Ownership(
    STACK, frozenset({"iam-guard_enforcer"}), frozenset({KEY_ARN}), frozenset({SLACK_SECRET, TEAMS_SECRET})
)
ATTACKER = f"arn:aws:iam::{ACCOUNT}:user/mallory"


def api_call(
    source: str,
    event_name: str,
    parameters: dict[str, Any],
    *,
    identity: dict[str, Any] | None = None,
    **detail: Any,
) -> dict[str, Any]:
    """A CloudTrail record of ``event_name`` on EventBridge, made by mallory unless told otherwise."""
    event = copy.deepcopy(sample("create-user"))
    event["source"] = source
    event["detail"] = {
        "eventVersion": "1.09",
        "userIdentity": identity
        or {"type": "IAMUser", "arn": ATTACKER, "accountId": ACCOUNT, "userName": "mallory"},
        "eventTime": "2025-01-15T09:58:00Z",
        "eventSource": f"{source.removeprefix('aws.')}.amazonaws.com".replace("cloudwatch.", "monitoring."),
        "eventName": event_name,
        "awsRegion": "us-east-1",
        "sourceIPAddress": "198.51.100.7",
        "requestParameters": parameters,
        "responseElements": None,
        "eventID": "0e1f2a3b-4c5d-6e7f-8091-a2b3c4d5e6f7",
        **detail,
    }
    return event


def classified(event: dict[str, Any]) -> Any:
    return command_for(parse_event(event), SETTINGS, owner=OWNER)


# --- IAM Guard's own infrastructure: every name form, ours and theirs ---------------------------------

SPOKE_ID = "5b2b7c40-1f0e-11ef-9a3b-0a1b2c3d4e5f"
OTHER = "210987654321"  # the management account, say

OURS = [
    ("aws.lambda", "UpdateFunctionConfiguration20150331v2", {"functionName": "iam-guard_enforcer"}, True),
    ("aws.lambda", "UpdateFunctionCode20150331v2", {"functionName": "iam-guard_enforcer:live"}, True),
    (
        "aws.lambda",
        "PutFunctionConcurrency20171031",
        {
            "functionName": f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:iam-guard_enforcer",
            "reservedConcurrentExecutions": 0,
        },
        True,
    ),
    (
        "aws.lambda",
        "PutFunctionConcurrency20171031",
        {"functionName": "iam-guard_enforcer", "reservedConcurrentExecutions": 5},
        False,
    ),
    ("aws.lambda", "AddPermission20150331v2", {"functionName": f"{ACCOUNT}:function:iam-guard_sweep"}, False),
    (
        "aws.lambda",
        "TagResource20170331v2",
        {"resource": f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:iam-guard_sweep"},
        False,
    ),
    ("aws.events", "DisableRule", {"name": "iam-guard_enforcer-events"}, True),
    ("aws.events", "RemoveTargets", {"rule": "iam-guard_sweep-schedule", "ids": ["x"]}, True),
    (
        "aws.events",
        "DeleteRule",
        {"name": f"arn:aws:events:us-east-1:{ACCOUNT}:rule/iam-guard_w-kms"},
        True,
    ),
    ("aws.cloudtrail", "StopLogging", {"name": "iam-guard_trail"}, True),
    (
        "aws.cloudtrail",
        "DeleteTrail",
        {"name": f"arn:aws:cloudtrail:us-east-1:{ACCOUNT}:trail/iam-guard_trail"},
        True,
    ),
    (
        "aws.sns",
        "Subscribe",
        {"topicArn": f"arn:aws:sns:us-east-1:{ACCOUNT}:iam-guard_alerts", "protocol": "https"},
        False,
    ),
    (
        "aws.sns",
        "Unsubscribe",
        {"subscriptionArn": f"arn:aws:sns:us-east-1:{ACCOUNT}:iam-guard_alerts:1f2e"},
        True,
    ),
    (
        "aws.sns",
        "SetTopicAttributes",
        {"topicArn": f"arn:aws:sns:us-east-1:{ACCOUNT}:iam-guard_alerts"},
        True,
    ),
    ("aws.kms", "DisableKey", {"keyId": KEY_ARN}, True),
    ("aws.kms", "ScheduleKeyDeletion", {"keyId": "1234abcd-12ab-34cd-56ef-1234567890ab"}, True),
    ("aws.kms", "PutKeyPolicy", {"keyId": "alias/iam-guard_alerts"}, True),
    ("aws.kms", "CreateGrant", {"keyId": f"arn:aws:kms:us-east-1:{ACCOUNT}:alias/iam-guard_alerts"}, False),
    ("aws.kms", "DeleteAlias", {"aliasName": "alias/iam-guard_alerts"}, True),
    ("aws.cloudformation", "DeleteStack", {"stackName": "iam-guard"}, True),
    ("aws.cloudformation", "UpdateStack", {"stackName": STACK_ID}, True),
    # the spoke StackSet (org mode) reaches every member account: by name, StackSet ID and ARN
    ("aws.cloudformation", "UpdateStackSet", {"stackSetName": "iam-guard-spoke"}, True),
    ("aws.cloudformation", "DeleteStackInstances", {"stackSetName": f"iam-guard-spoke:{SPOKE_ID}"}, True),
    (
        "aws.cloudformation",
        "UpdateStackInstances",
        {"stackSetName": f"arn:aws:cloudformation:us-east-1:{OTHER}:stackset/iam-guard-spoke:{SPOKE_ID}"},
        True,
    ),
    ("aws.cloudformation", "DeleteStackSet", {"stackSetName": "iam-guard-spoke", "callAs": "SELF"}, True),
    ("aws.cloudformation", "StopStackSetOperation", {"stackSetName": "iam-guard-spoke"}, False),
    # the alert channels' secrets, in every form a secretId takes (name, partial ARN, full ARN)
    ("aws.secretsmanager", "PutSecretValue", {"secretId": "iam-guard/slack-webhook"}, True),
    ("aws.secretsmanager", "PutResourcePolicy", {"secretId": SLACK_SECRET}, True),
    ("aws.secretsmanager", "DeleteSecret", {"secretId": f"{SLACK_SECRET}-AbCdEf"}, True),
    ("aws.secretsmanager", "GetSecretValue", {"secretId": "iam-guard/teams-webhook"}, False),
    ("aws.secretsmanager", "UpdateSecret", {"secretId": TEAMS_SECRET}, True),
    ("aws.iam", "PutRolePolicy", {"roleName": "iam-guard_enforcer", "policyName": "x"}, True),
    ("aws.iam", "UpdateAssumeRolePolicy", {"roleName": "iam-guard_sweep"}, True),
    # IAM resolves role names without regard to case: the same role, named in another case
    ("aws.iam", "PutRolePolicy", {"roleName": "IAM-GUARD_Sweep", "policyName": "x"}, True),
    ("aws.iam", "DeleteRolePolicy", {"roleName": "Iam-Guard_Enforcer", "policyName": "x"}, True),
    ("aws.cloudwatch", "DisableAlarmActions", {"alarmNames": ["other", "iam-guard_enforcer-errors"]}, True),
    ("aws.logs", "DeleteLogGroup", {"logGroupName": "/aws/lambda/iam-guard/enforcer"}, False),
    (
        "aws.sqs",
        "PurgeQueue",
        {"queueUrl": f"https://sqs.us-east-1.amazonaws.com/{ACCOUNT}/iam-guard_enforcer-dlq"},
        False,
    ),
    # the alert dead-letter queue (Teams' and the webhook's undelivered alerts): emptied, re-pointed, deleted
    *(
        (
            "aws.sqs",
            name,
            {"queueUrl": f"https://sqs.us-east-1.amazonaws.com/{ACCOUNT}/iam-guard_alert-dlq"},
            False,
        )
        for name in ("PurgeQueue", "SetQueueAttributes", "DeleteQueue")
    ),
    # the owners' notifications table, by name and by ARN
    ("aws.dynamodb", "DeleteTable", {"tableName": "iam-guard_notifications"}, True),
    (
        "aws.dynamodb",
        "UpdateTimeToLive",
        {"tableName": f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/iam-guard_notifications"},
        True,
    ),
    (
        "aws.dynamodb",
        "PutResourcePolicy",
        {"resourceArn": f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/iam-guard_notifications"},
        True,
    ),
    ("aws.dynamodb", "UpdateContinuousBackups", {"tableName": "iam-guard_notifications"}, False),
]


@pytest.mark.parametrize(("source", "name", "parameters", "critical"), OURS)
def test_changes_to_iam_guards_own_resources_are_recognised_in_every_name_form(
    source: str, name: str, parameters: dict[str, Any], critical: bool
) -> None:
    command = classified(api_call(source, name, parameters))

    assert isinstance(command, InfrastructureChanged), command
    assert command.critical is critical
    assert command.service == source
    assert not command.by_cloudformation


FOREIGN = [
    ("aws.lambda", "UpdateFunctionConfiguration20150331v2", {"functionName": "iam-guard-dashboards-Fn-1AB"}),
    (
        "aws.lambda",
        "PutFunctionConcurrency20171031",
        {"functionName": f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:payments"},
    ),
    ("aws.events", "DisableRule", {"name": "iam-guard-other-rule"}),
    ("aws.cloudtrail", "StopLogging", {"name": "org-trail"}),
    ("aws.sns", "Subscribe", {"topicArn": f"arn:aws:sns:us-east-1:{ACCOUNT}:iam-guard-alerts"}),
    ("aws.kms", "DisableKey", {"keyId": "9999abcd-12ab-34cd-56ef-1234567890ab"}),
    ("aws.kms", "DeleteAlias", {"aliasName": "alias/iam-guard-alerts"}),
    ("aws.cloudformation", "DeleteStack", {"stackName": "iam-guard-dev"}),
    ("aws.cloudformation", "UpdateStackSet", {"stackSetName": "iam-guard-dev-spoke"}),
    ("aws.cloudformation", "DeleteStackSet", {"stackSetName": f"iam-guard-spoke-2:{SPOKE_ID}"}),
    (
        "aws.cloudformation",
        "UpdateStackInstances",
        {"stackSetName": "iam-guard"},
    ),  # a StackSet, not the stack
    ("aws.cloudformation", "DeleteStack", {"stackName": "iam-guard-spoke"}),  # a stack, not the StackSet
    ("aws.iam", "PutRolePolicy", {"roleName": "iam-guard-EnforcerRole-1AB"}),
    ("aws.secretsmanager", "PutSecretValue", {"secretId": "iam-guard/slack-webhook-2"}),
    ("aws.secretsmanager", "DeleteSecret", {"secretId": f"{SLACK_SECRET}-2-AbCdEf"}),
    ("aws.secretsmanager", "GetSecretValue", {"secretId": "payments/db-password"}),
    ("aws.secretsmanager", "UpdateSecret", {"secretId": "iam-guard/teams-webhook-Other1"}),
    ("aws.cloudwatch", "DeleteAlarms", {"alarmNames": ["iam-guard-errors"]}),
    ("aws.logs", "DeleteLogGroup", {"logGroupName": "/aws/lambda/iam-guard-dev/enforcer"}),
    (
        "aws.sqs",
        "DeleteQueue",
        {"queueUrl": f"https://sqs.us-east-1.amazonaws.com/{ACCOUNT}/iam-guard-queue"},
    ),
    ("aws.dynamodb", "DeleteTable", {"tableName": "iam-guard-dev_notifications"}),
    ("aws.dynamodb", "DeleteTable", {"tableName": f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/payments"}),
]


@pytest.mark.parametrize(("source", "name", "parameters"), FOREIGN)
def test_the_same_calls_on_other_teams_resources_are_ignored(
    source: str, name: str, parameters: dict[str, Any]
) -> None:
    command = classified(api_call(source, name, parameters))

    assert isinstance(command, Ignore)
    assert "does not touch IAM Guard's own resources" in command.reason


def test_every_watched_service_has_a_case_here() -> None:
    assert {s.source for s in WATCHED} <= {case[0] for case in OURS}


def test_without_a_stack_name_infrastructure_events_are_ignored() -> None:
    event = api_call("aws.events", "DisableRule", {"name": "iam-guard_enforcer-events"})
    command = command_for(parse_event(event), make_settings())

    assert isinstance(command, Ignore)
    assert "no stack name" in command.reason


def test_switching_the_enforcer_off_raises_a_critical_alert_naming_actor_call_and_resource(
    deployed: Harness,
) -> None:
    event = api_call("aws.events", "DisableRule", {"name": "iam-guard_enforcer-events"})

    result = deployed.run(event, settings=SETTINGS, owner=OWNER)

    (alert,) = result.alerts
    assert result.action == "infrastructure-tampered"
    assert alert.kind is AlertKind.INFRASTRUCTURE_TAMPERED
    assert alert.severity is Severity.CRITICAL
    assert "DisableRule" in alert.title
    assert "iam-guard_enforcer-events" in alert.title
    assert "user/mallory" in alert.title
    assert deployed.sink.alerts == [alert]
    assert deployed.counter.total == 0  # nothing to read in IAM: an alert is all it can do


def test_a_subscription_to_the_alert_topic_is_high(deployed: Harness) -> None:
    event = api_call(
        "aws.sns", "Subscribe", {"topicArn": f"arn:aws:sns:us-east-1:{ACCOUNT}:iam-guard_alerts"}
    )

    (alert,) = deployed.run(event, settings=SETTINGS, owner=OWNER).alerts

    assert alert.severity is Severity.HIGH


def cloudformation_identity() -> dict[str, Any]:
    """What CloudTrail records when CloudFormation acts with the deployer's credentials."""
    return {
        "type": "AssumedRole",
        "arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/Deployer/ci",
        "accountId": ACCOUNT,
        "invokedBy": "cloudformation.amazonaws.com",
    }


def test_this_stacks_own_update_is_reported_as_a_change_not_as_tampering(deployed: Harness) -> None:
    stand_in = CloudFormationStandIn(STACK_ID)
    stand_in.begin("Update", {})
    event = api_call(
        "aws.lambda",
        "UpdateFunctionCode20150331v2",
        {"functionName": "iam-guard_enforcer"},
        identity=cloudformation_identity(),
    )

    result = deployed.run(
        event, settings=SETTINGS, owner=OWNER, cloudformation=CloudFormationGateway(stand_in)
    )

    (alert,) = result.alerts
    assert result.action == "infrastructure-changed"
    assert alert.kind is AlertKind.INFRASTRUCTURE_CHANGED
    assert alert.severity is Severity.INFO


def test_a_cloudformation_change_while_this_stack_is_not_updating_is_tampering(deployed: Harness) -> None:
    """Another stack (or a change set of someone's own) also acts as CloudFormation."""
    stand_in = CloudFormationStandIn(STACK_ID)  # settled: UPDATE_COMPLETE
    event = api_call(
        "aws.lambda",
        "RemovePermission20150331v2",
        {"functionName": "iam-guard_enforcer"},
        identity=cloudformation_identity(),
    )

    result = deployed.run(
        event, settings=SETTINGS, owner=OWNER, cloudformation=CloudFormationGateway(stand_in)
    )

    (alert,) = result.alerts
    assert result.action == "infrastructure-tampered"
    assert alert.severity is Severity.CRITICAL
    assert "through CloudFormation" in alert.summary


# --- exemptions: a key or password for a user the guardrail does not cover ---------------------------


@pytest.mark.parametrize(
    ("name", "changes"),
    [
        ("create-access-key", {}),
        ("create-login-profile", {}),
        ("create-login-profile", {"eventName": "UpdateLoginProfile"}),
    ],
)
def test_a_credential_for_an_exempt_user_is_alerted_naming_user_and_actor(
    deployed: Harness, name: str, changes: dict[str, Any]
) -> None:
    deployed.create_user("dev-bob", {"iam-guard:exempt": "true"})

    result = deployed.run(sample(name, **changes))

    assert result.action == "exempt"
    (alert,) = result.alerts
    assert alert.kind is AlertKind.EXEMPT_USER_CREDENTIAL
    assert alert.severity is Severity.MEDIUM
    assert "dev-bob" in alert.title
    assert alert.actor == sample(name)["detail"]["userIdentity"]["arn"]
    assert GROUP not in deployed.groups_of("dev-bob")


def test_a_listed_exemption_matches_the_user_whatever_the_case(deployed: Harness) -> None:
    deployed.create_user("breakglass")
    settings = make_settings(exempt_users=frozenset({"BreakGlass"}))

    result = deployed.run(
        sample("create-access-key", requestParameters={"userName": "breakglass"}), settings=settings
    )

    assert result.action == "exempt"
    assert deployed.groups_of("breakglass") == []


# --- names as IAM compares them -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "parameters"),
    [
        ("remove-user-from-group", {"groupName": "iamguardsecuredusers", "userName": "dev-bob"}),
        (
            "detach-group-policy",
            {
                "groupName": "IAMGUARDSECUREDUSERS",
                "policyArn": f"arn:aws:iam::{ACCOUNT}:policy/iam-guard/IAMGuardSecureIamPolicy",
            },
        ),
        ("delete-group", {"groupName": "IamGuardSecuredUsers"}),
        (
            "create-policy-version",
            {"policyArn": f"arn:aws:iam::{ACCOUNT}:policy/iam-guard/IAMGUARDSECUREIAMPOLICY"},
        ),
        ("delete-policy", {"policyArn": f"arn:aws:iam::{ACCOUNT}:policy/iamguardsecureiampolicy"}),
    ],
)
def test_tamper_events_naming_our_group_or_policy_in_another_case_are_ours(
    name: str, parameters: dict[str, Any]
) -> None:
    command = classified(sample(name, requestParameters=parameters))

    assert not isinstance(command, Ignore), command


def test_a_removal_from_the_group_named_in_lower_case_is_healed(deployed: Harness) -> None:
    deployed.create_user("dev-bob")
    event = sample(
        "remove-user-from-group",
        requestParameters={"groupName": "iamguardsecuredusers", "userName": "dev-bob"},
    )

    result = deployed.run(event)

    assert result.action == "healed"
    assert deployed.groups_of("dev-bob") == [GROUP]


# --- MFA registered with a stolen key --------------------------------------------------------------------


def enable_mfa(
    identity: dict[str, Any],
    user: str = "dev-bob",
    serial: str = "arn:aws:iam::123456789012:mfa/attacker",
    *,
    console: bool = False,
    at: datetime | None = None,
) -> dict[str, Any]:
    """EnableMFADevice; ``console``: made from a console session (the record's own field, as CloudTrail
    writes it: next to userIdentity, only when true); ``at``: its time (default: now, as moto enables)."""
    extra = {"sessionCredentialFromConsole": "true"} if console else {}
    when = (at or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return api_call(
        "aws.iam",
        "EnableMFADevice",
        {"userName": user, "serialNumber": serial},
        identity=identity,
        eventTime=when,
        **extra,
    )


def user_identity(user: str, *, mfa: str | None = None) -> dict[str, Any]:
    identity: dict[str, Any] = {
        "type": "IAMUser",
        "arn": f"arn:aws:iam::{ACCOUNT}:user/{user}",
        "accountId": ACCOUNT,
        "userName": user,
        "accessKeyId": "ASIAEXAMPLE" if mfa is not None else "AKIAEXAMPLE",
    }
    if mfa is not None:
        identity["sessionContext"] = {
            "attributes": {"mfaAuthenticated": mfa, "creationDate": "2025-01-15T09:00:00Z"}
        }
    return identity


def add_virtual_mfa(harness: Harness, user: str, name: str) -> str:
    """A device enabled on moto now (moto's clock is the real one, so the enforcer's is set to it)."""
    serial = enable_virtual_mfa(harness.client, user, name)
    harness.counter.reset()
    harness.now = datetime.now(UTC) + timedelta(seconds=30)
    return serial


def backdate_mfa(user: str, serial: str, days: int) -> datetime:
    """The device as IAM shows a device enabled ``days`` ago (the user's own, long-standing device)."""
    from moto.iam.models import iam_backends

    device = iam_backends[ACCOUNT]["global"].users[user].mfa_devices[serial]
    device.enable_date = device.enable_date - timedelta(days=days)
    enabled: datetime = device.enable_date
    return enabled if enabled.tzinfo else enabled.replace(tzinfo=UTC)


def test_first_mfa_device_from_the_console_is_the_normal_path(deployed: Harness) -> None:
    deployed.create_user("dev-bob")

    result = deployed.run(enable_mfa(user_identity("dev-bob", mfa="false"), console=True))

    assert result.action == "mfa-registered"
    assert result.alerts == ()


def test_the_console_flag_is_read_where_cloudtrail_writes_it() -> None:
    """CloudTrail writes sessionCredentialFromConsole at the record's top level (next to userIdentity).
    Read from inside userIdentity, every first MFA registration from the console looked suspicious."""
    in_record = classified(enable_mfa(user_identity("dev-bob", mfa="false"), console=True))
    misplaced = enable_mfa(user_identity("dev-bob", mfa="false"))
    misplaced["detail"]["userIdentity"]["sessionCredentialFromConsole"] = "true"

    assert isinstance(in_record, MfaDeviceEnabled)
    assert in_record.from_console
    assert not in_record.suspicious
    assert not classified(misplaced).from_console


def test_a_second_device_registered_with_a_long_term_key_is_deactivated_and_alerted(
    deployed: Harness,
) -> None:
    deployed.create_user("dev-bob")
    add_virtual_mfa(deployed, "dev-bob", "bobs-phone")
    attacker = add_virtual_mfa(deployed, "dev-bob", "attacker")

    result = deployed.run(enable_mfa(user_identity("dev-bob"), serial=attacker))

    assert result.action == "mfa-device-deactivated"
    (alert,) = result.alerts
    assert alert.kind is AlertKind.MFA_REGISTRATION_SUSPICIOUS
    assert alert.severity is Severity.HIGH
    assert "was deactivated" in alert.summary
    devices = [d["SerialNumber"] for d in deployed.client.list_mfa_devices(UserName="dev-bob")["MFADevices"]]
    assert attacker not in devices
    assert len(devices) == 1  # the user's own device is untouched


def test_a_first_device_registered_with_a_long_term_key_is_alerted_but_kept(deployed: Harness) -> None:
    deployed.create_user("dev-bob")
    only = add_virtual_mfa(deployed, "dev-bob", "first")

    result = deployed.run(enable_mfa(user_identity("dev-bob"), serial=only))

    assert result.action == "mfa-registration-alerted"
    assert "left active" in result.alerts[0].summary
    assert len(deployed.client.list_mfa_devices(UserName="dev-bob")["MFADevices"]) == 1


def test_a_session_without_mfa_that_is_not_the_console_is_suspicious(deployed: Harness) -> None:
    """GetSessionToken without MFA issues exactly such a session: MultiFactorAuthPresent false, no console."""
    deployed.create_user("dev-bob")
    add_virtual_mfa(deployed, "dev-bob", "bobs-phone")
    second = add_virtual_mfa(deployed, "dev-bob", "second")

    result = deployed.run(enable_mfa(user_identity("dev-bob", mfa="false"), serial=second))

    assert result.action == "mfa-device-deactivated"


def test_a_self_registration_from_a_session_without_mfa_names_user_and_device(deployed: Harness) -> None:
    """Issue 21 item 1: AWS refuses IAM calls to a GetSessionToken session without MFA, so such a record
    is forged or AWS changed; either way a high alert names the user and the device, even when the device
    is the first and stays active."""
    deployed.create_user("dev-bob")
    only = add_virtual_mfa(deployed, "dev-bob", "from-a-session")

    result = deployed.run(enable_mfa(user_identity("dev-bob", mfa="false"), serial=only))

    (alert,) = result.alerts
    assert alert.kind is AlertKind.MFA_REGISTRATION_SUSPICIOUS
    assert alert.severity is Severity.HIGH
    assert only in alert.title
    assert "dev-bob" in alert.title
    assert f"The MFA device {only} was registered for dev-bob" in alert.summary
    assert "left active" in alert.summary  # the first device: never deactivated


def test_registration_with_mfa_by_the_user_is_fine_and_by_someone_else_is_alerted(deployed: Harness) -> None:
    deployed.create_user("dev-bob")
    add_virtual_mfa(deployed, "dev-bob", "bobs-phone")
    second = add_virtual_mfa(deployed, "dev-bob", "second")

    own = deployed.run(enable_mfa(user_identity("dev-bob", mfa="true"), serial=second))
    admin = deployed.run(enable_mfa(user_identity("admin-ana", mfa="true"), serial=second))

    assert own.action == "mfa-registered"
    assert admin.action == "mfa-registration-alerted"  # with MFA: alerted, not deactivated
    assert "by user/admin-ana, not by dev-bob" in admin.alerts[0].summary


def test_a_dry_run_only_says_it_would_deactivate(deployed: Harness) -> None:
    deployed.create_user("dev-bob")
    add_virtual_mfa(deployed, "dev-bob", "bobs-phone")
    attacker = add_virtual_mfa(deployed, "dev-bob", "attacker")

    result = deployed.run(
        enable_mfa(user_identity("dev-bob"), serial=attacker), settings=make_settings(dry_run=True)
    )

    assert "would be deactivated" in result.alerts[0].summary
    assert len(deployed.client.list_mfa_devices(UserName="dev-bob")["MFADevices"]) == 2


# --- forged EnableMFADevice events: only what IAM says is acted on ---------------------------------------


def mfa_serials(harness: Harness, user: str) -> list[str]:
    return sorted(d["SerialNumber"] for d in harness.client.list_mfa_devices(UserName=user)["MFADevices"])


def test_a_forged_event_naming_the_users_long_standing_device_deactivates_nothing(deployed: Harness) -> None:
    """The victim registered a second device from the console; the forged event claims their first one
    was just registered with a key. IAM says it was enabled 30 days ago: kept."""
    deployed.create_user("dev-bob")
    own = add_virtual_mfa(deployed, "dev-bob", "bobs-phone")
    add_virtual_mfa(deployed, "dev-bob", "bobs-key")
    backdate_mfa("dev-bob", own, days=30)
    before = mfa_serials(deployed, "dev-bob")

    result = deployed.run(enable_mfa(user_identity("dev-bob"), serial=own))

    assert result.action == "mfa-registration-alerted"
    assert "not at the event's time" in result.alerts[0].summary
    assert mfa_serials(deployed, "dev-bob") == before


def test_a_forged_event_timed_at_an_old_devices_enable_date_deactivates_nothing(deployed: Harness) -> None:
    """The forger read the device's EnableDate and dated the event to match: too old to be acted on."""
    deployed.create_user("dev-bob")
    first = add_virtual_mfa(deployed, "dev-bob", "bobs-phone")
    second = add_virtual_mfa(deployed, "dev-bob", "bobs-key")
    backdate_mfa("dev-bob", first, days=60)
    enabled = backdate_mfa("dev-bob", second, days=30)
    before = mfa_serials(deployed, "dev-bob")

    result = deployed.run(enable_mfa(user_identity("dev-bob"), serial=second, at=enabled))

    assert result.action == "mfa-registration-alerted"
    assert "enabled more than 1 hour ago" in result.alerts[0].summary
    assert mfa_serials(deployed, "dev-bob") == before


def test_a_forged_event_naming_a_device_iam_does_not_list_deactivates_nothing(deployed: Harness) -> None:
    deployed.create_user("dev-bob")
    add_virtual_mfa(deployed, "dev-bob", "bobs-phone")
    add_virtual_mfa(deployed, "dev-bob", "bobs-key")
    before = mfa_serials(deployed, "dev-bob")

    result = deployed.run(enable_mfa(user_identity("dev-bob"), serial=f"arn:aws:iam::{ACCOUNT}:mfa/invented"))

    assert result.action == "mfa-registration-alerted"
    assert "IAM lists no such device" in result.alerts[0].summary
    assert mfa_serials(deployed, "dev-bob") == before


@pytest.mark.parametrize("how", ["tag", "listed"])
def test_an_exempt_break_glass_users_devices_are_never_deactivated_by_an_event(
    deployed: Harness, how: str
) -> None:
    """Even a registration that looks exactly like a stolen key's (second device, just now, no MFA)."""
    if how == "tag":
        deployed.create_user("breakglass", {"iam-guard:exempt": "true"})
        settings = deployed.settings
    else:
        deployed.create_user("breakglass")
        settings = make_settings(exempt_users=("breakglass",))
    first = add_virtual_mfa(deployed, "breakglass", "bg-phone")
    backdate_mfa("breakglass", first, days=30)
    second = add_virtual_mfa(deployed, "breakglass", "bg-key")

    result = deployed.run(
        enable_mfa(user_identity("breakglass"), "breakglass", serial=second), settings=settings
    )

    assert result.action == "mfa-registration-alerted"
    assert "is exempt" in result.alerts[0].summary
    assert mfa_serials(deployed, "breakglass") == sorted([first, second])


def test_a_real_second_device_of_a_user_with_an_old_one_is_still_deactivated(deployed: Harness) -> None:
    """The attack the check exists for, as IAM shows it: an old device, a new one enabled at the event."""
    deployed.create_user("dev-bob")
    own = add_virtual_mfa(deployed, "dev-bob", "bobs-phone")
    backdate_mfa("dev-bob", own, days=30)
    attacker = add_virtual_mfa(deployed, "dev-bob", "attacker")

    result = deployed.run(enable_mfa(user_identity("dev-bob"), serial=attacker))

    assert result.action == "mfa-device-deactivated"
    assert mfa_serials(deployed, "dev-bob") == [own]


# --- the root user ---------------------------------------------------------------------------------------


def test_a_console_password_for_root_gets_its_own_critical_alert() -> None:
    from core.aws.iam import IamGateway
    from core.enforce.actions import GuardrailCache
    from core.enforce.enforcer import enforce
    from core.model.alerts import RecordingSink

    event = sample("create-access-key-root")
    event["detail"]["eventName"] = "CreateLoginProfile"
    event["detail"]["responseElements"] = None
    sink = RecordingSink()

    result = enforce(
        parse_event(event), settings=SETTINGS, iam=IamGateway(object()), sink=sink, cache=GuardrailCache()
    )

    (alert,) = result.alerts
    assert result.action == "root-password-alerted"
    assert alert.kind is AlertKind.ROOT_PASSWORD_CREATED
    assert alert.severity is Severity.CRITICAL
    assert "console password" in alert.title
    assert "access key" not in alert.title.lower()


# --- malformed input: one line, never a traceback ----------------------------------------------------------


@pytest.mark.parametrize(
    "tags",
    [
        "team=payments",
        [["team", "payments"]],
        [{"key": 1, "value": "x"}],
        [{"value": "x"}],
        {"key": "k"},
        [{"key": "k", "value": ["v"]}],
    ],
)
def test_create_user_with_tags_that_are_not_key_value_objects_is_invalid(tags: Any) -> None:
    event = sample("create-user")
    event["detail"]["requestParameters"]["tags"] = tags

    with pytest.raises(
        InvalidEventError, match=r"tags must be a list of \{key, value\} objects|is not a list"
    ):
        classified(event)


@pytest.mark.parametrize(
    ("name", "parameters", "ours"),
    [(c[1], c[2], True) for c in OURS if c[0] == "aws.cloudformation"]
    + [(c[1], c[2], False) for c in FOREIGN if c[0] == "aws.cloudformation"],
)
def test_the_cloudformation_watch_rule_delivers_exactly_the_calls_on_the_stack_and_the_spoke_stackset(
    name: str, parameters: dict[str, Any], ours: bool
) -> None:
    """The rule as EventBridge evaluates it (moto's pattern matcher), for stacks and the spoke StackSet."""
    import json

    from moto.events.models import EventPattern

    from core.enforce.watch import rule_pattern

    (service,) = [s for s in WATCHED if s.source == "aws.cloudformation"]
    pattern = EventPattern.load(json.dumps(rule_pattern(service, "iam-guard")))

    assert pattern.matches_event(api_call("aws.cloudformation", name, parameters)) is ours


@pytest.mark.parametrize(
    ("name", "parameters", "ours"),
    [(c[1], c[2], True) for c in OURS if c[0] == "aws.secretsmanager"]
    + [(c[1], c[2], False) for c in FOREIGN if c[0] == "aws.secretsmanager"],
)
def test_the_secrets_watch_rule_delivers_what_the_code_calls_ours(
    name: str, parameters: dict[str, Any], ours: bool
) -> None:
    """The rule (moto's matcher) may deliver a little more than the code keeps (a name that only starts
    with ours); it never drops a call on a protected secret given as a partial ARN. For the secret given
    as its full ARN the rule cannot match the bare name (a rule cannot cut the suffix off): docs say so."""
    import json

    from moto.events.models import EventPattern

    from core.enforce.watch import rule_pattern

    (service,) = [s for s in WATCHED if s.source == "aws.secretsmanager"]
    pattern = EventPattern.load(json.dumps(rule_pattern(service, "iam-guard", (), sorted(OWNER.secret_arns))))
    delivered = pattern.matches_event(api_call("aws.secretsmanager", name, parameters))

    if ours and parameters["secretId"] != "iam-guard/teams-webhook":
        assert delivered
    if parameters["secretId"].startswith("payments/"):
        assert not delivered


@pytest.mark.parametrize(
    ("name", "parameters", "ours"),
    [(c[1], c[2], True) for c in OURS if c[0] == "aws.iam"]
    + [(c[1], c[2], False) for c in FOREIGN if c[0] == "aws.iam"],
)
def test_the_role_watch_rule_delivers_our_roles_in_any_letter_case(
    name: str, parameters: dict[str, Any], ours: bool
) -> None:
    import json

    from moto.events.models import EventPattern

    from core.enforce.watch import rule_pattern

    (service,) = [s for s in WATCHED if s.source == "aws.iam"]
    pattern = EventPattern.load(json.dumps(rule_pattern(service, "iam-guard")))

    assert pattern.matches_event(api_call("aws.iam", name, parameters)) is ours


@pytest.mark.parametrize(
    ("name", "parameters", "ours"),
    [(c[1], c[2], True) for c in OURS if c[0] == "aws.sqs"]
    + [(c[1], c[2], False) for c in FOREIGN if c[0] == "aws.sqs"],
)
def test_the_queue_watch_rule_delivers_calls_on_our_queues_the_alert_dlq_included(
    name: str, parameters: dict[str, Any], ours: bool
) -> None:
    import json

    from moto.events.models import EventPattern

    from core.enforce.watch import rule_pattern

    (service,) = [s for s in WATCHED if s.source == "aws.sqs"]
    pattern = EventPattern.load(json.dumps(rule_pattern(service, "iam-guard")))

    assert pattern.matches_event(api_call("aws.sqs", name, parameters)) is ours
