"""The deployed sweep sends the owners' notifications: the sweep handler with template.yaml's
environment on the moto server, the stack's table, SES, Secrets Manager, and loopback stand-ins for the
Slack Web API, the signed webhook and Teams.

The clock: each sweep runs now, for a user made older by moving its creation date in the emulator (as
if the days had passed), so the deadline is 7, 3 and 1 days ahead and then past. moto has no
``sesv2:GetAccount`` and marks no identity verified: the test answers both on the functions' session
(the SES sandbox, the sender and one owner verified), as tests/sweep/test_send_notifications.py does.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote

import boto3
import pytest
from moto.iam.models import iam_backends
from tests.e2e.conftest import ACCOUNT, Stack
from tests.harness.answers import HttpAnswer
from tests.sweep.test_send_notifications import TOKEN, SlackApi

from core.model.errors import DeliveryError

pytestmark = pytest.mark.e2e
SENDER = "iam-guard@example.com"
TABLE = "iam-guard_notifications"
SIGNING_KEY = "whsec-SeCrEt-signing-key"
SCHEDULE = {
    "version": "0",
    "id": "5e0c7a51-0d5b-4b25-bd64-000000000001",
    "detail-type": "Scheduled Event",
    "source": "aws.events",
    "account": ACCOUNT,
    "time": "2026-12-07T06:00:00Z",
    "region": "us-east-1",
    "resources": [],
    "detail": {},
}


class Receiver:
    """POSTs on 127.0.0.1: each (headers, body) kept, every answer ``status``."""

    def __init__(self, status: int) -> None:
        self.requests: list[tuple[dict[str, str], bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                receiver.requests.append(({k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *_: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def verified(headers: dict[str, str], body: bytes) -> bool:
    """An independent receiver's check (docs/alerts.md): timestamp fresh, HMAC-SHA256 over ts.body."""
    timestamp = headers.get("x-iam-guard-timestamp", "")
    if not timestamp.isdigit() or abs(datetime.now(UTC).timestamp() - int(timestamp)) > 300:
        return False
    mac = hmac.new(SIGNING_KEY.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return hmac.compare_digest("sha256=" + mac.hexdigest(), headers.get("x-iam-guard-signature", ""))


@pytest.fixture
def channels(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[SlackApi, Receiver, Receiver]]:
    people = stack.people
    people.client("dynamodb").create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    sesv2 = people.client("sesv2")
    for identity in (SENDER, "ci-team@example.com"):
        sesv2.create_email_identity(EmailIdentity=identity)
    slack, webhook, teams = SlackApi(), Receiver(200), Receiver(403)
    secrets = people.client("secretsmanager")

    def secret(name: str, value: dict[str, str]) -> str:
        return str(secrets.create_secret(Name=name, SecretString=json.dumps(value))["ARN"])

    stack.parameters.update(
        {
            "GraceDays": "7",
            "DryRun": "false",
            "Remediate": "true",
            "OwnerEmailSender": SENDER,
            "SlackBotTokenSecretArn": secret("iam-guard/slack-bot", {"token": TOKEN}),
            "WebhookSecretArn": secret("iam-guard/webhook", {"url": webhook.url, "signing_key": SIGNING_KEY}),
            "TeamsWebhookSecretArn": secret("iam-guard/teams", {"url": teams.url}),
        }
    )
    monkeypatch.setenv("IAM_GUARD_SLACK_API_URL", slack.url)
    sandbox(boto3.DEFAULT_SESSION, verified_identities={SENDER, "ci-team@example.com"})
    try:
        yield slack, webhook, teams
    finally:
        for server in (slack, webhook, teams):
            server.close()


def sandbox(session: Any, verified_identities: set[str]) -> None:
    """SES as a sandboxed account answers (moto implements neither answer)."""

    def get_account(**_: Any) -> tuple[Any, dict[str, Any]]:
        return HttpAnswer(), {"ProductionAccessEnabled": False, "SendingEnabled": True}

    def get_identity(params: dict[str, Any], **_: Any) -> tuple[Any, dict[str, Any]]:
        identity = unquote(params["url_path"].rsplit("/", 1)[-1])
        return HttpAnswer(), {"VerifiedForSendingStatus": identity in verified_identities}

    session.events.register("before-call.sesv2.GetAccount", get_account)
    session.events.register("before-call.sesv2.GetEmailIdentity", get_identity)


def age(user: str, days: float) -> None:
    """Make ``user`` (and its keys) ``days`` old in the emulator: the days have passed."""
    moment = datetime.now(UTC).replace(tzinfo=None) - timedelta(days=days, minutes=1)
    found = iam_backends[ACCOUNT]["global"].users[user]
    found.create_date = moment
    for key in found.access_keys:
        key.create_date = moment


def sweep(stack: Stack) -> str:
    """One scheduled sweep; Teams answers 403, so the invocation fails naming that channel alone."""
    with pytest.raises(DeliveryError) as failed:
        stack.invoke("SweepFunction", SCHEDULE)
    return str(failed.value)


def test_the_deployed_sweep_warns_at_7_3_1_days_and_at_action_each_once(
    stack: Stack, iam: Any, channels: tuple[SlackApi, Receiver, Receiver]
) -> None:
    slack, webhook, teams = channels
    stack.deploy()
    iam.create_user(
        UserName="robot", Tags=[{"Key": "iam-guard:owner", "Value": "ci-team@example.com U012AB3CD"}]
    )
    iam.create_access_key(UserName="robot")
    iam.create_user(UserName="bob", Tags=[{"Key": "iam-guard:owner", "Value": "bob@example.com"}])
    iam.create_login_profile(UserName="bob", Password="Correct-Horse-9-Battery")
    for user in ("robot", "bob"):
        iam.add_user_to_group(GroupName="IAMGuardSecuredUsers", UserName=user)

    failures = []
    for day in (0, 1, 4, 5, 6, 6.5, 7.01, 8):
        age("robot", day)
        failures.append(sweep(stack))

    # Slack: one direct message per stage, though the sweep ran 8 times
    texts = [p["text"] for p in slack.posts if p["channel"] == "U012AB3CD"]
    assert len(texts) == 4
    assert [t.split(" of robot")[0] for t in texts] == [
        "*IAM Guard will deactivate",
        "*IAM Guard will deactivate",
        "*IAM Guard will deactivate",
        "*IAM Guard deactivated the access keys",
    ]
    assert "in 6 days 23 hours" in texts[0]
    assert "in 2 days 23 hours" in texts[1]
    assert "in 23 hours" in texts[2]
    assert slack.auth[0] == f"Bearer {TOKEN}"
    # e-mail: the verified owner got the same four, from the sender; bob's address is not verified
    from moto.ses.models import ses_backends

    mails = list(ses_backends[ACCOUNT]["us-east-1"].sent_messages)
    to_robot = [m for m in mails if m.destinations["ToAddresses"] == ["ci-team@example.com"]]
    assert len(to_robot) == 4
    assert {m.source for m in mails} == {SENDER}
    assert not [m for m in mails if "bob@example.com" in m.destinations["ToAddresses"]]
    assert [k["Status"] for k in iam.list_access_keys(UserName="robot")["AccessKeyMetadata"]] == ["Inactive"]

    # the digest, on the signed webhook: what was sent to whom, and what was not and why
    assert webhook.requests
    assert all(verified(h, b) for h, b in webhook.requests)
    digests = [json.loads(b)["alert"] for _, b in webhook.requests]
    details = [item for alert in digests for item in json.dumps(alert).split('"') if "sent to" in item]
    assert any("sent to ci-team@example.com (email): robot" in d for d in details)
    assert any("NOT sent to bob@example.com (email): bob" in d and "SES sandbox" in d for d in details)
    # Teams failed every time, and said so in one line; the other channels went on regardless
    assert teams.requests
    assert all("Teams webhook delivery failed" in f and "HTTP 403" in f for f in failures)
    everything = (
        json.dumps(slack.posts) + "".join(b.decode() for _, b in webhook.requests) + "".join(failures)
    )
    assert TOKEN not in everything
    assert SIGNING_KEY not in everything


def test_the_enforcers_alerts_reach_the_webhook_and_teams_by_severity(
    stack: Stack, iam: Any, channels: tuple[SlackApi, Receiver, Receiver]
) -> None:
    from tests.e2e.test_promises import create_user

    _, webhook, teams = channels
    stack.parameters["TeamsMinSeverity"] = "critical"  # Teams (which would answer 403) gets none of these
    stack.deploy()

    create_user(stack, iam, "alice")  # the enforcer enrols her and alerts

    alerts = [json.loads(b)["alert"] for _, b in webhook.requests]
    assert alerts
    assert all(verified(h, b) for h, b in webhook.requests)
    assert all(a["severity"] < 50 for a in alerts)  # none critical
    assert teams.requests == []


def test_without_a_table_setting_the_function_reads_the_stacks_own(stack: Stack) -> None:
    env = stack.environment("SweepFunction")
    assert env["IAM_GUARD_NOTIFICATIONS_TABLE"] == TABLE
    assert env["IAM_GUARD_OWNER_EMAIL_SENDER"] == ""  # off unless OwnerEmailSender is given
