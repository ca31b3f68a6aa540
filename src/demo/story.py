"""The demo story: a morning in an AWS account guarded by IAM Guard, played on the embedded emulator.

People act with their own API calls on the emulator (not counted); IAM Guard reacts through the real
Lambda handlers, invoked as Lambda would (the CloudTrail event + a context) with the environment the
stack gives the functions. Every alert goes to the SNS topic; an SQS queue subscribed to it shows the
email, and the Slack notifier posts each one to a local webhook receiver. Only IAM Guard's own AWS calls
are counted (``core.aws.gateway.CallCounter`` on the default boto3 session, which the handlers use).
"""

from __future__ import annotations

import importlib
import json
import logging
import os
import time
import warnings
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from typing import Any

from core.guardrail.custom_resource import GUARDRAIL_PROPERTIES
from core.model.alerts import Alert, AlertKind
from core.model.errors import IamGuardError
from core.model.naming import policy_arn
from core.model.settings import (
    DEFAULT_EXEMPT_TAG_KEY,
    DEFAULT_GROUP_NAME,
    DEFAULT_OWNER_TAG_KEY,
    DEFAULT_POLICY_NAME,
)
from core.policy.compare import policies_equal
from core.policy.document import render_policy
from core.report.envelope import alert_from_envelope
from demo.cloudformation import deployed_enforcer, stack_operation
from demo.cloudtrail import cloudtrail_event, load_sample
from demo.emulator import ACCOUNT_ID, REGION, Emulator, patched_environ
from demo.lambda_context import FakeLambdaContext
from demo.slack_receiver import Reply, SlackReceiver
from demo.sns_lambda import LambdaSubscription, Publication, sns_lambda_event

STACK_NAME = "iam-guard"
STACK_ID = (
    f"arn:aws:cloudformation:{REGION}:{ACCOUNT_ID}:stack/{STACK_NAME}/5b2b7c40-1f0e-11ef-9a3b-0a1b2c3d4e5f"
)
TOPIC_NAME = "iam-guard_alerts"
SECRET_NAME = "iam-guard/slack-webhook"  # noqa: S105 - a secret's name, not its value
BOT_SECRET_NAME = "iam-guard/slack-bot"  # noqa: S105 - a secret's name, not its value
BOT_TOKEN = "xoxb-demo-bot-token"  # noqa: S105 - the stand-in's token, not a credential
NOTIFICATIONS_TABLE = f"{STACK_NAME}_notifications"
CI_OWNER = "U0CITEAM1"  # the Slack member ID of old-ci's owner (its owner tag)
ALLOWED_CIDR = "203.0.113.0/24"  # documentation range: "the office network"
ADMIN = "admin-ana"
MALLORY = "ops-mallory"
BREAK_GLASS = "breakglass"
LEGACY_USER = "old-ci"
QUARANTINE_POLICY = "AWSCompromisedKeyQuarantineV3"  # what AWS attaches to a user whose key leaked
POLICY_ARN = policy_arn(ACCOUNT_ID, DEFAULT_POLICY_NAME)
WIDE_OPEN_POLICY = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
}


class DemoError(IamGuardError):
    """The story could not be played (a piece missing, or IAM Guard did not do what it promises)."""


@dataclass
class Email:
    subject: str
    body: str


@dataclass
class StepRecord:
    number: int
    title: str
    calls: Counter[str] = field(default_factory=Counter)
    emails: list[Email] = field(default_factory=list)
    slack_payloads: list[Any] = field(default_factory=list)
    publications: list[Publication] = field(default_factory=list)
    outcome: list[str] = field(default_factory=list)
    handler_result: Any = None


@dataclass
class DemoRun:
    steps: list[StepRecord] = field(default_factory=list)
    slack_payloads: list[Any] = field(default_factory=list)
    users: list[dict[str, Any]] = field(default_factory=list)
    sweep_result: Any = None
    sweep_digest: Alert | None = None
    security_hub: list[dict[str, Any]] = field(default_factory=list)  # IAM Guard's findings there
    seconds: float = 0.0


def function_environment(
    topic_arn: str, secret_arn: str, key_arn: str = "", *, table: str = "", bot_secret_arn: str = ""
) -> dict[str, str]:
    """What template.yaml gives the functions (Globals), with the demo's parameter values."""
    return {
        "IAM_GUARD_ALLOWED_CIDRS": ALLOWED_CIDR,
        "IAM_GUARD_ALLOWED_VPCE_IDS": "",
        "IAM_GUARD_ALLOWED_VPCE_ORG": "",
        "IAM_GUARD_ALLOWED_VPCE_ACCOUNTS": "",
        "IAM_GUARD_ALLOWED_VPCS": "",
        "IAM_GUARD_IP_RESTRICTION": "true",
        "IAM_GUARD_MFA_MODE": "strict",
        "IAM_GUARD_GROUP_NAME": DEFAULT_GROUP_NAME,
        "IAM_GUARD_POLICY_NAME": DEFAULT_POLICY_NAME,
        "IAM_GUARD_EXEMPT_USERS": BREAK_GLASS,
        "IAM_GUARD_EXEMPT_TAG_KEY": DEFAULT_EXEMPT_TAG_KEY,
        "IAM_GUARD_OWNER_TAG_KEY": DEFAULT_OWNER_TAG_KEY,
        "IAM_GUARD_DEFAULT_OWNER": "",
        "IAM_GUARD_WARNING_DAYS": "7,3,1",
        # 0 so that users created a minute ago are flagged now rather than in a week.
        "IAM_GUARD_GRACE_DAYS": "0",
        "IAM_GUARD_DRY_RUN": "false",
        "IAM_GUARD_REMEDIATE": "false",
        "IAM_GUARD_QUIET_RUNS": "false",
        "IAM_GUARD_SNS_TOPIC_ARN": topic_arn,
        "IAM_GUARD_SLACK_SECRET_ARN": secret_arn,
        # The owners' Slack bot (direct messages); e-mail, Teams and the webhook are off in the demo.
        "IAM_GUARD_SLACK_BOT_TOKEN_SECRET_ARN": bot_secret_arn,
        "IAM_GUARD_TEAMS_WEBHOOK_SECRET_ARN": "",
        "IAM_GUARD_WEBHOOK_SECRET_ARN": "",
        "IAM_GUARD_ALERT_DLQ_URL": "",  # no Teams or webhook in the demo: no alert dead-letter queue
        "IAM_GUARD_TEAMS_MIN_SEVERITY": "info",
        "IAM_GUARD_WEBHOOK_MIN_SEVERITY": "info",
        "IAM_GUARD_OWNER_EMAIL_SENDER": "",
        "IAM_GUARD_NOTIFICATIONS_TABLE": table,
        "IAM_GUARD_STACK_NAME": STACK_NAME,
        "IAM_GUARD_MAX_MFA_AGE_HOURS": "",
        "IAM_GUARD_STACK_ID": STACK_ID,
        "IAM_GUARD_ALERT_KEY_ARN": key_arn,
        "IAM_GUARD_SECURITY_HUB": "true",
        # The template's defaults: the demo's users and keys are minutes old, so none is unused or old.
        "IAM_GUARD_UNUSED_DAYS": "45",
        "IAM_GUARD_KEY_MAX_AGE_DAYS": "90",
        "IAM_GUARD_REMEDIATE_UNUSED_KEYS": "false",
        "IAM_GUARD_MANAGE_PASSWORD_POLICY": "false",
        "IAM_GUARD_PASSWORD_MAX_AGE_DAYS": "0",
        "IAM_GUARD_REMEDIATE_SERVICE_CREDENTIALS": "false",
        "IAM_GUARD_SSH_KEY_AUDIT_USERS_PER_RUN": "0",
        "IAM_GUARD_ORG_EXCLUDE_ACCOUNTS": "",  # single-account mode, as the template's default
        "IAM_GUARD_LEAKED_KEY_ACTION": "deactivate",
        "IAM_GUARD_LEAKED_KEY_SUMMARY_REGIONS": "",
        "IAM_GUARD_PARTITION": "aws",  # AWS::Partition of moto's us-east-1
        "IAM_GUARD_GUARDDUTY_FINDINGS": "false",
        "IAM_GUARD_GUARDDUTY_MIN_SEVERITY": "7",
        "POWERTOOLS_SERVICE_NAME": "iam-guard",
        "POWERTOOLS_METRICS_NAMESPACE": "IAMGuard",
        "POWERTOOLS_METRICS_DISABLED": "true",  # the demo prints what matters; no EMF lines
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_LOG_LEVEL": "ERROR",
    }


class Story:
    """Plays the story step by step; ``say`` receives every line of output as it happens."""

    def __init__(self, emulator: Emulator, slack: SlackReceiver, say: Callable[[str], None]) -> None:
        self.emulator = emulator
        self.slack = slack
        self.say = say
        self.run = DemoRun()
        self.notifier = LambdaSubscription()  # SNS -> the Slack notifier function
        # People's own calls go through a separate session: not IAM Guard's, so not counted.
        from core.aws.clients import new_session

        self.people = new_session(REGION)
        self.iam_admin = self._people_client("iam")
        self.queue_url = ""
        # The Slack Web API stand-in the owners' direct messages go to (chat.postMessage).
        self.owner_api = SlackReceiver("web-api")

    def _people_client(self, service: str) -> Any:
        from core.aws.clients import client

        return client(service, session=self.people, region=REGION)

    # --- the stack ---------------------------------------------------------------------------------

    def deploy(self) -> dict[str, str]:
        """What `sam deploy` creates around the functions: topic, email stand-in queue, Slack secret."""
        sns = self._people_client("sns")
        sqs = self._people_client("sqs")
        topic_arn = sns.create_topic(Name=TOPIC_NAME)["TopicArn"]
        self.queue_url = sqs.create_queue(QueueName="alerts-email")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=self.queue_url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn)
        secret_arn = self._people_client("secretsmanager").create_secret(
            Name=SECRET_NAME, SecretString=self.slack.url
        )["ARN"]
        deployed_enforcer(self.people, STACK_NAME)  # the sweep checks it is still switched on
        kms = self._people_client("kms")
        key_arn = kms.create_key(Description="IAM Guard - encrypts the alert topic")["KeyMetadata"]["Arn"]
        kms.create_alias(AliasName=f"alias/{STACK_NAME}_alerts", TargetKeyId=key_arn)
        self._people_client("securityhub").enable_security_hub()  # the account's, not the stack's
        # The owners' notifications: the stack's table, and a Slack bot token for direct messages.
        self._people_client("dynamodb").create_table(
            TableName=NOTIFICATIONS_TABLE,
            KeySchema=[
                {"AttributeName": "pk", "KeyType": "HASH"},
                {"AttributeName": "sk", "KeyType": "RANGE"},
            ],
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "S"},
            ],
            BillingMode="PAY_PER_REQUEST",
        )
        bot_secret_arn = self._people_client("secretsmanager").create_secret(
            Name=BOT_SECRET_NAME, SecretString=json.dumps({"token": BOT_TOKEN})
        )["ARN"]
        environment = function_environment(
            topic_arn, secret_arn, key_arn, table=NOTIFICATIONS_TABLE, bot_secret_arn=bot_secret_arn
        )
        environment["IAM_GUARD_SLACK_API_URL"] = f"{self.owner_api.base_url}/api/"  # loopback only
        return environment

    # --- steps -------------------------------------------------------------------------------------

    def play(self) -> DemoRun:
        started = time.perf_counter()
        self._existing_users()
        self._step(
            "Deploy: the stack's custom resource sets up the group and the guardrail policy", self._setup
        )
        self._step(f"{ADMIN} creates user alice, with a console password", self._create_alice)
        self._step(f"{ADMIN} creates user bob", lambda step: self._create_user(step, "bob"))
        self._step(
            f"{ADMIN} creates contractor-carol, tagged {DEFAULT_EXEMPT_TAG_KEY}=true",
            self._create_contractor,
        )
        self._step("bob creates his own access key", self._bob_creates_key)
        self._step(f"{MALLORY} removes alice from {DEFAULT_GROUP_NAME}", self._remove_alice)
        self._step(f"{MALLORY} edits the guardrail policy to allow everything", self._edit_policy)
        self._step("The scheduled sweep runs", self._sweep)
        self._step(
            "Security Hub: what the security team sees; the next scheduled sweep runs", self._security_hub
        )
        self._step(
            "bob's access key leaks: AWS Health reports it and attaches its quarantine policy", self._leak
        )
        self.run.users = self._user_states()
        self.run.slack_payloads = [post.json() for post in self.slack.received()]
        self.run.seconds = time.perf_counter() - started
        return self.run

    def _step(self, title: str, action: Callable[[StepRecord], None]) -> None:
        step = StepRecord(len(self.run.steps) + 1, title)
        self.say(f"[{step.number}] {title}")
        self.emulator.calls.reset()
        try:
            action(step)
            self._deliver_alerts(step)
        finally:  # what happened is shown even when a promise was not kept
            for line in step.outcome:
                self.say(f"      {line}")
        step.calls = Counter(self.emulator.calls.calls)
        self.run.steps.append(step)
        for email in step.emails:
            self.say(f"      alert (email + Slack): {email.subject}")
        total = sum(step.calls.values())
        self.say(f"      IAM Guard made {total} AWS calls: {_call_summary(step.calls)}")

    def _existing_users(self) -> None:
        """Before IAM Guard: two administrators, the break-glass user and a CI user nobody remembers."""
        for name in (ADMIN, MALLORY, BREAK_GLASS, LEGACY_USER):
            self.iam_admin.create_user(UserName=name)
        self.iam_admin.create_login_profile(UserName=BREAK_GLASS, Password="Demo-Passw0rd!-only")  # noqa: S106
        self.iam_admin.create_access_key(UserName=LEGACY_USER)
        # Its owner: the CI team, by Slack member ID (the owner tag guarded users cannot change).
        self.iam_admin.tag_user(
            UserName=LEGACY_USER, Tags=[{"Key": DEFAULT_OWNER_TAG_KEY, "Value": CI_OWNER}]
        )
        # A password policy meeting every control (IAM.7, IAM.10-IAM.17): the story is about users.
        self.iam_admin.update_account_password_policy(
            MinimumPasswordLength=14,
            RequireSymbols=True,
            RequireNumbers=True,
            RequireUppercaseCharacters=True,
            RequireLowercaseCharacters=True,
            AllowUsersToChangePassword=True,
            MaxPasswordAge=90,
            PasswordReusePrevention=24,
        )

    def _setup(self, step: StepRecord) -> None:
        """CloudFormation creating the Custom::Guardrail resource: the real custom-resource handler."""
        event = load_sample("policy-resource-create.json")
        event["ResponseURL"] = self.slack.response_url  # stands in for the pre-signed S3 URL
        properties = event["ResourceProperties"]
        for name in GUARDRAIL_PROPERTIES:
            properties[name] = os.environ[name]  # the template passes the same parameters to both
        with stack_operation(event):  # the stack's create is running: the function verifies that first
            step.handler_result = _invoke("handlers.policy_resource", event, "iam-guard-policy-resource")
        replies = [r.json() for r in self.slack.cloudformation_replies()]
        status = (
            " ".join(str(replies[-1].get(k) or "") for k in ("Status", "Reason")) if replies else "nothing"
        )
        step.outcome.append(f"CloudFormation received: {status.strip()}")
        step.outcome.append(self._policy_line())
        iam = self.iam_admin
        attached = iam.list_attached_group_policies(GroupName=DEFAULT_GROUP_NAME)["AttachedPolicies"]
        names = ", ".join(p["PolicyName"] for p in attached) or "nothing"
        step.outcome.append(f"{DEFAULT_GROUP_NAME} exists, with {names} attached")
        _expect(status.startswith("SUCCESS"), f"the custom resource replied {status!r}")
        _expect([p["PolicyArn"] for p in attached] == [POLICY_ARN], "the policy is not attached to the group")
        _expect(self._policy_is_guardrail(), "the policy is not the rendered guardrail")

    def _create_alice(self, step: StepRecord) -> None:
        self._create_user(step, "alice")
        self.iam_admin.create_login_profile(UserName="alice", Password="Demo-Passw0rd!-only")  # noqa: S106

    def _create_contractor(self, step: StepRecord) -> None:
        self._create_user(step, "contractor-carol", tags=[{"Key": DEFAULT_EXEMPT_TAG_KEY, "Value": "true"}])

    def _create_user(self, step: StepRecord, name: str, tags: list[dict[str, str]] | None = None) -> None:
        request: dict[str, Any] = {"UserName": name, **({"Tags": tags} if tags else {})}
        response = self.iam_admin.create_user(**request)
        self._enforce(step, "enforcer-create-user.json", ADMIN, request, response)
        step.outcome.append(self._membership_line(name))
        _expect(self._in_group(name) is not bool(tags), f"{name} is {'' if tags else 'not '}in the group")

    def _bob_creates_key(self, step: StepRecord) -> None:
        response = self.iam_admin.create_access_key(UserName="bob")
        # Users creating their own key send no userName; CloudTrail has it in the response only.
        self._enforce(step, "enforcer-create-access-key-self.json", "bob", None, response)
        step.outcome.append(self._membership_line("bob"))
        _expect(self._in_group("bob"), "bob is not in the group")

    def _remove_alice(self, step: StepRecord) -> None:
        request = {"GroupName": DEFAULT_GROUP_NAME, "UserName": "alice"}
        self.iam_admin.remove_user_from_group(**request)
        step.outcome.append(f"after {MALLORY}: {self._membership_line('alice')}")
        self._enforce(step, "enforcer-remove-user-from-group.json", MALLORY, request, None)
        step.outcome.append(f"after IAM Guard: {self._membership_line('alice')}")
        _expect(self._in_group("alice"), "alice was not put back into the group")

    def _edit_policy(self, step: StepRecord) -> None:
        request = {
            "PolicyArn": POLICY_ARN,
            "PolicyDocument": json.dumps(WIDE_OPEN_POLICY),
            "SetAsDefault": True,
        }
        response = self.iam_admin.create_policy_version(**request)
        step.outcome.append(f"after {MALLORY}: {self._policy_line()}")
        self._enforce(step, "enforcer-create-policy-version.json", MALLORY, request, response)
        step.outcome.append(f"after IAM Guard: {self._policy_line()}")
        _expect(self._policy_is_guardrail(), "the edited policy was not restored")

    def _sweep(self, step: StepRecord) -> None:
        event = load_sample("sweep-schedule.json")
        ok = Reply(body='{"ok": true}', headers={"Content-Type": "application/json"})
        self.owner_api.script(*([ok] * 20))  # what Slack's chat.postMessage answers
        step.handler_result = _invoke("handlers.sweep", event, "iam-guard-sweep")
        self.run.sweep_result = result = step.handler_result
        if isinstance(result, dict):
            statuses = ", ".join(f"{n} {s}" for s, n in (result.get("status_counts") or {}).items())
            step.outcome.append(
                f"sweep: {result.get('users_scanned')} users swept: {statuses or 'no findings'}"
            )
        for publication in self.notifier.publications:
            alert = alert_from_envelope(publication.message)
            if alert is not None and alert.kind is AlertKind.SWEEP_DIGEST:
                self.run.sweep_digest = alert
        _expect(self.run.sweep_digest is not None, "the sweep published no digest")
        dms = [post.json() for post in self.owner_api.received()]
        for dm in dms[:2]:
            first = str(dm.get("text", "")).splitlines()[0].strip("*")
            step.outcome.append(f"owner {dm.get('channel')} (Slack direct message): {first}")
        _expect(
            any(dm.get("channel") == CI_OWNER and LEGACY_USER in str(dm.get("text")) for dm in dms),
            f"the owner of {LEGACY_USER} was not told",
        )
        _expect(self._in_group(LEGACY_USER), f"the sweep did not enrol {LEGACY_USER}")
        _expect(not self._in_group(BREAK_GLASS), f"the sweep enrolled {BREAK_GLASS}")

    def _security_hub(self, step: StepRecord) -> None:
        """The sweep imported every finding (ASFF); the next run updates them in place, and archives
        what is fixed, as PASSED."""
        digest = self.run.sweep_digest
        first = self._hub_findings()
        reported = len(digest.items) if digest else -1
        step.outcome.append(
            f"{len(first)} findings imported into Security Hub; re-run updates, no duplicates"
        )
        _expect(
            len(first) == reported, f"Security Hub holds {len(first)} findings, the sweep reported {reported}"
        )
        _expect(
            all(f["RecordState"] == "ACTIVE" for f in first.values()), "an imported finding is not ACTIVE"
        )
        step.handler_result = _invoke("handlers.sweep", load_sample("sweep-schedule.json"), "iam-guard-sweep")
        second = self._hub_findings()
        archived = sorted(i for i, f in second.items() if f["RecordState"] == "ARCHIVED")
        step.outcome.append(
            f"next sweep: the same {len(second)} IDs, updated in place (CreatedAt kept, UpdatedAt moved); "
            f"{len(archived)} fixed since (users the first sweep enrolled) now PASSED and ARCHIVED"
        )
        _expect(set(second) == set(first), "the second sweep added findings instead of updating them")
        _expect(
            all(second[i]["CreatedAt"] == first[i]["CreatedAt"] for i in first), "a re-import moved CreatedAt"
        )
        _expect(
            all(second[i]["UpdatedAt"] > first[i]["UpdatedAt"] for i in first), "a finding was not updated"
        )
        _expect(
            all(second[i]["Compliance"]["Status"] == "PASSED" for i in archived),
            "an archived finding is not PASSED",
        )
        _expect(bool(archived), "nothing was archived although the first sweep enrolled users")
        self.run.security_hub = sorted(second.values(), key=lambda f: str(f["Id"]))

    def _hub_findings(self) -> dict[str, dict[str, Any]]:
        """IAM Guard's findings in the account's Security Hub, as the security team reads them."""
        hub = self._people_client("securityhub")
        found: dict[str, dict[str, Any]] = {}
        params: dict[str, Any] = {
            "Filters": {"GeneratorId": [{"Value": "iam-guard/", "Comparison": "PREFIX"}]},
            "MaxResults": 100,
        }
        while True:
            page = hub.get_findings(**params)
            found.update((f["Id"], f) for f in page["Findings"] if f["GeneratorId"].startswith("iam-guard/"))
            if not page.get("NextToken"):
                return found
            params["NextToken"] = page["NextToken"]

    # --- IAM Guard's side --------------------------------------------------------------------------

    def _enforce(
        self, step: StepRecord, sample: str, actor: str, request: dict[str, Any] | None, response: Any
    ) -> None:
        event = cloudtrail_event(load_sample(sample), actor=actor, request=request, response=response)
        step.handler_result = _invoke("handlers.enforcer", event, "iam-guard-enforcer")
        if isinstance(step.handler_result, dict) and step.handler_result.get("action"):
            step.outcome.append(
                f"enforcer: {step.handler_result['action']}: {step.handler_result.get('reason', '')}"
            )

    def _deliver_alerts(self, step: StepRecord) -> None:
        """SNS fans each alert out: the queue shows the email text, the Slack notifier gets the alert."""
        for envelope in self._drain_queue():
            step.emails.append(Email(envelope.get("Subject") or "", envelope.get("Message") or ""))
        for publication in self.notifier.take():
            step.publications.append(publication)
            before = len(self.slack.received())
            _invoke("handlers.slack_notifier", sns_lambda_event(publication), "iam-guard-slack-notifier")
            step.slack_payloads += [post.json() for post in self.slack.received()[before:]]

    def _drain_queue(self) -> Iterator[dict[str, Any]]:
        sqs = self._people_client("sqs")
        while True:
            messages = sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10).get(
                "Messages", []
            )
            if not messages:
                return
            for message in messages:
                sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])
                yield json.loads(message["Body"])

    # --- what the demo reads back (people's view, not counted) -------------------------------------

    def _in_group(self, name: str) -> bool:
        groups = self.iam_admin.list_groups_for_user(UserName=name)["Groups"]
        return DEFAULT_GROUP_NAME in [g["GroupName"] for g in groups]

    def _membership_line(self, name: str) -> str:
        return f"{name} is {'IN' if self._in_group(name) else 'NOT in'} {DEFAULT_GROUP_NAME}"

    def _default_policy(self) -> tuple[str, dict[str, Any]]:
        version = self.iam_admin.get_policy(PolicyArn=POLICY_ARN)["Policy"]["DefaultVersionId"]
        answer = self.iam_admin.get_policy_version(PolicyArn=POLICY_ARN, VersionId=version)
        return version, answer["PolicyVersion"]["Document"]

    def _policy_is_guardrail(self) -> bool:
        from handlers import common

        return policies_equal(self._default_policy()[1], render_policy(common.settings()))

    def _policy_line(self) -> str:
        version, document = self._default_policy()
        if policies_equal(document, WIDE_OPEN_POLICY):
            return f"the policy's default version {version} allows everything"
        what = "is the guardrail" if self._policy_is_guardrail() else "is not the guardrail"
        return f"the policy's default version {version} {what}"

    def _leak(self, step: StepRecord) -> None:
        """AWS finds bob's key in public code: it attaches AWSCompromisedKeyQuarantineV3 and sends a Health
        RISK event, but leaves the key Active. IAM Guard corroborates (the policy is on bob), contains it."""
        from demo.moto_extras import add_aws_managed_policy, empty_event_history

        (key,) = [
            k["AccessKeyId"] for k in self.iam_admin.list_access_keys(UserName="bob")["AccessKeyMetadata"]
        ]
        add_aws_managed_policy(QUARANTINE_POLICY, ACCOUNT_ID)  # AWS's own policy (moto loads none by default)
        self.iam_admin.attach_user_policy(
            UserName="bob", PolicyArn=f"arn:aws:iam::aws:policy/{QUARANTINE_POLICY}"
        )
        step.outcome.append(f"after AWS: bob's key {key} is {self._key_status('bob', key)}")
        event = load_sample("enforcer-health-credentials-exposed.json")
        event["time"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        event["resources"] = [key]
        event["detail"]["affectedEntities"] = [{"entityValue": key}]
        with empty_event_history():  # what the key did: moto keeps no CloudTrail history
            step.handler_result = _invoke("handlers.enforcer", event, "iam-guard-enforcer")
        result = step.handler_result if isinstance(step.handler_result, dict) else {}
        step.outcome.append(f"enforcer: {result.get('action')}: {result.get('reason', '')}")
        step.outcome.append(f"after IAM Guard: bob's key {key} is {self._key_status('bob', key)}")
        _expect(self._key_status("bob", key) == "Inactive", "the leaked key is still active")
        policies = self.iam_admin.list_attached_user_policies(UserName="bob")["AttachedPolicies"]
        _expect(
            QUARANTINE_POLICY in [p["PolicyName"] for p in policies], "AWS's quarantine policy was not kept"
        )
        self._deliver_alerts(step)
        _expect(
            any(key in email.subject for email in step.emails), "no alert about the leaked key was delivered"
        )

    def _key_status(self, user: str, key: str) -> str:
        keys = self.iam_admin.list_access_keys(UserName=user)["AccessKeyMetadata"]
        return next((str(k["Status"]) for k in keys if k["AccessKeyId"] == key), "deleted")

    def _user_states(self) -> list[dict[str, Any]]:
        states = []
        for user in self.iam_admin.list_users()["Users"]:
            name = user["UserName"]
            tags = {t["Key"]: t["Value"] for t in self.iam_admin.list_user_tags(UserName=name)["Tags"]}
            keys = self.iam_admin.list_access_keys(UserName=name)["AccessKeyMetadata"]
            states.append(
                {
                    "user": name,
                    "in_group": self._in_group(name),
                    "exempt": tags.get(DEFAULT_EXEMPT_TAG_KEY, "listed" if name == BREAK_GLASS else ""),
                    "console": _has_login_profile(self.iam_admin, name),
                    "active_keys": sum(1 for k in keys if k["Status"] == "Active"),
                    "mfa": bool(self.iam_admin.list_mfa_devices(UserName=name)["MFADevices"]),
                }
            )
        return states


def _expect(condition: bool, failure: str) -> None:
    """The demo is a proof: a promise not kept stops it with one line (and exit code 1)."""
    if not condition:
        raise DemoError(f"IAM Guard did not keep its promise: {failure}")


def _invoke(module_name: str, event: dict[str, Any], function_name: str) -> Any:
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError:
        raise DemoError(f"{module_name} is not available in this checkout yet") from None
    return module.lambda_handler(event, FakeLambdaContext(function_name))


def _has_login_profile(iam: Any, name: str) -> bool:
    try:
        iam.get_login_profile(UserName=name)
    except iam.exceptions.NoSuchEntityException:
        return False
    return True


def _call_summary(calls: Counter[str]) -> str:
    return ", ".join(f"{name} x{n}" if n > 1 else name for name, n in sorted(calls.items())) or "none"


@contextmanager
def demo_world() -> Iterator[tuple[Emulator, SlackReceiver]]:
    """The emulator and the Slack stand-in, both on 127.0.0.1, torn down afterwards."""
    with ExitStack() as stack:
        emulator = stack.enter_context(Emulator())
        slack = stack.enter_context(SlackReceiver())
        yield emulator, slack


def play_demo(say: Callable[[str], None]) -> DemoRun:
    """Start the emulator, deploy, play the story with the functions' environment, tear down."""
    with demo_world() as (emulator, slack):
        story = Story(emulator, slack, say)
        story.notifier.attach_session(emulator.session)
        with story.owner_api:  # the Slack Web API stand-in, on 127.0.0.1
            say(
                f"AWS emulator (moto) on {emulator.endpoint_url}, Slack stand-in on 127.0.0.1: no AWS account"
            )
            environment = story.deploy()
            with patched_environ(environment):
                from handlers import common  # first imported here, it reads the functions' environment

                cold_start()
                level = common.logger.log_level
                common.logger.setLevel(logging.ERROR)  # handler logs are JSON lines; the story says it better
                try:
                    with warnings.catch_warnings():
                        # Powertools warns when an invocation records no metric (the custom resource).
                        warnings.filterwarnings("ignore", message="No application metrics to publish")
                        return story.play()
                finally:
                    common.logger.setLevel(level)
                    cold_start()


def cold_start() -> None:
    """Forget what a warm Lambda container keeps (settings, clients, cached secrets), so the next
    invocation reads the current environment and endpoint, like a fresh container would."""
    import sys

    from aws_lambda_powertools.utilities import parameters

    from handlers import common

    common.reset_caches()
    parameters.clear_caches()  # type: ignore[no-untyped-call]  # the cached secret and its client
    enforcer = sys.modules.get("handlers.enforcer")
    if enforcer is not None:
        enforcer.guardrail_cache.cache_clear()
