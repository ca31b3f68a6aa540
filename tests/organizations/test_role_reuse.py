"""The org enforcer reuses a member's assumed-role session (``RoleAssumer(reuse=True)``): one AssumeRole
per account, role and purpose until REFRESH_BEFORE_EXPIRY before the credentials expire; a denied call
drops the session so the next event assumes again. STS is moto's; the clock is the test's."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws
from tests.conftest import load_event

from core.aws.assume import DEFAULT_DURATION, REFRESH_BEFORE_EXPIRY, AccountAccess, RoleAssumer, role_arn
from core.enforce.actions import GuardrailCache
from core.model.alerts import RecordingSink
from core.model.errors import AccessDeniedError
from core.model.settings import build_settings
from core.org.enforce import enforce_member_event

MEMBER, OTHER = "111111111111", "222222222222"
ROLE = "IAMGuardEnforceRole"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def sts() -> Iterator[None]:
    with mock_aws():
        yield


def assumer(clock: Clock, *, reuse: bool) -> RoleAssumer:
    return RoleAssumer(boto3.Session(region_name="us-east-1"), reuse=reuse, clock=clock)


def test_without_reuse_every_access_assumes(sts: None, clock: Clock) -> None:
    roles = assumer(clock, reuse=False)
    for _ in range(3):
        roles.access(MEMBER, ROLE, "enforce")
    assert roles.assume_calls[MEMBER] == 3


def test_with_reuse_one_assume_role_per_account_role_and_purpose(sts: None, clock: Clock) -> None:
    roles = assumer(clock, reuse=True)
    first = roles.access(MEMBER, ROLE, "enforce")

    assert roles.access(MEMBER, ROLE, "enforce") is first  # same session, same clients
    roles.access(MEMBER, ROLE, "audit")
    roles.access(MEMBER, "IAMGuardAuditRole", "enforce")
    roles.access(OTHER, ROLE, "enforce")

    assert roles.assume_calls == {MEMBER: 3, OTHER: 1}


def test_a_session_is_renewed_before_it_has_less_than_the_margin_left(sts: None, clock: Clock) -> None:
    roles = assumer(clock, reuse=True)
    first = roles.access(MEMBER, ROLE, "enforce")

    clock.now += DEFAULT_DURATION - REFRESH_BEFORE_EXPIRY - 1
    assert roles.access(MEMBER, ROLE, "enforce") is first
    clock.now += 1
    renewed = roles.access(MEMBER, ROLE, "enforce")

    assert renewed is not first
    assert roles.assume_calls[MEMBER] == 2


def test_a_forgotten_session_is_assumed_again(sts: None, clock: Clock) -> None:
    roles = assumer(clock, reuse=True)
    first = roles.access(MEMBER, ROLE, "enforce")
    roles.forget(MEMBER, ROLE, "enforce")
    assert roles.access(MEMBER, ROLE, "enforce") is not first
    assert roles.assume_calls[MEMBER] == 2


def test_the_org_enforcer_reuses_sessions_and_the_per_account_sweep_does_not(sts: None) -> None:
    """One sweep per account per run gains nothing from reuse; the enforcer sees bursts from one member."""
    from handlers import org_enforcer, org_sweep

    for cached in (org_enforcer.assumer, org_sweep.assumer):
        cached.cache_clear()
    try:
        assert org_enforcer.assumer().reuse
        assert not org_sweep.assumer().reuse
    finally:
        for cached in (org_enforcer.assumer, org_sweep.assumer):
            cached.cache_clear()


# --- the org enforcer drops a session whose calls are denied ------------------------------------------


class Denied:
    status_code = 403


def denying_iam_client() -> Any:
    """A real IAM client whose every call IAM answers with AccessDenied (no network)."""
    client = boto3.client("iam", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")

    def deny(**_: Any) -> tuple[Denied, dict[str, Any]]:
        return Denied(), {"Error": {"Code": "AccessDenied", "Message": "the role changed"}}

    client.meta.events.register("before-call.iam.*", deny)
    return client


class RecordingAssumer:
    def __init__(self) -> None:
        self.forgotten: list[tuple[str, str, str]] = []
        self.assume_calls: dict[str, int] = {}

    def access(self, account_id: str, role_name: str, purpose: str) -> AccountAccess:
        return AccountAccess(
            account_id, role_arn(account_id, role_name), lambda _service, _region: denying_iam_client()
        )

    def forget(self, account_id: str, role_name: str, purpose: str) -> None:
        self.forgotten.append((account_id, role_name, purpose))


def test_a_denied_call_with_a_member_session_forgets_that_session() -> None:
    event = copy.deepcopy(load_event("enforcer-create-user.json"))
    event["account"] = MEMBER
    roles = RecordingAssumer()

    with pytest.raises(AccessDeniedError):
        enforce_member_event(
            event,
            assumer=roles,  # type: ignore[arg-type]
            role_name=ROLE,
            settings=build_settings(ip_restriction=False),
            sink=RecordingSink(),
            cache=GuardrailCache(),
        )

    assert roles.forgotten == [(MEMBER, ROLE, "enforce")]
