"""The guardrail policy's versions past v9: IAM numbers them v1, v2, ... v10, v11 and never reuses a number,
so "oldest" and "newest" are numeric orders (as strings, "v10" < "v9"). At IAM's limit of five versions
the enforcer deletes the oldest spare one; healing a switched default picks the newest matching version.
"""

from __future__ import annotations

import json
from typing import Any

from tests.enforce.conftest import POLICY_ARN, Harness, sample

from core.policy.compare import policies_equal
from core.policy.document import render_policy


def foreign(n: int) -> str:
    """A policy document that is not the guardrail (each one different)."""
    statement = {"Sid": f"Foreign{n}", "Effect": "Allow", "Action": "s3:ListAllMyBuckets", "Resource": "*"}
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


def version_ids(harness: Harness) -> list[str]:
    listed = harness.client.list_policy_versions(PolicyArn=POLICY_ARN)["Versions"]
    return sorted((v["VersionId"] for v in listed), key=lambda v: int(v.removeprefix("v")))


def default_id(harness: Harness) -> str:
    return str(harness.client.get_policy(PolicyArn=POLICY_ARN)["Policy"]["DefaultVersionId"])


def push_versions_to(harness: Harness, last: int, documents: dict[int, str] | None = None) -> None:
    """Create versions until ``v{last}`` exists, deleting the oldest to stay within IAM's five; the
    document of version n is ``documents[n]`` or a foreign one. Every new version becomes the default."""
    client, chosen = harness.client, documents or {}
    number = int(default_id(harness).removeprefix("v"))
    while number < last:
        number += 1
        if len(version_ids(harness)) == 5:
            client.delete_policy_version(PolicyArn=POLICY_ARN, VersionId=version_ids(harness)[0])
        created = client.create_policy_version(
            PolicyArn=POLICY_ARN, PolicyDocument=chosen.get(number, foreign(number)), SetAsDefault=True
        )
        assert created["PolicyVersion"]["VersionId"] == f"v{number}"  # IAM numbers them in order
    harness.counter.reset()


def rendered(harness: Harness) -> str:
    return json.dumps(render_policy(harness.settings))


def test_at_the_limit_past_v9_the_numerically_oldest_spare_version_is_deleted(deployed: Harness) -> None:
    push_versions_to(deployed, 12)
    assert version_ids(deployed) == ["v8", "v9", "v10", "v11", "v12"]
    deployed.create_user("dev-bob")

    result = deployed.run(sample("create-user"))

    deleted = [c.detail for c in result.changes if c.change == "policy-version-deleted"]
    assert deleted == ["v8"]  # not "v10", the smallest as text
    assert version_ids(deployed) == ["v9", "v10", "v11", "v12", "v13"]
    assert default_id(deployed) == "v13"
    assert policies_equal(deployed.default_document(), render_policy(deployed.settings))


def test_at_the_limit_with_v10_and_up_only_the_oldest_of_those_goes(deployed: Harness) -> None:
    push_versions_to(deployed, 21)
    assert version_ids(deployed) == ["v17", "v18", "v19", "v20", "v21"]
    deployed.create_user("dev-bob")

    result = deployed.run(sample("create-user"))

    assert [c.detail for c in result.changes if c.change == "policy-version-deleted"] == ["v17"]
    assert version_ids(deployed) == ["v18", "v19", "v20", "v21", "v22"]


def test_a_switched_default_is_healed_back_to_the_newest_matching_version(deployed: Harness) -> None:
    guardrail = rendered(deployed)
    push_versions_to(deployed, 12, documents={9: guardrail, 11: guardrail})
    assert version_ids(deployed) == ["v8", "v9", "v10", "v11", "v12"]
    deployed.create_user("dev-bob")

    result = deployed.run(sample("create-user"))

    restored = [c.detail for c in result.changes if c.change == "policy-version-restored"]
    assert restored == ["v12 -> v11"]  # the newest guardrail version, not v9
    assert default_id(deployed) == "v11"
    assert version_ids(deployed) == ["v8", "v9", "v10", "v11", "v12"]  # nothing created or deleted


def test_the_oldest_is_found_whatever_order_iam_lists_the_versions_in(deployed: Harness) -> None:
    """IAM does not promise an order: the same account, listed newest first."""
    push_versions_to(deployed, 12)

    def newest_first(parsed: dict[str, Any], **_: Any) -> None:
        parsed["Versions"].sort(key=lambda v: int(v["VersionId"].removeprefix("v")), reverse=True)

    deployed.client.meta.events.register("after-call.iam.ListPolicyVersions", newest_first)
    deployed.create_user("dev-bob")

    result = deployed.run(sample("create-user"))

    assert [c.detail for c in result.changes if c.change == "policy-version-deleted"] == ["v8"]
