"""The demo's own pure parts: CloudTrail events as CloudTrail writes them, SNS's Lambda variant, Slack
preview. No network."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from core.enforce.commands import EnrolUser
from core.enforce.events import parse_event
from core.enforce.routes import command_for
from core.model.settings import build_settings
from demo.cloudtrail import cloudtrail_event, cloudtrail_fields, load_sample
from demo.report import slack_preview
from demo.sns_lambda import lambda_text

SETTINGS = build_settings(allowed_cidrs=("203.0.113.0/24",))


def test_a_self_created_key_event_carries_no_secret_and_names_its_owner() -> None:
    response = {
        "AccessKey": {
            "UserName": "bob",
            "AccessKeyId": "AKIAEXAMPLEBOB000001",
            "Status": "Active",
            "SecretAccessKey": "never-in-cloudtrail",
            "CreateDate": datetime(2026, 3, 2, 9, 5, 7, tzinfo=UTC),
        },
        "ResponseMetadata": {"RequestId": "x"},
    }

    event = cloudtrail_event(
        load_sample("enforcer-create-access-key-self.json"), actor="bob", request=None, response=response
    )

    detail = event["detail"]
    assert detail["requestParameters"] is None
    assert detail["responseElements"] == {
        "accessKey": {
            "userName": "bob",
            "accessKeyId": "AKIAEXAMPLEBOB000001",
            "status": "Active",
            "createDate": "Mar 2, 2026, 9:05:07 AM",
        }
    }
    assert "never-in-cloudtrail" not in json.dumps(event)
    command = command_for(parse_event(event), SETTINGS)
    assert isinstance(command, EnrolUser)
    assert command.user_name == "bob"


def test_request_tags_keep_their_values_in_cloudtrail_case() -> None:
    fields = cloudtrail_fields({"UserName": "carol", "Tags": [{"Key": "iam-guard:exempt", "Value": "true"}]})

    assert fields == {"userName": "carol", "tags": [{"key": "iam-guard:exempt", "value": "true"}]}


def test_a_lambda_subscriber_gets_the_lambda_variant_of_a_structured_message() -> None:
    structured = {"default": "text for people", "email": "text for people", "lambda": '{"schema": 1}'}

    assert lambda_text({"Message": json.dumps(structured), "MessageStructure": "json"}) == '{"schema": 1}'
    assert lambda_text({"Message": "plain"}) == "plain"


def test_the_slack_preview_shows_link_text_and_fields() -> None:
    payload = {
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": "Tampering undone"}},
            {
                "type": "section",
                "text": {
                    "type": "mrkdwn",
                    "text": "*<https://console.example/users/alice|alice>* put back (v2 -&gt; v1)",
                },
                "fields": [{"type": "mrkdwn", "text": "*Actor*"}],
            },
            {"type": "divider"},
            {"type": "context", "elements": [{"type": "mrkdwn", "text": "IAM Guard"}]},
        ]
    }

    assert slack_preview(payload) == [
        "Tampering undone",
        "*alice* put back (v2 -> v1)",
        "*Actor*",
        "-" * 40,
        "IAM Guard",
    ]
