"""Issue 21, "also found": a guarded IAM user caught tampering with the guardrail loses the sessions they
already hold. One mechanism with the leaked-key responder: the user's inline policy
``iam-guard-revoke-sessions``, overwritten with the latest cut-off (Deny all, ``DateLessThan
aws:TokenIssueTime``). Only when IAM confirms the tampering (the guardrail had to be restored, the user
really was out of the group), only for a non-exempt IAM user of this account: never a role, the root user,
an exempt administrator, or a user an event merely names.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any
from urllib.parse import unquote

from tests.enforce.conftest import ACCOUNT, GROUP, POLICY_ARN, Harness, sample

from core.enforce.risk import REVOKE_SESSIONS_POLICY


def by(user: str) -> dict[str, Any]:
    return {
        "type": "IAMUser",
        "principalId": "AIDAEXAMPLEMALLORY01",
        "arn": f"arn:aws:iam::{ACCOUNT}:user/{user}",
        "accountId": ACCOUNT,
        "accessKeyId": "ASIAEXAMPLEMALLORY01",
        "userName": user,
    }


def revocation(harness: Harness, user: str) -> dict[str, Any] | None:
    names = harness.client.list_user_policies(UserName=user)["PolicyNames"]
    if REVOKE_SESSIONS_POLICY not in names:
        return None
    document = harness.client.get_user_policy(UserName=user, PolicyName=REVOKE_SESSIONS_POLICY)
    found = document["PolicyDocument"]
    return found if isinstance(found, dict) else json.loads(unquote(found))


def test_a_guarded_user_who_detached_the_guardrail_loses_their_sessions(deployed: Harness) -> None:
    deployed.create_user("mallory", enrolled=True)
    deployed.client.detach_group_policy(GroupName=GROUP, PolicyArn=POLICY_ARN)

    result = deployed.run(sample("detach-group-policy", userIdentity=by("mallory")))

    assert result.action == "healed"
    policy = revocation(deployed, "mallory")
    assert policy is not None
    (statement,) = policy["Statement"]
    assert (statement["Effect"], statement["Action"], statement["Resource"]) == ("Deny", "*", "*")
    assert statement["Condition"] == {"DateLessThan": {"aws:TokenIssueTime": "2025-01-15T10:00:00Z"}}
    assert ("user/mallory", "sessions-revoked") in [(c.resource, c.change) for c in result.changes]
    (alert,) = deployed.sink.alerts
    assert ("user/mallory", "sessions-revoked") in [(i.subject, i.finding) for i in alert.items]
    assert "user/mallory: sessions-revoked" in alert.summary


def test_a_later_tamper_overwrites_the_cut_off(deployed: Harness) -> None:
    deployed.create_user("mallory", enrolled=True)
    for minutes in (0, 30):
        deployed.now = deployed.now.replace(minute=minutes)
        deployed.client.detach_group_policy(GroupName=GROUP, PolicyArn=POLICY_ARN)
        deployed.run(sample("detach-group-policy", userIdentity=by("mallory")))

    policy = revocation(deployed, "mallory")
    assert policy is not None
    assert policy["Statement"][0]["Condition"]["DateLessThan"]["aws:TokenIssueTime"] == "2025-01-15T10:30:00Z"
    assert deployed.client.list_user_policies(UserName="mallory")["PolicyNames"] == [REVOKE_SESSIONS_POLICY]


def test_a_guarded_user_who_removed_someone_from_the_group_loses_their_sessions(deployed: Harness) -> None:
    deployed.create_user("mallory", enrolled=True)
    deployed.create_user("dev-bob", enrolled=True)
    deployed.client.remove_user_from_group(GroupName=GROUP, UserName="dev-bob")

    result = deployed.run(sample("remove-user-from-group", userIdentity=by("mallory")))

    assert result.action == "healed"
    assert deployed.groups_of("dev-bob") == [GROUP]
    assert revocation(deployed, "mallory") is not None


def test_an_exempt_administrator_is_healed_around_but_never_revoked(deployed: Harness) -> None:
    deployed.create_user("ops-admin", {"iam-guard:exempt": "true"})
    deployed.client.detach_group_policy(GroupName=GROUP, PolicyArn=POLICY_ARN)

    result = deployed.run(sample("detach-group-policy"))  # the sample's caller is user/ops-admin

    assert result.action == "healed"
    assert revocation(deployed, "ops-admin") is None


def test_a_role_is_never_revoked(deployed: Harness) -> None:
    deployed.create_user("mallory", enrolled=True)
    deployed.client.detach_group_policy(GroupName=GROUP, PolicyArn=POLICY_ARN)
    role = {
        "type": "AssumedRole",
        "arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/mallory/mallory",
        "accountId": ACCOUNT,
        "sessionContext": {"sessionIssuer": {"type": "Role", "arn": f"arn:aws:iam::{ACCOUNT}:role/mallory"}},
    }

    result = deployed.run(sample("detach-group-policy", userIdentity=role))

    assert result.action == "healed"
    assert revocation(deployed, "mallory") is None


def test_a_forged_event_naming_a_user_revokes_nothing(deployed: Harness) -> None:
    """Anyone allowed to invoke the enforcer can hand it an event: IAM must confirm the tampering."""
    deployed.create_user("victim", enrolled=True)
    deployed.create_user("dev-bob", enrolled=True)  # still in the group: the removal never happened

    intact = deployed.run(sample("detach-group-policy", userIdentity=by("victim")))
    removal = deployed.run(sample("remove-user-from-group", userIdentity=by("victim")))

    assert intact.action == "intact"
    assert removal.action == "healed"  # re-adding is idempotent and harmless
    assert revocation(deployed, "victim") is None


def test_a_dry_run_only_says_it_would_revoke(deployed: Harness) -> None:
    deployed.create_user("mallory", enrolled=True)
    deployed.client.detach_group_policy(GroupName=GROUP, PolicyArn=POLICY_ARN)

    dry = replace(deployed.settings, dry_run=True)
    result = deployed.run(sample("detach-group-policy", userIdentity=by("mallory")), settings=dry)

    assert ("user/mallory", "would-revoke-sessions") in [(c.resource, c.change) for c in result.changes]
    assert revocation(deployed, "mallory") is None
