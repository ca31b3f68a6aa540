"""The owners' and alert channels in template.yaml: each permission exists only when its parameter is set,
and is scoped to the stack's table, the configured sender and the configured secrets."""

from __future__ import annotations

from typing import Any

import pytest
from tests.template.template_model import (
    ACCOUNT,
    REGION,
    actions_of,
    as_list,
    condition_holds,
    load_template,
    physical_value,
    role_policies,
    statements,
)

OFF = {
    "OwnerEmailSender": "",
    "SlackBotTokenSecretArn": "",
    "TeamsWebhookSecretArn": "",
    "WebhookSecretArn": "",
}
SECRET = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:team/"


def granting(function: str, action: str, parameters: dict[str, str]) -> list[dict[str, Any]]:
    job = role_policies(function, parameters)["job"]
    return [s for s in statements(job) if action in as_list(s["Action"])]


def test_with_every_channel_off_the_roles_read_no_secret_and_send_no_mail() -> None:
    for function in ("SweepFunction", "EnforcerFunction"):
        granted = actions_of(role_policies(function, OFF)["job"])
        assert "secretsmanager:GetSecretValue" not in granted, function
        assert not {a for a in granted if a.startswith("ses:")}, function
    for condition in ("HasOwnerEmail", "HasSlackBot", "HasTeams", "HasWebhook", "HasChannelSecret"):
        assert not condition_holds(condition, {**OFF, "SlackSecretArn": ""})


def test_the_sweep_writes_items_of_the_stacks_table_only() -> None:
    (statement,) = granting("SweepFunction", "dynamodb:PutItem", OFF)
    assert sorted(as_list(statement["Action"])) == ["dynamodb:DeleteItem", "dynamodb:PutItem"]
    assert statement["Resource"] == physical_value("NotificationsTable", "Arn")
    assert statement["Resource"] == f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/iam-guard_notifications"
    table = load_template()["Resources"]["NotificationsTable"]["Properties"]
    assert table["BillingMode"] == "PAY_PER_REQUEST"
    assert table["SSESpecification"] == {"SSEEnabled": True}
    assert table["TimeToLiveSpecification"] == {"AttributeName": "ttl", "Enabled": True}
    assert [k["AttributeName"] for k in table["KeySchema"]] == ["pk", "sk"]
    output = load_template()["Outputs"]["NotificationsTableName"]["Value"]
    assert output == {"Ref": "NotificationsTable"}


def test_mail_may_come_from_the_configured_sender_only() -> None:
    (statement,) = granting("SweepFunction", "ses:SendEmail", {**OFF, "OwnerEmailSender": "sec@example.com"})
    assert statement["Condition"] == {"StringEquals": {"ses:FromAddress": "sec@example.com"}}
    assert statement["Resource"] == f"arn:aws:ses:us-east-1:{ACCOUNT}:identity/*"


@pytest.mark.parametrize(
    ("function", "parameters", "readable"),
    [
        ("SweepFunction", {"SlackBotTokenSecretArn": f"{SECRET}bot"}, [f"{SECRET}bot"]),
        ("SweepFunction", {"WebhookSecretArn": f"{SECRET}hook"}, [f"{SECRET}hook"]),
        (
            "SweepFunction",
            {"TeamsWebhookSecretArn": f"{SECRET}teams", "WebhookSecretArn": f"{SECRET}hook"},
            [f"{SECRET}teams", f"{SECRET}hook"],
        ),
        ("EnforcerFunction", {"TeamsWebhookSecretArn": f"{SECRET}teams"}, [f"{SECRET}teams"]),
        ("EnforcerFunction", {"SlackBotTokenSecretArn": f"{SECRET}bot"}, []),  # owners: the sweep's
    ],
)
def test_each_role_reads_exactly_the_configured_secrets(
    function: str, parameters: dict[str, str], readable: list[str]
) -> None:
    found = granting(function, "secretsmanager:GetSecretValue", {**OFF, **parameters})
    resources = [r for s in found for r in as_list(s["Resource"])]
    assert resources == [r for arn in readable for r in (arn, f"{arn}-??????")]


ALERT_DLQ = f"arn:aws:sqs:{REGION}:{ACCOUNT}:iam-guard_alert-dlq"


@pytest.mark.parametrize("function", ["EnforcerFunction", "SweepFunction"])
def test_without_teams_or_the_webhook_there_is_no_alert_dlq_and_no_send(function: str) -> None:
    template = load_template()
    assert granting(function, "sqs:SendMessage", {**OFF, "SlackBotTokenSecretArn": f"{SECRET}bot"}) == []
    assert not condition_holds("HasAlertChannelSecret", {**OFF, "SlackBotTokenSecretArn": f"{SECRET}bot"})
    for name in ("AlertDeadLetterQueue", "AlertDeadLetterQueuePolicy"):
        assert template["Resources"][name]["Condition"] == "HasAlertChannelSecret"
    assert template["Outputs"]["AlertDeadLetterQueueUrl"]["Condition"] == "HasAlertChannelSecret"


@pytest.mark.parametrize("function", ["EnforcerFunction", "SweepFunction"])
@pytest.mark.parametrize("channel", ["TeamsWebhookSecretArn", "WebhookSecretArn"])
def test_with_either_channel_the_roles_send_to_the_alert_dlq_only(function: str, channel: str) -> None:
    parameters = {**OFF, channel: f"{SECRET}hook"}
    assert condition_holds("HasAlertChannelSecret", parameters)
    (statement,) = granting(function, "sqs:SendMessage", parameters)
    assert as_list(statement["Action"]) == ["sqs:SendMessage"]
    assert statement["Resource"] == physical_value("AlertDeadLetterQueue", "Arn") == ALERT_DLQ


def test_the_alert_dlq_is_encrypted_kept_14_days_tls_only_and_written_by_iam_guard_only() -> None:
    resources = load_template()["Resources"]
    queue = resources["AlertDeadLetterQueue"]["Properties"]
    assert queue["SqsManagedSseEnabled"] is True
    assert queue["MessageRetentionPeriod"] == 14 * 24 * 3600
    assert physical_value("AlertDeadLetterQueue", "QueueName") == "iam-guard_alert-dlq"
    policy = resources["AlertDeadLetterQueuePolicy"]["Properties"]
    assert policy["Queues"] == [{"Ref": "AlertDeadLetterQueue"}]
    tls, senders = policy["PolicyDocument"]["Statement"]
    assert (tls["Effect"], tls["Principal"], tls["Action"]) == ("Deny", "*", "sqs:*")
    assert tls["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert (senders["Effect"], senders["Principal"], senders["Action"]) == ("Deny", "*", "sqs:SendMessage")
    assert senders["Condition"] == {
        "ArnNotEquals": {
            "aws:PrincipalArn": [
                {"Fn::GetAtt": ["EnforcerRole", "Arn"]},
                {"Fn::GetAtt": ["SweepRole", "Arn"]},
            ]
        }
    }
    output = load_template()["Outputs"]["AlertDeadLetterQueueUrl"]["Value"]
    assert output == {"Ref": "AlertDeadLetterQueue"}
