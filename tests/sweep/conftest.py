"""Fixtures for the sweep tests: a moto IAM account with helpers to shape users, and report tricks.

moto rebuilds its credential report on every GetCredentialReport call (with a fixed GeneratedTime), so
it can never be stale by itself. Real IAM serves the same report for up to 4 hours. ``freeze_report``
reproduces that honestly: it reads the report moto builds *now* and replays exactly that response for
later GetCredentialReport calls (a botocore ``before-call`` hook answers in place of the server), so
changes made afterwards are invisible to the report, as they would be in AWS.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError
from tests.harness.answers import HttpAnswer
from tests.harness.mfa import enable_mfa, enable_virtual_mfa

from core.aws.gateway import CallCounter, Retrier
from core.aws.iam import IamGateway
from core.guardrail.apply import ensure_guardrail
from core.model.alerts import RecordingSink
from core.model.settings import Settings, build_settings
from core.sweep.result import SweepResult
from core.sweep.run import run_sweep

GROUP = "IAMGuardSecuredUsers"
ACCOUNT = "123456789012"
HARDWARE_SERIAL = "GAHT{:08d}"
# UpdateAccountPasswordPolicy's parameters meeting IAM.7, IAM.10 to IAM.17, CIS 2.8 and 2.9.
STRONG_PASSWORD_POLICY: dict[str, Any] = {
    "MinimumPasswordLength": 14,
    "RequireSymbols": True,
    "RequireNumbers": True,
    "RequireUppercaseCharacters": True,
    "RequireLowercaseCharacters": True,
    "AllowUsersToChangePassword": True,
    "MaxPasswordAge": 90,
    "PasswordReusePrevention": 24,
    "HardExpiry": False,
}  # a hardware token's serial: not listed by ListVirtualMFADevices


def make_settings(**values: Any) -> Settings:
    return build_settings(ip_restriction=False, **values)


class Account:
    """A moto IAM account plus the counted client the sweep uses."""

    def __init__(self, client: Any) -> None:
        self.client = client
        # A deployed IAM Guard: the secured group with the guardrail attached (not counted below).
        ensure_guardrail(IamGateway(client), make_settings(), ACCOUNT)
        # A password policy meeting every control: the findings of these tests are about users
        # (tests/sweep/test_account_checks_moto.py removes or weakens it).
        client.update_account_password_policy(**STRONG_PASSWORD_POLICY)
        self.counter = CallCounter()
        self.counter.attach(client)
        self.gateway = IamGateway(client, retrier=Retrier(sleep=lambda _: None))
        self.sink = RecordingSink()
        self.sleeps: list[float] = []

    def user(
        self,
        name: str,
        *,
        password: bool = False,
        keys: int = 0,
        virtual_mfa: bool = False,
        hardware_mfa: bool = False,
        in_group: bool = True,
        tags: dict[str, str] | None = None,
    ) -> list[str]:
        """Create a user; returns the IDs of its access keys."""
        c = self.client
        c.create_user(UserName=name, Tags=[{"Key": k, "Value": v} for k, v in (tags or {}).items()])
        if password:
            c.create_login_profile(UserName=name, Password="Correct-Horse-9-Battery")
        key_ids = [c.create_access_key(UserName=name)["AccessKey"]["AccessKeyId"] for _ in range(keys)]
        if virtual_mfa:
            self.enable_virtual_mfa(name)
        if hardware_mfa:
            self.enable_hardware_mfa(name)
        if in_group:
            c.add_user_to_group(GroupName=GROUP, UserName=name)
        return key_ids

    def service_credential(self, name: str, service: str, *, age_days: int | None = None) -> str:
        """A service-specific credential of the user (emulated on moto: ``demo.moto_extras``); its ID."""
        extra = {"CredentialAgeDays": age_days} if age_days else {}
        answer = self.client.create_service_specific_credential(UserName=name, ServiceName=service, **extra)
        return str(answer["ServiceSpecificCredential"]["ServiceSpecificCredentialId"])

    def enable_virtual_mfa(self, name: str) -> None:
        enable_virtual_mfa(self.client, name)

    def enable_hardware_mfa(self, name: str) -> None:
        enable_mfa(self.client, name, HARDWARE_SERIAL.format(abs(hash(name)) % 10**8))

    def key_statuses(self, name: str) -> list[str]:
        return [k["Status"] for k in self.client.list_access_keys(UserName=name)["AccessKeyMetadata"]]

    def groups_of(self, name: str) -> list[str]:
        return [g["GroupName"] for g in self.client.list_groups_for_user(UserName=name)["Groups"]]

    def freeze_report(self) -> datetime:
        """Take the report as it is now and serve exactly it from now on (see the module docstring)."""
        self.client.generate_credential_report()
        frozen = dict(self.client.get_credential_report())
        frozen.pop("ResponseMetadata", None)

        def replay(**_: Any) -> tuple[HttpAnswer, dict[str, Any]]:
            return HttpAnswer(), dict(frozen)

        self.client.meta.events.register("before-call.iam.GetCredentialReport", replay)
        generated: datetime = frozen["GeneratedTime"]
        return generated

    def fail(self, operation: str, code: str, times: int | None = None) -> list[int]:
        """Make ``operation`` fail with ``code`` (``times`` times, or always); returns a hit counter."""
        hits = [0]

        def raise_error(**_: Any) -> None:
            hits[0] += 1
            if times is None or hits[0] <= times:
                raise ClientError({"Error": {"Code": code, "Message": f"injected {code}"}}, operation)

        self.client.meta.events.register(f"before-call.iam.{operation}", raise_error)
        return hits

    def sweep(self, settings: Settings | None = None, *, now: datetime | None = None) -> SweepResult:
        self.counter.reset()
        return run_sweep(
            self.gateway,
            self.sink,
            settings or make_settings(),
            now=now or datetime.now(UTC),
            sleep=self.sleeps.append,
        )


@pytest.fixture
def account(mock_iam: Any) -> Account:
    return Account(mock_iam)


@pytest.fixture
def after_grace() -> Callable[[int], datetime]:
    """A clock past the grace period of users created now."""
    return lambda grace_days: datetime.now(UTC) + timedelta(days=grace_days, hours=1)


def sweep_handler_env(monkeypatch: pytest.MonkeyPatch, account: Account) -> RecordingSink:
    """A fresh sweep Lambda container on ``account``: no network restriction, no grace, alerts recorded.
    Call ``handlers.common.reset_caches()`` when the test ends."""
    from handlers import common

    monkeypatch.setenv("IAM_GUARD_IP_RESTRICTION", "false")
    monkeypatch.setenv("IAM_GUARD_GRACE_DAYS", "0")
    sink = RecordingSink()
    common.reset_caches()
    monkeypatch.setattr("handlers.sweep.alert_sink", lambda: sink)
    monkeypatch.setattr("handlers.sweep.iam", lambda: account.gateway)
    return sink


def add_story_users(iam: Any, group: str = GROUP) -> None:
    """alice (console password) and robot (access key) in ``group``, outsider outside it, breakglass
    tagged exempt: one finding of each kind (the group must exist)."""
    for name in ("alice", "robot", "outsider"):
        iam.create_user(UserName=name)
    iam.create_login_profile(UserName="alice", Password="Correct-Horse-9-Battery")
    iam.create_access_key(UserName="robot")
    iam.add_user_to_group(GroupName=group, UserName="alice")
    iam.add_user_to_group(GroupName=group, UserName="robot")
    iam.create_user(UserName="breakglass", Tags=[{"Key": "iam-guard:exempt", "Value": "true"}])
