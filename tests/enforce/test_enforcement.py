"""The enforcer's core against moto: each event type, exemptions, healing, limits, failures, budget."""

from __future__ import annotations

import json
import threading
from datetime import timedelta
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from tests.enforce.conftest import GROUP, POLICY_ARN, Harness, make_settings, sample

from core.enforce.actions import NEW_USER_VISIBILITY_WAITS, REQUIRED_PERMISSIONS
from core.enforce.enforcer import is_retryable
from core.model.alerts import Alert, AlertKind, Severity
from core.model.errors import AccessDeniedError, DeliveryError, ThrottledError
from core.policy.compare import policies_equal
from core.policy.document import render_policy

ALLOW_ALL = json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
)
GUARDRAIL_READS = {"iam:ListAttachedGroupPolicies", "iam:GetPolicy", "iam:GetPolicyVersion"}


def kinds(harness: Harness) -> list[tuple[AlertKind, Severity]]:
    return [(a.kind, a.severity) for a in harness.sink.alerts]


def raise_code(code: str, times: int) -> Any:
    """A botocore before-call hook failing the next ``times`` calls with ``code``."""
    state = {"left": times, "raised": 0}

    def hook(model: Any, **_: Any) -> None:
        if state["left"] > 0:
            state["left"] -= 1
            state["raised"] += 1
            raise ClientError({"Error": {"Code": code, "Message": "injected"}}, model.name)

    hook.state = state  # type: ignore[attr-defined]
    return hook


# --- enrolment ---------------------------------------------------------------------------------------


def test_create_user_enrols_within_the_fresh_budget(deployed: Harness) -> None:
    deployed.create_user("dev-bob")
    result = deployed.run(sample("create-user"))
    calls = dict(deployed.counter.calls)
    assert result.action == "enrolled"
    assert deployed.groups_of("dev-bob") == [GROUP]
    assert kinds(deployed) == [(AlertKind.USER_ENROLLED, Severity.LOW)]
    assert deployed.sink.alerts[0].actor.endswith(
        "assumed-role/AWSReservedSSO_AdministratorAccess_0a1b2c3d4e5f6a7b/alice@example.com"
    )
    assert sum(calls.values()) <= 5
    assert set(calls) <= {*GUARDRAIL_READS, "iam:GetUser", "iam:AddUserToGroup"}


def test_warm_container_enrols_in_two_calls_until_the_cache_expires(deployed: Harness) -> None:
    deployed.create_user("dev-bob")
    deployed.run(sample("create-user"))
    deployed.create_user("dev-carol")
    warm = deployed.run(sample("create-user-tagged"))
    assert warm.action == "enrolled"
    assert warm.guardrail == "cached"
    assert deployed.counter.calls == {"iam:GetUser": 1, "iam:AddUserToGroup": 1}
    deployed.create_user("dev-dan")
    deployed.now += timedelta(minutes=6)
    later = deployed.run(sample("create-user", requestParameters={"userName": "dev-dan"}))
    assert later.guardrail == "verified"
    assert set(deployed.counter.calls) >= GUARDRAIL_READS


def test_first_run_without_a_deployed_guardrail_creates_it(harness: Harness) -> None:
    harness.create_user("dev-bob")
    result = harness.run(sample("create-user"))
    assert result.action == "enrolled"
    assert {c.change for c in result.changes} == {
        "policy-created",
        "group-created",
        "policy-attached",
        "added-to-group",
    }
    assert policies_equal(harness.default_document(), render_policy(harness.settings))
    assert kinds(harness) == [
        (AlertKind.TAMPER_HEALED, Severity.MEDIUM),
        (AlertKind.USER_ENROLLED, Severity.LOW),
    ]


def test_exemption_tag_given_in_create_user_counts(deployed: Harness) -> None:
    deployed.create_user("breakglass-admin")  # created without tags: only the event carries them
    result = deployed.run(sample("create-user-exempt"))
    assert result.action == "exempt"
    assert deployed.groups_of("breakglass-admin") == []
    assert kinds(deployed) == [(AlertKind.EXEMPT_USER_CREATED, Severity.INFO)]
    assert "tag iam-guard:exempt=true" in deployed.sink.alerts[0].summary


def test_listed_exemption(deployed: Harness) -> None:
    deployed.create_user("dev-bob")
    result = deployed.run(sample("create-user"), settings=make_settings(exempt_users=frozenset({"dev-bob"})))
    assert result.action == "exempt"
    assert "listed in settings" in result.reason
    assert deployed.groups_of("dev-bob") == []


@pytest.mark.parametrize(
    ("value", "action"),
    [
        ("2025-01-15", "exempt"),  # the last exempt day is today
        ("2025-03-01", "exempt"),
        ("2025-01-14", "enrolled"),  # expired yesterday
        ("yes", "enrolled"),  # not an exemption value: a typo must not exempt
        ("TRUE", "exempt"),
    ],
)
def test_tag_exemption_values(deployed: Harness, value: str, action: str) -> None:
    deployed.create_user("dev-bob", {"iam-guard:exempt": value})
    result = deployed.run(sample("create-access-key"))
    assert result.action == action
    assert deployed.groups_of("dev-bob") == ([] if action == "exempt" else [GROUP])


def test_current_tags_override_the_create_user_event(deployed: Harness) -> None:
    deployed.create_user("breakglass-admin", {"iam-guard:exempt": "2024-12-31"})  # edited since: expired
    result = deployed.run(sample("create-user-exempt"))
    assert result.action == "enrolled"


def test_access_key_for_a_user_outside_the_group_enrols_them(deployed: Harness) -> None:
    deployed.create_user("dev-bob")
    result = deployed.run(sample("create-access-key"))
    assert result.action == "enrolled"
    assert kinds(deployed) == [(AlertKind.USER_ENROLLED, Severity.MEDIUM)]


def test_access_key_for_an_enrolled_user_changes_nothing(deployed: Harness) -> None:
    deployed.create_user("dev-bob", enrolled=True)
    result = deployed.run(sample("create-access-key"))
    assert result.action == "already-enrolled"
    assert deployed.sink.alerts == []
    assert "iam:AddUserToGroup" not in deployed.counter.calls


def test_self_service_access_key_enrols_the_caller(deployed: Harness) -> None:
    deployed.create_user("dev-dave")
    assert deployed.run(sample("create-access-key-self")).action == "enrolled"
    assert deployed.groups_of("dev-dave") == [GROUP]


def test_login_profile_enrols(deployed: Harness) -> None:
    deployed.create_user("dev-bob")
    assert deployed.run(sample("create-login-profile")).action == "enrolled"
    assert deployed.groups_of("dev-bob") == [GROUP]


def test_root_access_key_is_a_critical_alert_and_no_iam_call(deployed: Harness) -> None:
    result = deployed.run(sample("create-access-key-root"))
    assert result.action == "root-key-alerted"
    assert kinds(deployed) == [(AlertKind.ROOT_ACCESS_KEY_CREATED, Severity.CRITICAL)]
    assert "AKIAEXAMPLEROOTKEY01" in deployed.sink.alerts[0].summary
    assert deployed.counter.total == 0


def test_unknown_user_is_a_no_op(deployed: Harness) -> None:
    result = deployed.run(sample("create-user"))  # dev-bob was never created (or deleted meanwhile)
    assert result.action == "user-not-found"
    assert result.changes == ()
    assert deployed.sink.alerts == []
    # Believed only after looking again over a few seconds (IAM is eventually consistent).
    assert deployed.counter.calls["iam:GetUser"] == 1 + len(NEW_USER_VISIBILITY_WAITS)
    assert deployed.slept == list(NEW_USER_VISIBILITY_WAITS)


def test_a_new_user_not_yet_visible_is_enrolled_once_iam_shows_it(deployed: Harness) -> None:
    deployed.create_user("dev-bob")
    not_yet = raise_code("NoSuchEntity", 2)
    deployed.client.meta.events.register("before-call.iam.GetUser", not_yet)

    result = deployed.run(sample("create-user"))

    assert result.action == "enrolled"
    assert deployed.groups_of("dev-bob") == [GROUP]
    assert deployed.slept == list(NEW_USER_VISIBILITY_WAITS[:2])


def test_tamper_events_do_not_wait_for_a_missing_user(deployed: Harness) -> None:
    result = deployed.run(sample("remove-user-from-group"))  # its user does not exist
    assert result.action == "user-not-found"
    assert deployed.slept == []


@pytest.mark.parametrize("name", ["failed-call", "own-role"])
def test_ignored_events_make_no_call(deployed: Harness, name: str) -> None:
    role = "arn:aws:iam::123456789012:role/iam-guard/iam-guard/iam-guard_enforcer"
    result = deployed.run(sample(name), ignore_arns=frozenset({role}))
    assert result.action == "ignored"
    assert deployed.counter.total == 0
    assert deployed.sink.alerts == []


# --- tampering ---------------------------------------------------------------------------------------


def test_user_removed_from_the_group_is_added_back(deployed: Harness) -> None:
    deployed.create_user("dev-bob", enrolled=True)
    deployed.run(sample("create-access-key"))  # warms the cache: tamper events must not use it
    deployed.client.remove_user_from_group(GroupName=GROUP, UserName="dev-bob")
    deployed.counter.reset()
    result = deployed.run(sample("remove-user-from-group"))
    assert result.action == "healed"
    assert result.guardrail == "verified"
    assert deployed.groups_of("dev-bob") == [GROUP]
    alert = deployed.sink.alerts[-1]
    assert (alert.kind, alert.severity) == (AlertKind.TAMPER_HEALED, Severity.HIGH)
    assert alert.actor == "arn:aws:iam::123456789012:user/ops-admin"
    assert "user/ops-admin" in alert.title


def test_removing_an_exempt_user_from_the_group_is_respected(deployed: Harness) -> None:
    deployed.create_user("dev-bob", {"iam-guard:exempt": "true"})
    result = deployed.run(sample("remove-user-from-group"))
    assert result.action == "exempt"
    assert deployed.groups_of("dev-bob") == []
    assert deployed.sink.alerts == []


def test_detached_policy_is_reattached(deployed: Harness) -> None:
    deployed.client.detach_group_policy(GroupName=GROUP, PolicyArn=POLICY_ARN)
    result = deployed.run(sample("detach-group-policy"))
    assert result.action == "healed"
    attached = deployed.client.list_attached_group_policies(GroupName=GROUP)["AttachedPolicies"]
    assert [p["PolicyArn"] for p in attached] == [POLICY_ARN]
    assert kinds(deployed) == [(AlertKind.TAMPER_HEALED, Severity.HIGH)]


def test_switched_default_version_is_switched_back(deployed: Harness) -> None:
    deployed.client.create_policy_version(PolicyArn=POLICY_ARN, PolicyDocument=ALLOW_ALL, SetAsDefault=False)
    deployed.client.set_default_policy_version(PolicyArn=POLICY_ARN, VersionId="v2")
    result = deployed.run(
        sample("set-default-policy-version", requestParameters={"policyArn": POLICY_ARN, "versionId": "v2"})
    )
    assert result.action == "healed"
    assert [(c.change, c.detail) for c in result.changes] == [("policy-version-restored", "v2 -> v1")]
    assert deployed.client.get_policy(PolicyArn=POLICY_ARN)["Policy"]["DefaultVersionId"] == "v1"


def test_rewritten_policy_gets_a_new_rendered_version(deployed: Harness) -> None:
    deployed.client.create_policy_version(PolicyArn=POLICY_ARN, PolicyDocument=ALLOW_ALL, SetAsDefault=True)
    deployed.client.delete_policy_version(PolicyArn=POLICY_ARN, VersionId="v1")
    result = deployed.run(sample("create-policy-version"))
    assert result.action == "healed"
    assert [c.change for c in result.changes] == ["policy-version-created"]
    assert policies_equal(deployed.default_document(), render_policy(deployed.settings))


def test_deleting_a_spare_version_leaves_nothing_to_heal(deployed: Harness) -> None:
    deployed.client.create_policy_version(PolicyArn=POLICY_ARN, PolicyDocument=ALLOW_ALL, SetAsDefault=False)
    deployed.client.delete_policy_version(PolicyArn=POLICY_ARN, VersionId="v2")
    result = deployed.run(sample("delete-policy-version"))
    assert result.action == "intact"
    assert deployed.sink.alerts == []
    assert set(deployed.counter.calls) >= GUARDRAIL_READS


def test_deleted_group_is_recreated_and_members_come_back_with_their_removal_events(
    deployed: Harness,
) -> None:
    deployed.create_user("dev-bob", enrolled=True)
    deployed.client.remove_user_from_group(GroupName=GROUP, UserName="dev-bob")
    deployed.client.detach_group_policy(GroupName=GROUP, PolicyArn=POLICY_ARN)
    deployed.client.delete_group(GroupName=GROUP)
    result = deployed.run(sample("delete-group"))
    assert result.action == "healed"
    assert {c.change for c in result.changes} == {"group-created", "policy-attached"}
    deployed.run(sample("remove-user-from-group"))
    assert deployed.groups_of("dev-bob") == [GROUP]


def test_deleted_policy_is_recreated_and_attached(deployed: Harness) -> None:
    deployed.client.detach_group_policy(GroupName=GROUP, PolicyArn=POLICY_ARN)
    deployed.client.delete_policy(PolicyArn=POLICY_ARN)
    result = deployed.run(sample("delete-policy"))
    assert {c.change for c in result.changes} == {"policy-created", "policy-attached"}
    assert policies_equal(deployed.default_document(), render_policy(deployed.settings))
    assert kinds(deployed) == [(AlertKind.TAMPER_HEALED, Severity.HIGH)]


def test_exemption_put_on_an_enrolled_user_never_removes_them(deployed: Harness) -> None:
    deployed.create_user("dev-bob", {"iam-guard:exempt": "true"}, enrolled=True)
    result = deployed.run(sample("tag-user-exempt"))
    assert result.action == "exempt-still-enrolled"
    assert deployed.groups_of("dev-bob") == [GROUP]
    assert kinds(deployed) == [(AlertKind.EXEMPTION_GRANTED, Severity.MEDIUM)]
    assert "sso.amazonaws.com" not in deployed.sink.alerts[0].summary  # the caller, not its role path
    assert "alice@example.com" in deployed.sink.alerts[0].summary


def test_invalid_exemption_value_put_on_an_outside_user_enrols_them(deployed: Harness) -> None:
    deployed.create_user("dev-bob", {"iam-guard:exempt": "sure"})
    event = sample(
        "tag-user-exempt",
        requestParameters={"userName": "dev-bob", "tags": [{"key": "iam-guard:exempt", "value": "sure"}]},
    )
    assert deployed.run(event).action == "enrolled"
    assert deployed.groups_of("dev-bob") == [GROUP]


def test_removed_exemption_enrols_the_user(deployed: Harness) -> None:
    deployed.create_user("breakglass-admin", {"purpose": "break-glass"})  # the tag is already gone
    result = deployed.run(sample("untag-user-exempt"))
    assert result.action == "enrolled"
    assert deployed.groups_of("breakglass-admin") == [GROUP]
    assert kinds(deployed) == [(AlertKind.USER_ENROLLED, Severity.MEDIUM)]
    assert "was removed" in deployed.sink.alerts[0].summary


# --- limits, dry run, failures -------------------------------------------------------------------------


def fill_with_foreign_versions(harness: Harness) -> None:
    """Five versions, none of them the rendered policy, the newest default."""
    for n in range(4):
        doc = json.loads(ALLOW_ALL)
        doc["Statement"][0]["Sid"] = f"Tamper{n}"
        harness.client.create_policy_version(
            PolicyArn=POLICY_ARN, PolicyDocument=json.dumps(doc), SetAsDefault=True
        )
    harness.client.delete_policy_version(PolicyArn=POLICY_ARN, VersionId="v1")
    harness.client.create_policy_version(PolicyArn=POLICY_ARN, PolicyDocument=ALLOW_ALL, SetAsDefault=True)
    harness.counter.reset()


def versions(harness: Harness) -> list[str]:
    return sorted(
        v["VersionId"] for v in harness.client.list_policy_versions(PolicyArn=POLICY_ARN)["Versions"]
    )


def test_five_version_limit_deletes_the_oldest_spare_version(deployed: Harness) -> None:
    fill_with_foreign_versions(deployed)
    assert versions(deployed) == ["v2", "v3", "v4", "v5", "v6"]
    deployed.create_user("dev-bob")
    result = deployed.run(sample("create-user"))
    assert [c.change for c in result.changes][:2] == ["policy-version-deleted", "policy-version-created"]
    assert versions(deployed) == ["v3", "v4", "v5", "v6", "v7"]
    assert policies_equal(deployed.default_document(), render_policy(deployed.settings))


def test_dry_run_changes_nothing_and_says_what_it_would_do(deployed: Harness) -> None:
    fill_with_foreign_versions(deployed)
    deployed.create_user("dev-bob")
    dry = make_settings(dry_run=True)
    result = deployed.run(sample("create-user"), settings=dry)
    assert result.dry_run
    assert result.action == "enrolled"
    assert [c.change for c in result.changes] == [
        "policy-version-deleted",
        "policy-version-created",
        "added-to-group",
    ]
    assert all(a.dry_run and a.title.startswith("[dry run]") for a in deployed.sink.alerts)
    assert versions(deployed) == ["v2", "v3", "v4", "v5", "v6"]
    assert deployed.groups_of("dev-bob") == []
    writes = {c for c in deployed.counter.calls if not c.split(":")[1].startswith(("Get", "List"))}
    assert writes == set()
    assert deployed.run(sample("create-user"), settings=dry).guardrail == "verified"  # drift is not cached


def test_throttling_is_retried(deployed: Harness) -> None:
    deployed.create_user("dev-bob")
    hook = raise_code("Throttling", 2)
    deployed.client.meta.events.register("before-call.iam.AddUserToGroup", hook)
    assert deployed.run(sample("create-user")).action == "enrolled"
    assert hook.state["raised"] == 2
    assert deployed.groups_of("dev-bob") == [GROUP]


def test_persistent_throttling_alerts_and_is_retryable(deployed: Harness) -> None:
    deployed.create_user("dev-bob")
    deployed.client.meta.events.register("before-call.iam.AddUserToGroup", raise_code("Throttling", 100))
    with pytest.raises(ThrottledError) as caught:
        deployed.run(sample("create-user"))
    assert is_retryable(caught.value)
    assert kinds(deployed) == [(AlertKind.ENFORCEMENT_FAILED, Severity.HIGH)]
    assert "Lambda retries the event" in deployed.sink.alerts[0].summary


def test_missing_permission_alerts_and_is_not_retried(deployed: Harness) -> None:
    deployed.create_user("dev-bob")
    deployed.client.meta.events.register("before-call.iam.AddUserToGroup", raise_code("AccessDenied", 1))
    with pytest.raises(AccessDeniedError, match=r"^AddUserToGroup failed: AccessDenied") as caught:
        deployed.run(sample("create-user"))
    assert not is_retryable(caught.value)
    assert "AddUserToGroup failed: AccessDenied" in deployed.sink.alerts[0].summary


class BrokenSink:
    def __init__(self) -> None:
        self.attempts: list[Alert] = []

    def send(self, alert: Alert) -> None:
        self.attempts.append(alert)
        raise DeliveryError("alert not delivered to SNS: Publish failed: AuthorizationError: denied")


def test_failed_alert_delivery_never_blocks_enforcement(deployed: Harness) -> None:
    deployed.create_user("dev-bob")
    deployed.sink = BrokenSink()  # type: ignore[assignment]
    result = deployed.run(sample("create-user"))
    assert result.action == "enrolled"
    assert deployed.groups_of("dev-bob") == [GROUP]
    assert result.delivery_errors == (
        "alert not delivered to SNS: Publish failed: AuthorizationError: denied",
    )


def test_concurrent_invocations_leave_at_most_five_versions(deployed: Harness) -> None:
    fill_with_foreign_versions(deployed)
    users = [f"burst-{n}" for n in range(8)]
    for user in users:
        deployed.create_user(user)
    errors: list[BaseException] = []
    results: list[str] = []
    barrier = threading.Barrier(len(users))

    def invoke(user: str) -> None:
        # Its own client, gateway and cache, like a separate Lambda container.
        own = Harness(boto3.client("iam", region_name="us-east-1"))
        barrier.wait()
        try:
            results.append(own.run(sample("create-user", requestParameters={"userName": user})).action)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=invoke, args=(u,)) for u in users]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert results == ["enrolled"] * len(users)
    assert len(versions(deployed)) <= 5
    assert policies_equal(deployed.default_document(), render_policy(deployed.settings))
    assert all(deployed.groups_of(u) == [GROUP] for u in users)


def test_required_permissions_cover_every_call_the_enforcer_made(deployed: Harness) -> None:
    fill_with_foreign_versions(deployed)
    deployed.create_user("dev-bob")
    deployed.run(sample("create-access-key"))
    made = set(deployed.counter.calls)
    deployed.client.detach_group_policy(GroupName=GROUP, PolicyArn=POLICY_ARN)
    deployed.counter.reset()
    deployed.run(sample("detach-group-policy"))
    made |= set(deployed.counter.calls)
    assert {"iam:DeletePolicyVersion", "iam:CreatePolicyVersion", "iam:AttachGroupPolicy"} <= made
    assert made <= REQUIRED_PERMISSIONS
    assert "iam:RemoveUserFromGroup" not in REQUIRED_PERMISSIONS  # the enforcer never removes anyone
