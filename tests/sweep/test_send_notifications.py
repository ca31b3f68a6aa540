"""Sending owners' notifications, each stage once (issue 25): moto's DynamoDB, SES and Secrets Manager,
and a Slack Web API stand-in on 127.0.0.1.

moto has no ``sesv2:GetAccount`` and does not refuse unverified recipients the way the SES sandbox does:
the tests answer ``GetAccount`` through a botocore hook, and IAM Guard checks recipients itself
(``GetEmailIdentity``) before sending in the sandbox, so what is proven is IAM Guard's side.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote

import boto3
import pytest
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends
from tests.harness.answers import HttpAnswer
from tests.sweep.conftest import Account, make_settings
from tests.sweep.test_owner_notifications import created

from core.aws.notification_state import NotificationStateGateway
from core.aws.ses import SesGateway
from core.model.alerts import AlertKind
from core.model.settings import Settings
from core.report.slack_bot import SlackBotSender
from core.sweep.owner_delivery import SANDBOX, OwnerChannels, send_notifications
from core.sweep.result import SweepResult
from core.sweep.run import run_sweep

OWNER = "iam-guard:owner"
SENDER = "iam-guard@example.com"
TABLE = "iam-guard_notifications"
TOKEN = "xoxb-SeCrEt-bot-token"


class SlackApi:
    """chat.postMessage on 127.0.0.1: records each DM, answers scripted (status, headers, body)."""

    def __init__(self) -> None:
        self.posts: list[dict[str, Any]] = []
        self.auth: list[str] = []
        self.replies: list[tuple[int, dict[str, str], dict[str, Any]]] = []
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
                if "json" in (self.headers.get("Content-Type") or ""):
                    data = json.loads(raw)
                else:
                    data = {k: v[0] for k, v in parse_qs(raw).items()}
                api.auth.append(self.headers.get("Authorization", ""))
                status, headers, body = api.replies.pop(0) if api.replies else (200, {}, {"ok": True})
                if status == 200 and body.get("ok"):
                    api.posts.append(data)
                payload = json.dumps(body).encode()
                self.send_response(status)
                for k, v in {"Content-Type": "application/json", **headers}.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *_: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/api/"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def slack_api() -> Iterator[SlackApi]:
    api = SlackApi()
    yield api
    api.close()


def table() -> NotificationStateGateway:
    dynamodb = boto3.client("dynamodb", region_name="us-east-1")
    dynamodb.create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    return NotificationStateGateway(TABLE, dynamodb)


def ses(production: bool, verified: tuple[str, ...] = ()) -> SesGateway:
    client = boto3.client("sesv2", region_name="us-east-1")
    for identity in (SENDER, *verified):
        client.create_email_identity(EmailIdentity=identity)
    verified_set = {SENDER, *verified}

    def get_account(**_: Any) -> tuple[Any, dict[str, Any]]:
        return HttpAnswer(), {"ProductionAccessEnabled": production, "SendingEnabled": True}

    def get_identity(params: dict[str, Any], **_: Any) -> tuple[Any, dict[str, Any]]:
        # moto reports no identity as verified; ours are, as after clicking the SES link
        identity = unquote(params["url_path"].rsplit("/", 1)[-1])  # GET /v2/email/identities/{EmailIdentity}
        return HttpAnswer(), {"VerifiedForSendingStatus": identity in verified_set}

    client.meta.events.register("before-call.sesv2.GetAccount", get_account)
    client.meta.events.register("before-call.sesv2.GetEmailIdentity", get_identity)
    return SesGateway(client)


def mails() -> list[Any]:
    return list(ses_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].sent_messages)


def sweeper(account: Account, channels: OwnerChannels, state: NotificationStateGateway):  # type: ignore[no-untyped-def]
    def run(settings: Settings, now: datetime) -> SweepResult:
        return run_sweep(
            account.gateway,
            account.sink,
            settings,
            now=now,
            sleep=lambda _: None,
            send_owner_notifications=lambda notes, acct, at: send_notifications(
                notes, state, channels, account_id=acct, now=at
            ),
        )

    return run


def test_each_stage_reaches_the_owner_once_across_daily_sweeps(account: Account, slack_api: SlackApi) -> None:
    account.user("robot", keys=1, tags={OWNER: "ci-team@example.com U012AB3CD"})
    start = created(account, "robot")
    channels = OwnerChannels(SENDER, ses(production=True), SlackBotSender(TOKEN, base_url=slack_api.url))
    sweep = sweeper(account, channels, table())
    settings = make_settings(grace_days=7, remediate=True)

    for day in (0, 1, 2, 4, 5, 6, 6.5, 7.01, 8, 9):
        sweep(settings, start + timedelta(days=day, minutes=1))

    subjects = [m.subject for m in mails() if m.destinations["ToAddresses"] == ["ci-team@example.com"]]
    assert len(subjects) == 4
    assert [s.split(" of robot")[0] for s in subjects] == [
        "IAM Guard will deactivate",
        "IAM Guard will deactivate",
        "IAM Guard will deactivate",
        "IAM Guard deactivated the access keys",
    ]
    assert [p["channel"] for p in slack_api.posts] == ["U012AB3CD"] * 4
    assert "in 6 days 23 hours" in slack_api.posts[0]["text"]  # the 7-day warning
    assert "in 2 days 23 hours" in slack_api.posts[1]["text"]
    assert "in 23 hours" in slack_api.posts[2]["text"]
    assert slack_api.auth[0] == f"Bearer {TOKEN}"
    assert account.key_statuses("robot") == ["Inactive"]


def test_the_digest_says_what_was_sent_to_whom_and_what_not_and_why(account: Account) -> None:
    account.user("alice", password=True, tags={OWNER: "alice@example.com U0ALICE01"})
    account.user("bob", password=True, tags={OWNER: "bob@example.com"})
    channels = OwnerChannels(SENDER, ses(production=False, verified=("alice@example.com",)), slack=None)
    result = sweeper(account, channels, table())(make_settings(grace_days=0), datetime.now(UTC))

    fate = {(d.notification.owner, d.status): d.reason for d in result.deliveries or ()}
    assert fate == {
        ("alice@example.com", "sent"): "",
        ("U0ALICE01", "not-sent"): "Slack direct messages are off (no SlackBotTokenSecretArn)",
        ("bob@example.com", "not-sent"): SANDBOX,
    }
    assert [m.destinations["ToAddresses"] for m in mails()] == [["alice@example.com"]]
    (digest,) = [a for a in account.sink.alerts if a.kind == AlertKind.SWEEP_DIGEST]
    line = dict(digest.details)["owner_notifications"]
    assert line.startswith("1 sent, 2 not sent, 0 already sent before")
    assert "sent to alice@example.com (email): alice console-without-mfa notice" in line
    assert "NOT sent to bob@example.com (email): bob console-without-mfa notice: SES sandbox" in line


def test_in_the_sandbox_an_unverified_owner_is_never_retried_in_a_loop(account: Account) -> None:
    account.user("bob", password=True, tags={OWNER: "bob@example.com"})
    sends: list[str] = []
    gateway = ses(production=False)
    gateway.client.meta.events.register("before-call.sesv2.SendEmail", lambda **_: sends.append("x"))
    sweep = sweeper(account, OwnerChannels(SENDER, gateway), table())
    for _ in range(3):
        result = sweep(make_settings(grace_days=0), datetime.now(UTC))
        assert [(d.status, d.reason) for d in result.deliveries or ()] == [("not-sent", SANDBOX)]
    assert sends == []  # never attempted: SES would refuse it


def test_a_failing_channel_does_not_stop_the_others_and_is_reported(
    account: Account, slack_api: SlackApi
) -> None:
    account.user("alice", password=True, tags={OWNER: "alice@example.com U0ALICE01"})
    slack_api.replies = [(200, {}, {"ok": False, "error": "channel_not_found"})]
    channels = OwnerChannels(SENDER, ses(production=True), SlackBotSender(TOKEN, base_url=slack_api.url))
    sweep = sweeper(account, channels, table())
    result = sweep(make_settings(grace_days=0), datetime.now(UTC))

    fate = {d.notification.channel: d for d in result.deliveries or ()}
    assert fate["email"].status == "sent"
    assert fate["slack"].failed
    assert "channel_not_found" in fate["slack"].reason
    assert TOKEN not in fate["slack"].reason
    # The stage reached the owner by e-mail, so it stays recorded: the next sweep sends nothing new.
    again = sweep(make_settings(grace_days=0), datetime.now(UTC))
    assert {d.status for d in again.deliveries or ()} == {"already-sent"}


def test_a_stage_no_contact_received_is_tried_again_next_sweep(account: Account, slack_api: SlackApi) -> None:
    account.user("alice", password=True, tags={OWNER: "U0ALICE01"})
    slack_api.replies = [(200, {}, {"ok": False, "error": "invalid_auth"})]
    sweep = sweeper(account, OwnerChannels(slack=SlackBotSender(TOKEN, base_url=slack_api.url)), table())
    first = sweep(make_settings(grace_days=0), datetime.now(UTC))
    assert [d.status for d in first.deliveries or ()] == ["not-sent"]
    second = sweep(make_settings(grace_days=0), datetime.now(UTC))
    assert [d.status for d in second.deliveries or ()] == ["sent"]
    assert len(slack_api.posts) == 1


def test_slack_rate_limits_are_honoured(account: Account, slack_api: SlackApi) -> None:
    account.user("alice", password=True, tags={OWNER: "U0ALICE01"})
    slack_api.replies = [(429, {"Retry-After": "1"}, {"ok": False, "error": "ratelimited"})]
    sweep = sweeper(account, OwnerChannels(slack=SlackBotSender(TOKEN, base_url=slack_api.url)), table())
    result = sweep(make_settings(grace_days=0), datetime.now(UTC))
    assert [d.status for d in result.deliveries or ()] == ["sent"]
    assert len(slack_api.auth) == 2  # the 429, then the retry after Retry-After


def test_no_stage_for_a_deadline_with_no_planned_action(account: Account) -> None:
    account.user("robot", keys=1, tags={OWNER: "ci-team@example.com"})
    start = created(account, "robot")
    sweep = sweeper(account, OwnerChannels(SENDER, ses(production=True)), table())
    for day in (0, 4, 6, 8):
        sweep(make_settings(grace_days=7), start + timedelta(days=day))
    assert [m.subject for m in mails()] == ["IAM Guard notice: access-key-without-mfa on robot"]


def test_an_unreachable_state_table_is_reported_and_the_sweep_goes_on(
    account: Account, slack_api: SlackApi
) -> None:
    account.user("alice", password=True, tags={OWNER: "U0ALICE01"})
    missing = NotificationStateGateway("no-such-table", boto3.client("dynamodb", region_name="us-east-1"))
    sweep = sweeper(account, OwnerChannels(slack=SlackBotSender(TOKEN, base_url=slack_api.url)), missing)
    result = sweep(make_settings(grace_days=0), datetime.now(UTC))
    (delivery,) = result.deliveries or ()
    assert delivery.failed
    assert "PutItem failed" in delivery.reason
    assert slack_api.posts == []  # never sent unrecorded: it could not be sent only once
    assert any(a.kind == AlertKind.SWEEP_DIGEST for a in account.sink.alerts)
