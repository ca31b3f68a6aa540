"""The call budget on a large account, and the scheduled Lambda handler."""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from tests.conftest import load_event
from tests.harness.large_account import fido_only, seed_iam_backend, totp_reads
from tests.harness.metrics import EmittedMetrics
from tests.sweep.conftest import GROUP, Account, make_settings, sweep_handler_env

from core.model.alerts import AlertKind, RecordingSink
from core.model.errors import DeliveryError, InvalidEventError
from core.model.findings import ACCESS_KEY_WITHOUT_MFA, CLI_USER_WITHOUT_TOTP, CONSOLE_WITHOUT_MFA
from demo.lambda_context import FakeLambdaContext

pytestmark = pytest.mark.slow  # a 1,000-user emulated account

N = 5000
ACCOUNT_ID = "123456789012"


def test_call_budget_on_a_large_account(account: Account) -> None:
    seed_iam_backend(N, GROUP)
    account.freeze_report()
    late = ["late-1", "late-2", "late-3"]
    for name in late:  # created after the report: the only per-user reads
        account.user(name, keys=1)
    remediated = ["user00007", "user00014"]  # keys, no MFA: re-checked then deactivated (1 key each)
    past_grace = datetime.now(UTC) + timedelta(days=8)

    # Remediation of just two users: let every other key holder without MFA be exempt by listing them.
    # Key holders whose MFA only the report shows (a FIDO key, a hardware token) stay guarded: one
    # ListMFADevices each tells a TOTP device from passkeys and security keys.
    with_report_mfa = {f"user{i:05d}" for i in range(N) if i % 21 != 0 and (i % 35 == 0 or i % 49 == 0)}
    assert len(with_report_mfa) == totp_reads(N)
    holders = {f"user{i:05d}" for i in range(N) if i % 7 == 0 and i % 3 != 0} | set(late)
    exempt = holders - set(remediated) - with_report_mfa
    settings = make_settings(remediate=True, exempt_users=frozenset(exempt))
    result = account.sweep(settings, now=past_grace)

    calls = account.counter.calls
    budget = 10 + 3 * math.ceil((N + len(late)) / 1000)
    per_user = {"iam:GetLoginProfile", "iam:ListAccessKeys", "iam:ListMFADevices", "iam:UpdateAccessKey"}
    fixed = sum(n for op, n in calls.items() if op not in per_user)
    assert fixed <= budget, calls
    assert calls["iam:GetLoginProfile"] == len(late)
    assert calls["iam:ListMFADevices"] == len(late) + len(remediated) + totp_reads(N)
    assert calls["iam:ListAccessKeys"] == len(late) + len(remediated)
    assert calls["iam:UpdateAccessKey"] == len(remediated)
    assert account.counter.total <= budget + 3 * len(late) + 3 * len(remediated) + totp_reads(N)

    found = {(f.user, f.finding): f.status for f in result.findings}
    assert result.users_scanned == N + len(late)
    assert found[("user00007", ACCESS_KEY_WITHOUT_MFA)] == "remediated"
    assert ("user00021", ACCESS_KEY_WITHOUT_MFA) not in found  # key and MFA
    without_totp = {f.user for f in result.findings if f.finding == CLI_USER_WITHOUT_TOTP}
    assert without_totp == set(fido_only(N))  # hardware tokens (user00049...) give a code
    assert found[("user00010", CONSOLE_WITHOUT_MFA)] == "violation"
    consoles = [f for f in result.findings if f.finding == CONSOLE_WITHOUT_MFA]
    # every tenth user has a password; those with i % 21 == 0 have MFA; exempt key holders are not counted
    expected = [
        i
        for i in range(N)
        if i % 10 == 0
        and i % 21 != 0
        and f"user{i:05d}" not in settings.exempt_users
        and f"user{i:05d}" not in with_report_mfa
    ]
    assert len(consoles) == len(expected)


# --- the handler -----------------------------------------------------------------------------------


@pytest.fixture
def handler_env(
    monkeypatch: pytest.MonkeyPatch, account: Account, lambda_metrics: EmittedMetrics
) -> Iterator[RecordingSink]:
    from handlers import common

    yield sweep_handler_env(monkeypatch, account)
    common.reset_caches()


def test_scheduled_event_runs_one_sweep(handler_env: RecordingSink, account: Account) -> None:
    from handlers.sweep import lambda_handler

    account.user("console", password=True)
    account.user("outsider", password=True, virtual_mfa=True, in_group=False)
    event = load_event("sweep-schedule.json")
    out = lambda_handler(event, FakeLambdaContext("iam-guard-sweep"))
    assert out["counts"][CONSOLE_WITHOUT_MFA] == 1
    assert out["status_counts"]["enrolled"] == 1
    assert GROUP in account.groups_of("outsider")
    assert out["report_generated_at"]
    (digest,) = handler_env.alerts
    assert digest.kind is AlertKind.SWEEP_DIGEST
    assert digest.account_id == event["account"]


@pytest.mark.filterwarnings("ignore:No application metrics")  # refused before any metric: expected
@pytest.mark.parametrize(
    "change",
    [
        {"detail-type": "AWS API Call via CloudTrail"},
        {"source": "aws.iam"},
        {"account": "not-an-account"},
    ],
)
def test_other_events_are_refused_before_any_call(
    handler_env: RecordingSink, account: Account, change: dict[str, str]
) -> None:
    from handlers.sweep import lambda_handler

    account.counter.reset()
    with pytest.raises(InvalidEventError, match="not an EventBridge scheduled event"):
        lambda_handler({**load_event("sweep-schedule.json"), **change}, FakeLambdaContext("iam-guard-sweep"))
    assert account.counter.total == 0
    assert handler_env.alerts == []


def test_an_undelivered_digest_fails_the_invocation_after_the_sweep_did_its_work(
    handler_env: RecordingSink,
    account: Account,
    monkeypatch: pytest.MonkeyPatch,
    lambda_metrics: EmittedMetrics,
) -> None:
    """The alert topic answers NotFound (deleted by hand): the sweep still enrols, then the invocation
    fails so that Lambda counts an error (SweepErrorsAlarm) and retries."""
    from handlers import common
    from handlers.sweep import lambda_handler

    monkeypatch.setenv("IAM_GUARD_SNS_TOPIC_ARN", "arn:aws:sns:us-east-1:123456789012:iam-guard-AlertTopic")
    common.reset_caches()
    monkeypatch.setattr("handlers.sweep.alert_sink", common.alert_sink)  # the real sink: SNS, no topic there
    account.user("outsider", password=True, virtual_mfa=True, in_group=False)

    with pytest.raises(DeliveryError, match="alert not delivered to SNS: Publish failed: NotFound"):
        lambda_handler(load_event("sweep-schedule.json"), FakeLambdaContext("iam-guard-sweep"))

    assert GROUP in account.groups_of("outsider")  # the work was done before the delivery failed
    assert lambda_metrics.total("SweepFindings") >= 1  # and counted


def test_a_digest_the_webhook_refuses_is_dead_lettered_and_the_topic_still_gets_it(
    handler_env: RecordingSink,
    account: Account,
    monkeypatch: pytest.MonkeyPatch,
    lambda_metrics: EmittedMetrics,
) -> None:
    """The sweep as the stack runs it, its webhook answering 500 to every attempt: the topic gets the
    digest, the stack's alert DLQ its envelope, and the invocation fails with the webhook's line."""
    import json

    import boto3
    from tests.report.channels.test_signed_webhook import KEY, Receiver

    from core.report.webhook import SignedWebhookSink
    from handlers import common
    from handlers.sweep import lambda_handler

    defaults = dict(SignedWebhookSink.__init__.__kwdefaults__ or {})
    monkeypatch.setattr(SignedWebhookSink.__init__, "__kwdefaults__", {**defaults, "sleep": lambda _: None})
    sqs = boto3.client("sqs", region_name="us-east-1")
    sns = boto3.client("sns", region_name="us-east-1")
    topic = sns.create_topic(Name="iam-guard_alerts")["TopicArn"]
    inbox = sqs.create_queue(QueueName="inbox")["QueueUrl"]
    inbox_arn = sqs.get_queue_attributes(QueueUrl=inbox, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=inbox_arn)
    dlq = sqs.create_queue(QueueName="iam-guard_alert-dlq")["QueueUrl"]
    hook = Receiver()
    hook.replies = [(500, {})] * 4
    secret = boto3.client("secretsmanager", region_name="us-east-1").create_secret(
        Name="iam-guard/webhook", SecretString=json.dumps({"url": hook.url, "signing_key": KEY})
    )["ARN"]
    for name, value in {
        "IAM_GUARD_SNS_TOPIC_ARN": topic,
        "IAM_GUARD_WEBHOOK_SECRET_ARN": secret,
        "IAM_GUARD_ALERT_DLQ_URL": dlq,
    }.items():
        monkeypatch.setenv(name, value)
    common.reset_caches()
    monkeypatch.setattr("handlers.sweep.alert_sink", common.channel_sink)  # the stack's sink
    account.user("console", password=True)
    try:
        with pytest.raises(DeliveryError, match=r"^webhook delivery failed after 4 attempt\(s\): HTTP 500$"):
            lambda_handler(load_event("sweep-schedule.json"), FakeLambdaContext("iam-guard-sweep"))
    finally:
        hook.close()

    assert len(sqs.receive_message(QueueUrl=inbox, MaxNumberOfMessages=10).get("Messages", [])) == 1
    (message,) = sqs.receive_message(QueueUrl=dlq, MaxNumberOfMessages=10)["Messages"]
    record = json.loads(message["Body"])
    assert (record["channel"], record["alert"]["kind"]) == ("webhook", "sweep-digest")
    assert "console" in message["Body"]
    assert KEY not in message["Body"]
    assert "SeCrEt" not in message["Body"]
