"""Fixtures for the enforcer tests: a moto IAM backend, a gateway with instant retries, settings."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import pytest
from tests.conftest import load_event

from core.aws.gateway import CallCounter, Retrier
from core.aws.iam import IamGateway
from core.enforce.actions import GuardrailCache
from core.enforce.enforcer import EnforcementResult, enforce
from core.enforce.events import parse_event
from core.guardrail.apply import ensure_guardrail
from core.model.alerts import RecordingSink
from core.model.settings import Settings, build_settings

ACCOUNT = "123456789012"  # moto's default account, and the account of every sample event
GROUP = "IAMGuardSecuredUsers"
POLICY_ARN = f"arn:aws:iam::{ACCOUNT}:policy/iam-guard/IAMGuardSecureIAMPolicy"
NOW = datetime(2025, 1, 15, 10, 0, tzinfo=UTC)


def fast_retrier() -> Retrier:
    return Retrier(sleep=lambda _seconds: None)


def make_settings(**overrides: Any) -> Settings:
    values: dict[str, Any] = {"allowed_cidrs": ("203.0.113.0/24",)}
    values.update(overrides)
    return build_settings(**values)


def sample(name: str, **detail_changes: Any) -> dict[str, Any]:
    """events/enforcer-<name>.json, with top-level ``detail`` fields replaced."""
    event = copy.deepcopy(load_event(f"enforcer-{name}.json"))
    event["detail"].update(detail_changes)
    return event


class Harness:
    """One account on moto: a gateway with counted calls, a recording sink and the warm cache."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.counter = CallCounter()
        self.counter.attach(client)
        self.iam = IamGateway(client, retrier=fast_retrier())
        self.sink = RecordingSink()
        self.cache = GuardrailCache()
        self.settings = make_settings()
        self.now = NOW
        self.slept: list[float] = []  # waits the enforcer asked for (never really slept in tests)

    def deploy(self) -> None:
        """The guardrail as the stack deploys it; calls made here are not counted."""
        ensure_guardrail(self.iam, self.settings, ACCOUNT)
        self.counter.reset()

    def create_user(self, name: str, tags: dict[str, str] | None = None, *, enrolled: bool = False) -> None:
        tag_list = [{"Key": k, "Value": v} for k, v in (tags or {}).items()]
        self.client.create_user(UserName=name, **({"Tags": tag_list} if tag_list else {}))
        if enrolled:
            self.client.add_user_to_group(GroupName=GROUP, UserName=name)
        self.counter.reset()

    def run(self, event: dict[str, Any], *, settings: Settings | None = None, **kw: Any) -> EnforcementResult:
        return enforce(
            parse_event(event),
            settings=settings or self.settings,
            iam=self.iam,
            sink=self.sink,
            cache=self.cache,
            now=lambda: self.now,
            **{"sleep": self.slept.append, **kw},
        )

    def groups_of(self, user: str) -> list[str]:
        return [g["GroupName"] for g in self.client.list_groups_for_user(UserName=user)["Groups"]]

    def default_document(self) -> dict[str, Any]:
        default = self.client.get_policy(PolicyArn=POLICY_ARN)["Policy"]["DefaultVersionId"]
        doc: dict[str, Any] = self.client.get_policy_version(PolicyArn=POLICY_ARN, VersionId=default)[
            "PolicyVersion"
        ]["Document"]
        return doc


@pytest.fixture
def harness(mock_iam: Any) -> Harness:
    return Harness(mock_iam)


@pytest.fixture
def deployed(harness: Harness) -> Harness:
    harness.deploy()
    return harness
