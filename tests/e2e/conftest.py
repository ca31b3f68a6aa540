"""End-to-end fixtures: the shared moto server on 127.0.0.1 (``moto_endpoint``), the functions'
environment from template.yaml, the handlers invoked as Lambda invokes them, and the shared local
receiver standing in for Slack and CloudFormation's response URL (``receiver``)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from tests.conftest import EVENTS_DIR
from tests.e2e.template_env import function_environment, load_template, resource_properties

from core.model.naming import role_path
from demo.cloudformation import deployed_enforcer, stack_operation
from demo.lambda_context import FakeLambdaContext
from demo.slack_receiver import SlackReceiver
from demo.sns_lambda import LambdaSubscription, sns_lambda_event
from demo.story import cold_start

ACCOUNT = "123456789012"
ROLE_PATH = role_path("iam-guard")
REGION = "us-east-1"
ALLOWED_CIDR = "203.0.113.0/24"
HANDLERS = {
    "EnforcerFunction": "handlers.enforcer",
    "SweepFunction": "handlers.sweep",
    "SlackNotifierFunction": "handlers.slack_notifier",
    "PolicyResourceFunction": "handlers.policy_resource",
}


@dataclass
class Stack:
    """The deployed stack on the emulator: what `sam deploy` would have created, plus a way to invoke
    each function exactly as Lambda does."""

    template: dict[str, Any]
    people: Any  # a boto3 session for what people do (not IAM Guard)
    topic_arn: str
    queue_url: str
    secret_arn: str
    slack: SlackReceiver
    subscription: LambdaSubscription
    parameters: dict[str, str] = field(default_factory=dict)

    def _resources(self) -> dict[str, str]:
        function_arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:iam-guard_policy-resource"
        return {
            "AlertTopic": self.topic_arn,
            "EnforcerRole.Arn": f"arn:aws:iam::{ACCOUNT}:role{ROLE_PATH}iam-guard_enforcer",
            "PolicyResourceRole.Arn": f"arn:aws:iam::{ACCOUNT}:role{ROLE_PATH}iam-guard_policy-resource",
            "PolicyResourceFunction.Arn": function_arn,
            "PolicyResourceFunction.Version": f"{function_arn}:1",
            "NotificationsTable": "iam-guard_notifications",
        }

    def environment(self, function: str) -> dict[str, str]:
        return function_environment(
            self.template, function, parameters=self.parameters, resources=self._resources()
        )

    def deploy(self) -> dict[str, Any]:
        """CloudFormation creating the Custom::Guardrail resource: the custom-resource function gets the
        Create request with the template's properties and replies to the ResponseURL (the receiver)."""
        request = json.loads((EVENTS_DIR / "policy-resource-create.json").read_text())
        request["ResponseURL"] = self.slack.response_url
        request["ResourceProperties"] = resource_properties(
            self.template, "Guardrail", parameters=self.parameters, resources=self._resources()
        )
        with stack_operation(request):  # CloudFormation's create of the stack is running
            self.invoke("PolicyResourceFunction", request)
        [reply] = self.slack.cloudformation_replies()
        body: dict[str, Any] = reply.json()
        return body

    def invoke(self, function: str, event: dict[str, Any]) -> Any:
        """A fresh container of ``function`` with its template environment, invoked with ``event``."""
        import importlib

        from demo.emulator import patched_environ

        with patched_environ(self.environment(function)):
            cold_start()
            module = importlib.import_module(HANDLERS[function])
            return module.lambda_handler(event, FakeLambdaContext(function))

    def deliver_to_slack(self) -> int:
        """What SNS does for the notifier's subscription: one invocation per alert published so far."""
        publications = self.subscription.take()
        for publication in publications:
            self.invoke("SlackNotifierFunction", sns_lambda_event(publication))
        return len(publications)

    def emails(self) -> list[dict[str, Any]]:
        """The SNS messages the topic delivered to its SQS subscription (what an email reader gets)."""
        sqs = self.people.client("sqs")
        messages: list[dict[str, Any]] = []
        while batch := sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10).get("Messages"):
            for message in batch:
                messages.append(json.loads(message["Body"]))
                sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])
        return messages


@pytest.fixture
def stack(moto_endpoint: str, receiver: SlackReceiver, monkeypatch: pytest.MonkeyPatch) -> Iterator[Stack]:
    import boto3

    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)
    boto3.setup_default_session(region_name=REGION)  # the functions' clients come from this session
    subscription = LambdaSubscription()
    subscription.attach_session(boto3.DEFAULT_SESSION)
    people = boto3.session.Session(region_name=REGION)
    sns, sqs = people.client("sns"), people.client("sqs")
    topic_arn = sns.create_topic(Name="iam-guard_alerts")["TopicArn"]
    deployed_enforcer(people, "iam-guard")  # the sweep checks the enforcer's rule and function
    queue_url = sqs.create_queue(QueueName="alert-email")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn)
    secret_arn = people.client("secretsmanager").create_secret(
        Name="iam-guard/slack-webhook", SecretString=receiver.url
    )["ARN"]
    yield Stack(
        template=load_template(),
        people=people,
        topic_arn=topic_arn,
        queue_url=queue_url,
        secret_arn=secret_arn,
        slack=receiver,
        subscription=subscription,
        parameters={
            "AllowedCIDRs": ALLOWED_CIDR,
            "SlackSecretArn": secret_arn,
            "ExemptUsers": "breakglass",
            "GraceDays": "0",  # users created in the test are past their grace period
        },
    )
    cold_start()


@pytest.fixture
def iam(stack: Stack) -> Any:
    return stack.people.client("iam")


def wait_for(predicate: Any, timeout: float = 5.0) -> Any:
    """IAM-style eventual consistency is not emulated, but the receiver runs in a thread."""
    deadline = time.monotonic() + timeout
    while not (result := predicate()) and time.monotonic() < deadline:
        time.sleep(0.05)
    return result
