"""The sweep's findings in moto's Security Hub: imported once, updated in place, archived when fixed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber
from tests.report.securityhub.conftest import ACCOUNT_ID, Account, Hub, PartlyFailing, make_settings, sweep

from core.aws.securityhub import GENERATOR_PREFIX, SecurityHubGateway, Target
from core.model.alerts import AlertKind, Severity
from core.model.errors import FindingAccountError
from core.model.findings import Finding
from core.report.securityhub import finding_id, to_asff
from core.report.securityhub_import import import_findings

NOW = datetime.now(UTC) + timedelta(hours=1)  # past the grace (0 days) of users the tests create


def seed(account: Account) -> None:
    account.user("alice", password=True)  # console-without-mfa
    account.user("robot", keys=1)  # access-key-without-mfa
    account.user("carol", password=True, virtual_mfa=True)  # compliant: no finding
    account.user("outsider", password=True, virtual_mfa=True, in_group=False)  # not-in-secured-group
    account.user("contractor", tags={"iam-guard:exempt": "true"}, in_group=False)  # exempt


def ids_of(result: Any) -> set[str]:
    return {finding_id(ACCOUNT_ID, f.finding, f.user) for f in result.findings}


def test_a_sweep_imports_exactly_its_findings(account: Account, hub: Hub) -> None:
    seed(account)

    result = sweep(account, hub, now=NOW)

    stored = hub.by_id()
    assert set(stored) == ids_of(result)
    assert result.security_hub is not None
    assert result.security_hub.counts() == {
        "imported": len(result.findings),
        "archived": 0,
        "failed": 0,
        "reasserted": 0,
    }
    for f in result.findings:
        asff = stored[finding_id(ACCOUNT_ID, f.finding, f.user)]
        assert asff["GeneratorId"] == f"iam-guard/{f.finding}"
        assert asff["AwsAccountId"] == ACCOUNT_ID
        assert asff["RecordState"] == "ACTIVE"
    alice = stored[finding_id(ACCOUNT_ID, "console-without-mfa", "alice")]
    assert alice["Resources"][0]["Id"] == f"arn:aws:iam::{ACCOUNT_ID}:user/alice"
    assert alice["Compliance"]["Status"] == "FAILED"
    assert (
        stored[finding_id(ACCOUNT_ID, "not-in-secured-group", "outsider")]["Compliance"]["Status"] == "PASSED"
    )
    assert stored[finding_id(ACCOUNT_ID, "exempt", "contractor")]["Compliance"]["Status"] == "PASSED"
    root = stored[finding_id(ACCOUNT_ID, "root-without-mfa", "<root_account>")]  # moto's root has no MFA
    assert root["Resources"][0] == {
        "Type": "AwsAccount",
        "Id": f"AWS::::Account:{ACCOUNT_ID}",
        "Partition": "aws",
        "Region": "us-east-1",
    }


def test_the_digest_says_how_the_import_went(account: Account, hub: Hub) -> None:
    seed(account)

    result = sweep(account, hub)

    (digest,) = [a for a in account.sink.alerts if a.kind is AlertKind.SWEEP_DIGEST]
    assert dict(digest.details)["security_hub"] == (
        f"Security Hub: {len(result.findings)} imported, 0 archived, 0 failed"
    )


def test_a_second_unchanged_sweep_updates_in_place(account: Account, hub: Hub) -> None:
    seed(account)
    sweep(account, hub, now=NOW)
    first = hub.by_id()

    second_result = sweep(account, hub, now=NOW + timedelta(days=1))

    second = hub.by_id()
    assert set(second) == set(first)  # same IDs: no duplicates
    assert len(hub.findings()) == len(first)
    for fid, asff in second.items():
        if fid.endswith("/not-in-secured-group/outsider"):
            continue  # enrolled by the first sweep: archived now (next test)
        assert asff["CreatedAt"] == first[fid]["CreatedAt"]  # first seen, kept
        assert asff["UpdatedAt"] > first[fid]["UpdatedAt"]  # this sweep
        assert asff["RecordState"] == "ACTIVE"
    assert second_result.security_hub is not None
    assert second_result.security_hub.archived == 1


def test_a_user_who_adds_mfa_has_the_finding_passed_and_archived(account: Account, hub: Hub) -> None:
    seed(account)
    sweep(account, hub, now=NOW)
    account.enable_virtual_mfa("alice")

    result = sweep(account, hub, now=NOW + timedelta(hours=1))

    alice = hub.by_id()[finding_id(ACCOUNT_ID, "console-without-mfa", "alice")]
    assert alice["Compliance"]["Status"] == "PASSED"
    assert alice["RecordState"] == "ARCHIVED"
    assert alice["Compliance"]["RelatedRequirements"] == [
        "IAM.5",
        "IAM.19",
        "CIS AWS Foundations Benchmark v7.0.0/2.10",
    ]
    assert result.security_hub is not None
    assert result.security_hub.archived >= 1
    robot = hub.by_id()[finding_id(ACCOUNT_ID, "access-key-without-mfa", "robot")]
    assert robot["RecordState"] == "ACTIVE"  # still a problem


def test_a_deleted_user_and_a_newly_exempt_one_are_archived(account: Account, hub: Hub) -> None:
    seed(account)
    sweep(account, hub, now=NOW)
    account.client.delete_access_key(
        UserName="robot",
        AccessKeyId=account.client.list_access_keys(UserName="robot")["AccessKeyMetadata"][0]["AccessKeyId"],
    )
    account.client.remove_user_from_group(GroupName="IAMGuardSecuredUsers", UserName="robot")
    account.client.delete_user(UserName="robot")
    account.client.tag_user(UserName="alice", Tags=[{"Key": "iam-guard:exempt", "Value": "true"}])

    sweep(account, hub, now=NOW + timedelta(hours=1))

    stored = hub.by_id()
    for gone in (("access-key-without-mfa", "robot"), ("console-without-mfa", "alice")):
        asff = stored[finding_id(ACCOUNT_ID, *gone)]
        assert (asff["Compliance"]["Status"], asff["RecordState"]) == ("PASSED", "ARCHIVED"), gone
    exempt = stored[finding_id(ACCOUNT_ID, "exempt", "alice")]
    assert (exempt["Compliance"]["Status"], exempt["RecordState"]) == ("PASSED", "ACTIVE")


def test_a_problem_that_comes_back_is_active_again_and_first_seen_anew(account: Account, hub: Hub) -> None:
    seed(account)
    sweep(account, hub, now=NOW)
    account.enable_virtual_mfa("alice")
    sweep(account, hub, now=NOW + timedelta(days=1))  # archived
    device = next(d for d in account.client.list_mfa_devices(UserName="alice")["MFADevices"])
    account.client.deactivate_mfa_device(UserName="alice", SerialNumber=device["SerialNumber"])

    later = NOW + timedelta(days=2)
    sweep(account, hub, now=later)

    alice = hub.by_id()[finding_id(ACCOUNT_ID, "console-without-mfa", "alice")]
    assert (alice["Compliance"]["Status"], alice["RecordState"]) == ("FAILED", "ACTIVE")
    assert alice["CreatedAt"] == alice["UpdatedAt"]  # a new occurrence: first seen at this sweep
    assert len(hub.findings()) == len(set(hub.by_id()))


def test_only_iam_guards_active_findings_of_this_account_are_archived(account: Account, hub: Hub) -> None:
    """moto ignores GetFindings' Filters, and a Security Hub administrator sees its members' findings:
    what IAM Guard reads back is filtered again, so nobody else's finding is ever archived."""
    seed(account)
    target = Target(ACCOUNT_ID, "us-east-1")
    others = [
        {
            **to_asff(Finding("x", "console-without-mfa", Severity.HIGH, "violation"), target, now=NOW),
            "Id": "prowler/iam_user_mfa/x",
            "GeneratorId": "prowler-iam_user_mfa",
        },
        {
            **to_asff(
                Finding("x", "console-without-mfa", Severity.HIGH, "violation"),
                Target("210987654321", "us-east-1"),
                now=NOW,
            )
        },
    ]
    hub.reader.batch_import_findings(Findings=others)
    sent: list[dict[str, Any]] = []
    hub.client.meta.events.register(
        "before-parameter-build.securityhub.GetFindings", lambda params, **_: sent.append(params)
    )

    sweep(account, hub)

    stored = hub.by_id()
    assert stored["prowler/iam_user_mfa/x"]["RecordState"] == "ACTIVE"
    assert stored[finding_id("210987654321", "console-without-mfa", "x")]["RecordState"] == "ACTIVE"
    (params,) = sent
    assert params["Filters"] == {
        "ProductArn": [{"Value": target.product_arn, "Comparison": "EQUALS"}],
        "AwsAccountId": [{"Value": ACCOUNT_ID, "Comparison": "EQUALS"}],
        "GeneratorId": [{"Value": GENERATOR_PREFIX, "Comparison": "PREFIX"}],
        "RecordState": [{"Value": "ACTIVE", "Comparison": "EQUALS"}],
    }


# --- call counts -------------------------------------------------------------------------------------


def many(n: int) -> list[Finding]:
    return [Finding(f"user{i:03d}", "console-without-mfa", Severity.HIGH, "violation") for i in range(n)]


def test_250_findings_go_out_in_3_calls(hub: Hub) -> None:
    result = import_findings(hub.gateway, many(250), account_id=ACCOUNT_ID, now=NOW)

    assert hub.counter.calls == {"securityhub:GetFindings": 1, "securityhub:BatchImportFindings": 3}
    assert result.counts() == {"imported": 250, "archived": 0, "failed": 0, "reasserted": 0}
    assert len(hub.findings()) == 250


def test_reading_back_250_active_findings_takes_3_pages_and_archiving_them_3_calls(hub: Hub) -> None:
    import_findings(hub.gateway, many(250), account_id=ACCOUNT_ID, now=NOW)
    hub.counter.reset()

    result = import_findings(hub.gateway, [], account_id=ACCOUNT_ID, now=NOW + timedelta(days=1))

    assert hub.counter.calls == {"securityhub:GetFindings": 3, "securityhub:BatchImportFindings": 3}
    assert result.counts() == {"imported": 0, "archived": 250, "failed": 0, "reasserted": 0}
    assert {f["RecordState"] for f in hub.findings()} == {"ARCHIVED"}


def test_nothing_to_import_and_nothing_to_archive_costs_one_read(hub: Hub) -> None:
    result = import_findings(hub.gateway, [], account_id=ACCOUNT_ID, now=NOW)

    assert hub.counter.calls == {"securityhub:GetFindings": 1}
    assert result.ok


# --- failures ----------------------------------------------------------------------------------------


def test_a_partial_failure_names_the_refused_findings(mock_iam: Any) -> None:
    import boto3

    real = boto3.client("securityhub", region_name="us-east-1")
    hub = Hub(PartlyFailing(real, lambda f: f["Id"].endswith(("/user007", "/user123"))))

    result = import_findings(hub.gateway, many(150), account_id=ACCOUNT_ID, now=NOW)

    assert result.counts() == {"imported": 148, "archived": 0, "failed": 2, "reasserted": 0}
    assert not result.ok
    problem = result.problem() or ""
    assert f"iam-guard/{ACCOUNT_ID}/console-without-mfa/user007" in problem
    assert f"iam-guard/{ACCOUNT_ID}/console-without-mfa/user123" in problem
    assert "InvalidInput: injected refusal" in problem


def test_a_stubbed_failed_count_is_never_silent(mock_iam: Any) -> None:
    import boto3

    client = boto3.client("securityhub", region_name="us-east-1")
    fid = finding_id(ACCOUNT_ID, "console-without-mfa", "user000")
    with Stubber(client) as stub:
        stub.add_response("get_findings", {"Findings": []})
        stub.add_response(
            "batch_import_findings",
            {
                "FailedCount": 1,
                "SuccessCount": 0,
                "FailedFindings": [{"Id": fid, "ErrorCode": "AccessDenied", "ErrorMessage": "no"}],
            },
        )
        result = import_findings(SecurityHubGateway(client), many(1), account_id=ACCOUNT_ID, now=NOW)

    assert result.counts() == {"imported": 0, "archived": 0, "failed": 1, "reasserted": 0}
    assert fid in (result.problem() or "")


def test_throttling_is_retried(hub: Hub) -> None:
    hits = [0]

    def throttle_once(**_: Any) -> None:
        hits[0] += 1
        if hits[0] == 1:
            raise ClientError(
                {"Error": {"Code": "TooManyRequestsException", "Message": "slow"}}, "BatchImportFindings"
            )

    hub.client.meta.events.register("before-call.securityhub.BatchImportFindings", throttle_once)

    result = import_findings(hub.gateway, many(3), account_id=ACCOUNT_ID, now=NOW)

    assert result.ok
    assert hits[0] == 2
    assert len(hub.findings()) == 3


def test_security_hub_not_enabled_is_explained_and_nothing_is_lost(account: Account, hub: Hub) -> None:
    def not_subscribed(**_: Any) -> None:
        raise ClientError(
            {"Error": {"Code": "InvalidAccessException", "Message": "Account is not subscribed"}},
            "GetFindings",
        )

    hub.client.meta.events.register("before-call.securityhub.GetFindings", not_subscribed)
    seed(account)

    result = sweep(account, hub)

    assert result.security_hub is not None
    assert result.security_hub.counts() == {
        "imported": 0,
        "archived": 0,
        "failed": len(result.findings),
        "reasserted": 0,
    }
    assert "not enabled in this account and region" in (result.security_hub.problem() or "")
    assert [a.kind for a in account.sink.alerts] == [AlertKind.SWEEP_DIGEST]  # the digest still went out
    assert hub.counter.calls == {"securityhub:GetFindings": 1}


def test_a_failed_call_stops_the_import_and_counts_the_rest(hub: Hub) -> None:
    def denied(**_: Any) -> None:
        raise ClientError(
            {"Error": {"Code": "AccessDeniedException", "Message": "no"}}, "BatchImportFindings"
        )

    hub.client.meta.events.register("before-call.securityhub.BatchImportFindings", denied)

    result = import_findings(hub.gateway, many(250), account_id=ACCOUNT_ID, now=NOW)

    assert result.counts() == {"imported": 0, "archived": 0, "failed": 250, "reasserted": 0}
    assert hub.counter.calls["securityhub:BatchImportFindings"] == 1  # the next two not attempted
    assert "AccessDeniedException" in (result.problem() or "")


# --- the account ---------------------------------------------------------------------------------------


def test_findings_of_another_account_are_never_sent(hub: Hub) -> None:
    other = to_asff(many(1)[0], Target("210987654321", "us-east-1"), now=NOW)

    with pytest.raises(FindingAccountError, match="210987654321"):
        hub.gateway.batch_import([other], account_id=ACCOUNT_ID)

    assert "securityhub:BatchImportFindings" not in hub.counter.calls
    assert hub.findings() == []


def test_every_finding_is_imported_as_the_account_the_sweep_names(account: Account, hub: Hub) -> None:
    seed(account)
    sent: list[dict[str, Any]] = []
    hub.client.meta.events.register(
        "before-parameter-build.securityhub.BatchImportFindings",
        lambda params, **_: sent.extend(params["Findings"]),
    )

    sweep(account, hub, account_id=ACCOUNT_ID)

    assert sent
    assert {f["AwsAccountId"] for f in sent} == {ACCOUNT_ID}
    assert {f["ProductArn"] for f in sent} == {
        f"arn:aws:securityhub:us-east-1:{ACCOUNT_ID}:product/{ACCOUNT_ID}/default"
    }


def test_without_an_account_id_nothing_is_sent(hub: Hub) -> None:
    result = import_findings(hub.gateway, many(2), account_id="", now=NOW)

    assert result.counts()["failed"] == 2
    assert "no account ID" in (result.problem() or "")
    assert hub.counter.calls == {}


def test_the_import_is_off_unless_asked_for(account: Account, hub: Hub) -> None:
    seed(account)

    result = sweep(account, hub, make_settings(grace_days=0))

    assert result.security_hub is None
    assert hub.counter.calls == {}
    assert hub.findings() == []


def test_no_region_is_one_line_not_a_traceback(mock_iam: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    monkeypatch.delenv("AWS_REGION")

    result = import_findings(SecurityHubGateway(), many(1), account_id=ACCOUNT_ID, now=NOW)

    assert result.counts() == {"imported": 0, "archived": 0, "failed": 1, "reasserted": 0}
    assert "NoRegionError" in (result.problem() or "")
