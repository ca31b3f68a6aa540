"""The sweep's ``access-key-exposed``: AWS's quarantine on a user, or keys the leaked-key responder listed
in ``iam-guard:exposed-keys`` while the user still holds a key; critical, exempt users included."""

from __future__ import annotations

import pytest
from tests.sweep.conftest import Account, make_settings

from core.model.alerts import Severity
from core.model.findings import ACCESS_KEY_EXPOSED, EXEMPT
from core.model.naming import EXPOSED_KEYS_TAG

QUARANTINE = "arn:aws:iam::aws:policy/AWSCompromisedKeyQuarantineV3"


@pytest.fixture(autouse=True)
def aws_managed_policies(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")


def exposed(result) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {f.user: f.detail for f in result.findings if f.finding == ACCESS_KEY_EXPOSED}


def test_a_contained_leak_stays_a_critical_finding_until_the_key_is_deleted(account: Account) -> None:
    (key,) = account.user("build-bot", keys=1)
    account.client.update_access_key(UserName="build-bot", AccessKeyId=key, Status="Inactive")
    account.client.tag_user(UserName="build-bot", Tags=[{"Key": EXPOSED_KEYS_TAG, "Value": key}])
    account.client.attach_user_policy(UserName="build-bot", PolicyArn=QUARANTINE)
    account.user("breakglass", keys=1, in_group=False, tags={"iam-guard:exempt": "true"})
    account.client.attach_user_policy(UserName="breakglass", PolicyArn=QUARANTINE)
    account.user("quiet", keys=1)  # neither tag nor quarantine

    result = account.sweep(make_settings(grace_days=0))

    found = exposed(result)
    assert set(found) == {"build-bot", "breakglass"}
    assert key in found["build-bot"]
    assert "AWSCompromisedKeyQuarantineV3" in found["breakglass"]
    (finding,) = [f for f in result.findings if f.user == "build-bot" and f.finding == ACCESS_KEY_EXPOSED]
    assert (finding.severity, finding.status) == (Severity.CRITICAL, "violation")
    assert {f.finding for f in result.findings if f.user == "breakglass"} == {ACCESS_KEY_EXPOSED, EXEMPT}

    account.client.delete_access_key(UserName="build-bot", AccessKeyId=key)
    account.client.detach_user_policy(UserName="build-bot", PolicyArn=QUARANTINE)

    assert "build-bot" not in exposed(account.sweep(make_settings(grace_days=0)))
