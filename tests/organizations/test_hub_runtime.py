"""The hub at run time, on moto: the generated workflow executed with stub functions (moto's Docker-free
Lambda echoes its input: the flow and the Distributed Map's settings are what is proven here), and each
hub handler run for real with a moto organisation."""

from __future__ import annotations

import copy
import dataclasses
import io
import json
import time
import zipfile
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws
from tests.conftest import load_event
from tests.organizations.conftest import GROUP, MANAGEMENT, Org, build_org, pinned_client

from core.aws.assume import RoleAssumer
from core.model.alerts import Alert, AlertKind, RecordingSink, Severity
from core.model.errors import InvalidEventError
from core.org.fanout import DEFAULT_MAX_CONCURRENCY, DEFAULT_MAX_FAILED_PERCENT
from core.org.sweep import AccountResult, summarize
from core.org.workflow import definition_json
from core.report.envelope import alert_envelope
from demo.lambda_context import FakeLambdaContext
from handlers import common, org_digest, org_enforcer, org_list_accounts, org_sweep

pytestmark = pytest.mark.slow  # the hub's state machine on moto's interpreter

SFN_CONFIG = {"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}}


def _stub_functions(names: tuple[str, ...]) -> dict[str, str]:
    iam = boto3.client("iam", region_name="us-east-1")
    role = iam.create_role(RoleName="stub", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("stub.py", "def handler(event, context):\n    return event\n")
    client = boto3.client("lambda", region_name="us-east-1")
    return {
        n: client.create_function(
            FunctionName=n,
            Runtime="python3.13",
            Role=role,
            Handler="stub.handler",
            Code={"ZipFile": archive.getvalue()},
        )["FunctionArn"]
        for n in names
    }


def test_the_generated_workflow_runs_in_moto_with_the_clis_fan_out_settings() -> None:
    with mock_aws(config=SFN_CONFIG):  # type: ignore[arg-type]
        arns = _stub_functions(("list", "sweep", "digest"))
        boto3.client("s3", region_name="us-east-1").create_bucket(Bucket="results")
        definition = (
            definition_json()
            .replace("${OrgListAccountsFunctionArn}", arns["list"])
            .replace("${OrgSweepAccountFunctionArn}", arns["sweep"])
            .replace("${OrgDigestFunctionArn}", arns["digest"])
            .replace("${OrgResultsBucket}", "results")
            .replace("${Partition}", "aws")
        )
        sfn = boto3.client("stepfunctions", region_name="us-east-1")
        role = "arn:aws:iam::123456789012:role/stub"
        machine = sfn.create_state_machine(name="org-sweep", definition=definition, roleArn=role)[
            "stateMachineArn"
        ]
        accounts = [f"{100000000000 + i}" for i in range(30)]
        # The list stub echoes its input: the run starts with what ListAccounts would return.
        started = sfn.start_execution(
            stateMachineArn=machine,
            name="run-1",  # always named: moto names an unnamed execution None
            input=json.dumps({"organization_id": "o-a1b2c3d4e5", "accounts": accounts, "skipped": []}),
        )["executionArn"]
        deadline = time.monotonic() + 120
        while (
            sfn.describe_execution(executionArn=started)["status"] == "RUNNING"
            and time.monotonic() < deadline
        ):
            time.sleep(0.2)
        execution = sfn.describe_execution(executionArn=started)
        (run,) = sfn.list_map_runs(executionArn=started)["mapRuns"]
        map_run = sfn.describe_map_run(mapRunArn=run["mapRunArn"])
        output = json.loads(execution["output"])
        manifest = output["results"]["ResultWriterDetails"]

    assert execution["status"] == "SUCCEEDED"
    assert map_run["maxConcurrency"] == DEFAULT_MAX_CONCURRENCY
    assert map_run["toleratedFailurePercentage"] == DEFAULT_MAX_FAILED_PERCENT
    assert map_run["itemCounts"]["total"] == map_run["itemCounts"]["succeeded"] == 30
    # The digest step got the ResultWriter manifest's location (moto writes the manifest only).
    assert manifest["Bucket"] == "results"
    assert manifest["Key"].startswith("sweeps/")
    assert manifest["Key"].endswith("/manifest.json")


# --- the handlers, for real, on a moto organisation -----------------------------------------------------


@pytest.fixture
def hub(monkeypatch: pytest.MonkeyPatch) -> Iterator[Org]:
    monkeypatch.setenv("IAM_GUARD_IP_RESTRICTION", "false")
    monkeypatch.setenv("IAM_GUARD_GRACE_DAYS", "0")
    with mock_aws():
        common.reset_caches()
        for cached in (
            org_sweep.assumer,
            org_list_accounts.organizations,
            org_digest.result_files,
            org_enforcer.assumer,
            org_enforcer.guardrail_cache,
        ):
            cached.cache_clear()
        recorder = RecordingSink()
        monkeypatch.setattr(org_digest, "alert_sink", lambda: recorder)
        monkeypatch.setattr(org_enforcer, "alert_sink", lambda: recorder)
        org = build_org(4)
        org.recorder = recorder  # type: ignore[attr-defined]
        yield org
    common.reset_caches()


def test_the_list_function_returns_the_members_but_not_the_hub_or_management(hub: Org) -> None:
    targets = org_list_accounts.list_accounts_handler({}, FakeLambdaContext("org-list-accounts"))

    assert targets["organization_id"] == hub.organization_id
    assert targets["accounts"] == sorted(hub.members)
    assert [s["account_id"] for s in targets["skipped"]] == [MANAGEMENT]


def test_org_exclude_accounts_skips_a_member_and_a_stale_id_does_not_stop_the_sweep(
    hub: Org, monkeypatch: pytest.MonkeyPatch
) -> None:
    excluded, gone = hub.members[1], "999999999999"  # a member; an account that left the organisation
    monkeypatch.setenv("IAM_GUARD_ORG_EXCLUDE_ACCOUNTS", f"{excluded}, {gone}")
    common.reset_caches()

    targets = org_list_accounts.list_accounts_handler({}, FakeLambdaContext("org-list-accounts"))

    assert targets["accounts"] == sorted(set(hub.members) - {excluded})
    assert {"account_id": excluded, "reason": "excluded (OrgExcludeAccounts)"} in targets["skipped"]
    assert targets["unknown_excluded"] == [gone]


def test_the_org_enforcer_leaves_an_excluded_member_alone(hub: Org, monkeypatch: pytest.MonkeyPatch) -> None:
    excluded = hub.members[1]
    monkeypatch.setenv("IAM_GUARD_ORG_EXCLUDE_ACCOUNTS", excluded)
    common.reset_caches()
    pinned_client("iam", excluded).create_user(UserName="newbie")
    assumer = org_enforcer.assumer()

    response = org_enforcer.lambda_handler(
        _sqs_event(_create_user_event(excluded, "newbie")), FakeLambdaContext("org-enforcer")
    )

    assert response == {"batchItemFailures": []}
    assert assumer.assume_calls[excluded] == 0  # never even assumed the member's role
    groups = pinned_client("iam", excluded).list_groups_for_user(UserName="newbie")["Groups"]
    assert groups == []
    assert hub.recorder.alerts == []  # type: ignore[attr-defined]


def test_the_per_account_function_sweeps_one_member_and_returns_its_summary(hub: Org) -> None:
    member = hub.members[0]  # index 0: alice, carol (outside the group), dave

    summary = org_sweep.sweep_account_handler(
        {"account_id": member, "organization_id": hub.organization_id}, FakeLambdaContext("org-sweep-account")
    )

    assert summary["account_id"] == member
    assert summary["status"] == "ok"
    assert summary["by_finding"] == {
        "access-key-without-mfa": 1,
        "console-without-mfa": 1,
        "not-in-secured-group": 1,
        "root-without-mfa": 1,
    }
    assert summary["by_status"] == {"enrolled": 1, "violation": 3}  # the hub's sweep writes: carol enrolled
    assert summary["worst"] == "critical"
    assert summary["assume_role_calls"] == 2  # audit, then the write role for the enrolment
    assert "carol" in {
        u["UserName"] for u in pinned_client("iam", member).get_group(GroupName=GROUP)["Users"]
    }
    assert hub.recorder.alerts == []  # type: ignore[attr-defined]  # no per-account alert: one digest per run


def test_the_per_account_function_refuses_malformed_input_with_one_line(hub: Org) -> None:
    with pytest.raises(InvalidEventError, match=r"^not a SweepAccountInput: account_id: "):
        org_sweep.sweep_account_handler(
            {"account_id": "nope", "organization_id": hub.organization_id},
            FakeLambdaContext("org-sweep-account"),
        )


def _result_entry(summary: dict[str, Any] | None, account: str, status: str = "SUCCEEDED") -> dict[str, Any]:
    """One child execution as Step Functions' ResultWriter documents it (Input/Output: JSON strings)."""
    entry: dict[str, Any] = {
        "ExecutionArn": f"arn:aws:states:us-east-1:111122223333:execution:x:{account}",
        "Input": json.dumps({"account_id": account, "organization_id": "o-a1b2c3d4e5"}),
        "Status": status,
    }
    if summary is not None:
        entry["Output"] = json.dumps(summary)
    else:
        entry.update({"Error": "Lambda.Unknown", "Cause": "The function timed out after 600 seconds\nmore"})
    return entry


def test_the_digest_reads_the_result_files_and_sends_one_alert_worst_accounts_first(hub: Org) -> None:
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket="results")
    bad = {
        "account_id": "222222222222",
        "status": "ok",
        "worst": "critical",
        "attention": 3,
        "attention_kinds": ["root-without-mfa"],
        "by_finding": {"root-without-mfa": 1},
        "by_status": {"violation": 3},
    }
    mild = {
        "account_id": "111111111111",
        "status": "ok",
        "worst": "high",
        "attention": 5,
        "attention_kinds": ["console-without-mfa"],
        "by_finding": {"console-without-mfa": 5},
        "by_status": {"violation": 5},
    }
    denied = {
        "account_id": "333333333333",
        "status": "failed",
        "error": "AssumeRole failed: AccessDenied: no",
    }
    files = {
        "sweeps/run/SUCCEEDED_0.json": [
            _result_entry(mild, "111111111111"),
            _result_entry(bad, "222222222222"),
            _result_entry(denied, "333333333333"),
        ],
        "sweeps/run/FAILED_0.json": [_result_entry(None, "444444444444", "FAILED")],
    }
    for key, body in files.items():
        s3.put_object(Bucket="results", Key=key, Body=json.dumps(body).encode())
    manifest = {
        "DestinationBucket": "results",
        "MapRunArn": "arn:aws:states:us-east-1:111122223333:mapRun:x/run",
        "ResultFiles": {
            "FAILED": [{"Key": "sweeps/run/FAILED_0.json", "Size": 1}],
            "PENDING": [],
            "SUCCEEDED": [{"Key": "sweeps/run/SUCCEEDED_0.json", "Size": 1}],
        },
    }
    s3.put_object(Bucket="results", Key="sweeps/run/manifest.json", Body=json.dumps(manifest).encode())
    event = {
        "targets": {
            "organization_id": "o-a1b2c3d4e5",
            "accounts": ["1", "2", "3", "4"],
            "skipped": [{"account_id": MANAGEMENT, "reason": "management"}],
        },
        "results": {
            "MapRunArn": "x",
            "ResultWriterDetails": {"Bucket": "results", "Key": "sweeps/run/manifest.json"},
        },
    }

    response = org_digest.digest_handler(event, FakeLambdaContext("org-digest"))

    (alert,) = hub.recorder.alerts  # type: ignore[attr-defined]
    assert response["accounts"] == 4
    assert alert.kind is AlertKind.ORG_SWEEP_DIGEST
    assert alert.severity is Severity.CRITICAL
    assert alert.title == "IAM org sweep: 2 of 4 accounts need attention, 2 failed"
    assert [i.subject for i in alert.items] == [
        "account/222222222222",  # critical first, although it has fewer findings
        "account/111111111111",
        "account/333333333333",
        "account/444444444444",
    ]
    assert alert.items[2].action == "AssumeRole failed: AccessDenied: no"
    assert alert.items[3].action == "Lambda.Unknown: The function timed out after 600 seconds"
    assert "1 skipped" in alert.summary


def test_a_sweep_stopped_by_the_failure_tolerance_still_sends_its_digest(hub: Org) -> None:
    event = {
        "targets": {"organization_id": "o-a1b2c3d4e5", "accounts": ["1"], "skipped": []},
        "map_error": {"Error": "States.ExceedToleratedFailureThreshold", "Cause": "too many failed"},
    }

    org_digest.digest_handler(event, FakeLambdaContext("org-digest"))

    (alert,) = hub.recorder.alerts  # type: ignore[attr-defined]
    assert alert.severity is Severity.HIGH
    assert alert.summary.startswith(
        "The sweep stopped early: States.ExceedToleratedFailureThreshold (too many failed). "
    )


def _sqs_event(*bodies: dict[str, Any]) -> dict[str, Any]:
    return {
        "Records": [
            {
                "messageId": f"m{i}",
                "receiptHandle": "r",
                "body": json.dumps(body),
                "attributes": {},
                "messageAttributes": {},
                "md5OfBody": "",
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:iam-guard_org-events",
                "awsRegion": "us-east-1",
            }
            for i, body in enumerate(bodies)
        ]
    }


def _create_user_event(account: str, user: str) -> dict[str, Any]:
    event = copy.deepcopy(load_event("enforcer-create-user.json"))
    event["account"] = account
    event["detail"]["requestParameters"]["userName"] = user
    return event


def test_the_org_enforcer_enrols_in_each_events_account_and_returns_only_retryable_failures(
    hub: Org, monkeypatch: pytest.MonkeyPatch
) -> None:
    from botocore.exceptions import ClientError

    ok_member, throttled, denied = hub.members[1], hub.members[2], hub.members[3]
    pinned_client("iam", ok_member).create_user(UserName="newbie")
    session = boto3.Session()
    codes = {throttled: "Throttling", denied: "AccessDenied"}

    def fail(params: dict[str, Any], **_: Any) -> None:
        account = params["RoleArn"].split(":")[4]
        if account in codes:
            raise ClientError({"Error": {"Code": codes[account], "Message": "injected"}}, "AssumeRole")

    session.events.register("provide-client-params.sts.AssumeRole", fail)
    assumer = RoleAssumer(session)
    assumer.sts.retrier.sleep = lambda _s: None  # throttling is retried with backoff: no real waits here
    monkeypatch.setattr(org_enforcer, "assumer", lambda: assumer)
    event = _sqs_event(
        _create_user_event(ok_member, "newbie"),
        _create_user_event(throttled, "x"),
        _create_user_event(denied, "y"),
    )

    response = org_enforcer.lambda_handler(event, FakeLambdaContext("org-enforcer"))

    assert response == {"batchItemFailures": [{"itemIdentifier": "m1"}]}  # only the throttled one retries
    assert "newbie" in {
        u["UserName"] for u in pinned_client("iam", ok_member).get_group(GroupName=GROUP)["Users"]
    }
    kinds = [a.kind for a in hub.recorder.alerts]  # type: ignore[attr-defined]
    assert AlertKind.USER_ENROLLED in kinds
    assert kinds.count(AlertKind.ENFORCEMENT_FAILED) == 2  # both failures alerted, one retried


def test_the_org_enforcer_asks_the_hubs_stackset_before_calling_a_spoke_change_a_rollout(
    hub: Org, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Through the Lambda handler: a change by a role named stacksets-exec-* while the hub's StackSet has
    no operation in that account is tampering (answers in AWS's format: moto lacks CallAs)."""
    from tests.organizations.test_spoke_issuers import EXEC_ROLE, STACK, HubCloudFormation, role_change_by

    monkeypatch.setenv("IAM_GUARD_STACK_NAME", STACK)
    common.reset_caches()
    member = hub.members[0]
    cfn = HubCloudFormation()
    cfn.operations()  # the StackSet has no operation at all
    monkeypatch.setattr(org_enforcer, "stacksets", lambda: cfn.gateway)
    event = role_change_by(EXEC_ROLE)
    event["account"] = member
    event["detail"]["userIdentity"]["accountId"] = member

    with cfn.stubber:
        response = org_enforcer.lambda_handler(_sqs_event(event), FakeLambdaContext("org-enforcer"))
    cfn.stubber.assert_no_pending_responses()

    (alert,) = hub.recorder.alerts  # type: ignore[attr-defined]
    assert response == {"batchItemFailures": []}
    assert alert.kind is AlertKind.INFRASTRUCTURE_TAMPERED
    assert "iam-guard-spoke had no operation in account" in alert.summary


def test_a_change_to_a_spoke_role_is_alerted_without_touching_the_member(hub: Org) -> None:
    member = hub.members[0]
    event = copy.deepcopy(load_event("enforcer-create-user.json"))
    event["account"] = member
    event["detail"].update(
        {"eventName": "DeleteRole", "requestParameters": {"roleName": "iamguardauditrole"}}
    )

    response = org_enforcer.lambda_handler(_sqs_event(event), FakeLambdaContext("org-enforcer"))

    (alert,) = hub.recorder.alerts  # type: ignore[attr-defined]
    assert response == {"batchItemFailures": []}
    assert alert.kind is AlertKind.INFRASTRUCTURE_TAMPERED
    assert alert.severity is Severity.CRITICAL
    assert alert.account_id == member
    assert alert.items[0].subject == "role/IAMGuardAuditRole"


def test_the_digest_relays_each_members_hidden_findings_alert_after_it_and_nothing_else(hub: Org) -> None:
    """A member's ``security-hub-finding-suppressed`` alert (someone hid its findings) reaches the hub's
    topic after the digest; any other kind, or an envelope that does not read back, is not sent."""
    hidden = Alert(
        kind=AlertKind.SECURITY_HUB_FINDING_SUPPRESSED,
        severity=Severity.HIGH,
        title="IAM Guard's Security Hub findings were hidden: 1 reasserted",
        summary="suppressed by mallory",
        account_id="222222222222",
        actor="arn:aws:iam::222222222222:user/mallory",
    )
    forged = dataclasses.replace(hidden, kind=AlertKind.ENFORCEMENT_FAILED, title="forged")
    account = AccountResult("222222222222", "ok", relayed=(hidden,))
    summary = summarize(account).to_dict()
    summary["relayed"] += [alert_envelope(forged), "{not json", json.dumps({"schema": "iam-guard.alert.v1"})]
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket="results")
    s3.put_object(
        Bucket="results",
        Key="sweeps/run/SUCCEEDED_0.json",
        Body=json.dumps([_result_entry(summary, "222222222222")]).encode(),
    )
    manifest = {
        "DestinationBucket": "results",
        "ResultFiles": {"SUCCEEDED": [{"Key": "sweeps/run/SUCCEEDED_0.json", "Size": 1}]},
    }
    s3.put_object(Bucket="results", Key="sweeps/run/manifest.json", Body=json.dumps(manifest).encode())
    event = {
        "targets": {"organization_id": "o-a1b2c3d4e5", "accounts": ["222222222222"], "skipped": []},
        "results": {
            "MapRunArn": "x",
            "ResultWriterDetails": {"Bucket": "results", "Key": "sweeps/run/manifest.json"},
        },
    }

    response = org_digest.digest_handler(event, FakeLambdaContext("org-digest"))

    digest, relayed = hub.recorder.alerts  # type: ignore[attr-defined]
    assert digest.kind is AlertKind.ORG_SWEEP_DIGEST
    assert (relayed.kind, relayed.account_id, relayed.actor) == (hidden.kind, hidden.account_id, hidden.actor)
    assert response["relayed"] == 1
