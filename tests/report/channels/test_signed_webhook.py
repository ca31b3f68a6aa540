"""The signed generic webhook and Teams (issue 25), against receivers on 127.0.0.1 written here.

The receiver verifies the signature with its own ten lines (``verify`` below, the same as in
docs/alerts.md), not with IAM Guard's code: a wrong key, a changed body or an old timestamp is refused.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import boto3
import pytest
from tests.report.channels.conftest import digest, tamper_healed

from cli.main import main
from core.model.alerts import AlertKind, FanOutSink, RecordingSink, Severity
from core.model.errors import DeliveryError, SettingsError
from core.report.webhook import SignedWebhookSink, TeamsWebhookSink, secret_fields

KEY = "whsec-SeCrEt-signing-key-42"
ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:hook"


def verify(headers: Any, body: bytes, signing_key: str, now: float, tolerance: int = 300) -> bool:
    """What a receiver writes: fresh timestamp, then a constant-time compare of the HMAC."""
    timestamp = headers.get("x-iam-guard-timestamp", "")  # header names are case-insensitive
    if not timestamp.isdigit() or abs(now - int(timestamp)) > tolerance:
        return False  # missing, or too old / too far ahead: a replay
    expected = hmac.new(signing_key.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest("sha256=" + expected, headers.get("x-iam-guard-signature", ""))


class Receiver:
    """A loopback HTTP server answering scripted statuses and keeping every request."""

    def __init__(self) -> None:
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.replies: list[tuple[int, dict[str, str]]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                receiver.requests.append(({k.lower(): v for k, v in self.headers.items()}, body))
                status, headers = receiver.replies.pop(0) if receiver.replies else (200, {})
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *_: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/SeCrEtPath"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def hook() -> Iterator[Receiver]:
    receiver = Receiver()
    yield receiver
    receiver.close()


@pytest.fixture
def teams() -> Iterator[Receiver]:
    receiver = Receiver()
    yield receiver
    receiver.close()


def no_wait(_: float) -> None:
    pass


def test_the_envelope_arrives_signed_and_an_independent_receiver_verifies_it(hook: Receiver) -> None:
    SignedWebhookSink(hook.url, KEY).send(tamper_healed())

    ((headers, body),) = hook.requests
    assert headers["content-type"] == "application/json"
    assert verify(headers, body, KEY, time.time())
    envelope = json.loads(body)
    assert envelope["schema"] == "iam-guard.alert.v1"
    assert envelope["alert"]["kind"] == AlertKind.TAMPER_HEALED.value
    # Negative controls: the same request fails with another key, another body, or later.
    assert not verify(headers, body, "another-key", time.time())
    assert not verify(headers, body.replace(b"tamper-healed", b"sweep-digest"), KEY, time.time())
    assert not verify(headers, body, KEY, time.time() + 3600)  # replayed an hour later


def test_the_signature_is_over_timestamp_dot_body(hook: Receiver) -> None:
    SignedWebhookSink(hook.url, KEY, clock=lambda: 1767225600.7).send(tamper_healed())
    ((headers, body),) = hook.requests
    assert headers["x-iam-guard-timestamp"] == "1767225600"
    mac = hmac.new(KEY.encode(), b"1767225600." + body, hashlib.sha256).hexdigest()
    assert headers["x-iam-guard-signature"] == f"sha256={mac}"


def test_server_errors_are_retried_with_backoff_and_each_attempt_is_signed_afresh(hook: Receiver) -> None:
    hook.replies = [(500, {}), (503, {})]
    ticks = iter([1000, 1007, 1020])
    waits: list[float] = []
    SignedWebhookSink(hook.url, KEY, clock=lambda: next(ticks), sleep=waits.append).send(tamper_healed())

    assert [h["x-iam-guard-timestamp"] for h, _ in hook.requests] == ["1000", "1007", "1020"]
    assert all(verify(h, b, KEY, int(h["x-iam-guard-timestamp"])) for h, b in hook.requests)
    assert len(waits) == 2
    assert 0.25 <= waits[0] <= 0.5  # base 0.5 s, jittered to 50-100 %
    assert 0.5 <= waits[1] <= 1.0  # doubled


def test_429_waits_retry_after(hook: Receiver) -> None:
    hook.replies = [(429, {"Retry-After": "3"})]
    waits: list[float] = []
    SignedWebhookSink(hook.url, KEY, sleep=waits.append).send(tamper_healed())
    assert waits == [3.0]
    assert len(hook.requests) == 2


def test_a_client_error_fails_at_once_without_the_url_or_the_key(
    hook: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    hook.replies = [(404, {})]
    caplog.set_level(logging.DEBUG)
    with pytest.raises(DeliveryError) as caught:
        SignedWebhookSink(hook.url, KEY, sleep=no_wait).send(tamper_healed())
    assert "HTTP 404" in str(caught.value)
    assert len(hook.requests) == 1
    for text in (str(caught.value), caplog.text, repr(SignedWebhookSink(hook.url, KEY))):
        assert "SeCrEt" not in text


def test_an_unreachable_webhook_fails_after_the_retries(hook: Receiver) -> None:
    url = hook.url
    hook.close()
    waits: list[float] = []
    with pytest.raises(DeliveryError, match="unreachable") as caught:
        SignedWebhookSink(url, KEY, sleep=waits.append).send(tamper_healed())
    assert len(waits) == 3
    assert "SeCrEt" not in str(caught.value)


def test_teams_gets_an_adaptive_card_with_the_same_content(teams: Receiver) -> None:
    TeamsWebhookSink(teams.url).send(digest(3))
    ((headers, body),) = teams.requests
    message = json.loads(body)
    assert message["type"] == "message"
    (attachment,) = message["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    card = attachment["content"]
    assert card["type"] == "AdaptiveCard"
    text = json.dumps(card)
    assert "IAM Guard HIGH: IAM sweep: 3 need attention" in text
    assert all(f"u{i:05d}" in text for i in range(3))
    assert "Ask the user to register an MFA device" in text  # what to do
    assert "x-iam-guard-signature" not in headers


def test_routing_by_severity_per_channel(hook: Receiver, teams: Receiver) -> None:
    sink = FanOutSink(
        [SignedWebhookSink(hook.url, KEY), TeamsWebhookSink(teams.url, min_severity=Severity.HIGH)]
    )
    sink.send(digest(0))  # info
    sink.send(tamper_healed())  # high
    assert len(hook.requests) == 2
    assert len(teams.requests) == 1


def test_a_failing_channel_does_not_stop_the_others_and_is_reported(hook: Receiver, teams: Receiver) -> None:
    hook.replies = [(410, {})]
    recorder = RecordingSink()
    with pytest.raises(DeliveryError, match="webhook delivery failed"):
        FanOutSink(
            [SignedWebhookSink(hook.url, KEY, sleep=no_wait), TeamsWebhookSink(teams.url), recorder]
        ).send(tamper_healed())
    assert len(teams.requests) == 1
    assert len(recorder.alerts) == 1


@pytest.mark.parametrize(
    "value", ["not json", '{"url": "https://example.com/h"}', '{"url": 5, "signing_key": "k"}', "[]"]
)
def test_a_bad_webhook_secret_is_one_line_without_its_value(value: str) -> None:
    with pytest.raises(SettingsError) as caught:
        secret_fields(ARN, ("url", "signing_key"), "a webhook", fetch=lambda _arn, _age: value)
    assert "is not a webhook JSON" in str(caught.value)
    assert "example.com" not in str(caught.value)


def test_a_plain_http_url_to_another_host_is_refused() -> None:
    with pytest.raises(SettingsError, match="not an https:// URL"):
        SignedWebhookSink("http://hooks.example.com/SeCrEt", KEY)
    with pytest.raises(SettingsError, match="no signing_key"):
        SignedWebhookSink("https://hooks.example.com/x", "")


def test_audit_sends_its_digest_to_the_webhook_and_teams_from_their_secrets(
    hook: Receiver,
    teams: Receiver,
    account_with_a_user_without_mfa: None,
    capsys: pytest.CaptureFixture[str],
) -> None:
    secrets = boto3.client("secretsmanager", region_name="us-east-1")
    webhook_arn = secrets.create_secret(
        Name="iam-guard/webhook", SecretString=json.dumps({"url": hook.url, "signing_key": KEY})
    )["ARN"]
    teams_arn = secrets.create_secret(Name="iam-guard/teams", SecretString=json.dumps({"url": teams.url}))[
        "ARN"
    ]

    code = main(
        ["audit", "--dry-run", "--format", "json", "--webhook-secret-arn", webhook_arn,
         "--teams-webhook-secret-arn", teams_arn, "--teams-min-severity", "high"]
    )  # fmt: skip
    out, err = capsys.readouterr()

    assert code == 0, err
    ((headers, body),) = hook.requests
    assert verify(headers, body, KEY, time.time())
    assert json.loads(body)["alert"]["kind"] == "sweep-digest"
    assert "hanako" in body.decode()
    assert len(teams.requests) == 1  # the digest is high: hanako has no MFA
    assert "SeCrEt" not in out + err
    assert KEY not in out + err


def test_audit_with_an_unreadable_secret_exits_2_with_one_line(
    account_with_a_user_without_mfa: None, capsys: pytest.CaptureFixture[str]
) -> None:
    secrets = boto3.client("secretsmanager", region_name="us-east-1")
    arn = secrets.create_secret(Name="iam-guard/bad", SecretString="https://hooks.example.com/SeCrEt")["ARN"]
    code = main(["audit", "--dry-run", "--webhook-secret-arn", arn])
    out, err = capsys.readouterr()
    assert code == 2
    assert out == ""
    assert len(err.strip().splitlines()) == 1
    assert "SeCrEt" not in err
