"""``iam-guard audit --org`` over a moto organisation (52 members, nested OUs), through real AssumeRole."""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from typing import Any

import boto3
import pytest
from tests.organizations.conftest import GROUP, MANAGEMENT, Org, pinned_client

from cli.main import main

pytestmark = pytest.mark.slow  # a 52-account emulated organisation


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["audit", "--org", *args])
    out, err = capsys.readouterr()
    return code, out, err


def audit_json(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any], str]:
    code, out, err = run(capsys, "--format", "json", "--grace-days", "0", *args)
    return code, json.loads(out), err


def members_of(client: Any) -> set[str]:
    return {u["UserName"] for u in client.get_group(GroupName=GROUP)["Users"]}


def test_every_member_is_swept_with_exact_findings_and_one_assume_role(
    moto_org: Org, sts_calls: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    code, document, err = audit_json(capsys, "--dry-run")

    assert code == 0, err
    assert document["organization_id"] == moto_org.organization_id
    by_account = {a["account_id"]: a for a in document["accounts"]}
    assert sorted(by_account) == sorted(moto_org.members)  # nested OUs included, management not
    assert document["skipped"] == [
        {"account_id": MANAGEMENT, "reason": "management account (runs its own single-account stack)"}
    ]
    for index, account_id in enumerate(moto_org.members):
        entry = by_account[account_id]
        assert entry["status"] == "ok"
        assert entry["error"] is None
        assert entry["report_generated_at"]
        assert {(f["user"], f["finding"]) for f in entry["findings"]} == moto_org.expected(index), account_id
        assert {f["account_id"] for f in entry["findings"]} == {account_id}
        statuses = {f["finding"]: f["status"] for f in entry["findings"]}
        assert statuses.get("not-in-secured-group", "would-enrol") == "would-enrol"
        assert entry["iam_calls"] == 8  # the single-account budget on moto (docs/sweep.md#the-budget)
        assert entry["assume_role_calls"] == 1
        assert entry["write_role_assumed"] is False
    # Counted independently of IAM Guard's own counters: one AssumeRole per member, audit role only.
    arns = Counter(p["RoleArn"] for p in sts_calls["assume"])
    assert arns == Counter(f"arn:aws:iam::{a}:role/IAMGuardAuditRole" for a in moto_org.members)
    assert {p["RoleSessionName"] for p in sts_calls["assume"]} == {"iam-guard-audit"}
    assert {p["SourceIdentity"] for p in sts_calls["assume"]} == {"iam-guard"}
    assert {p["DurationSeconds"] for p in sts_calls["assume"]} == {900}
    totals = document["totals"]
    assert totals["accounts"] == totals["accounts_ok"] == 52
    assert totals["accounts_failed"] == 0
    assert totals["by_finding"]["console-without-mfa"] == 52
    assert totals["by_finding"]["not-in-secured-group"] == len(range(0, 52, 3))
    assert totals["by_finding"]["access-key-without-mfa"] == len(range(0, 52, 5))
    assert totals["assume_role_calls"] == 52
    # A dry run changed nothing: carol is still outside the group.
    assert "carol" not in members_of(pinned_client("iam", moto_org.members[0]))


def test_an_assume_role_denied_in_one_account_fails_that_account_only(
    moto_org: Org, sts_calls: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    victim = moto_org.members[7]
    sts_calls["deny"].add(f"arn:aws:iam::{victim}:role/IAMGuardAuditRole")

    code, document, err = audit_json(capsys, "--dry-run")

    by_account = {a["account_id"]: a for a in document["accounts"]}
    failed = by_account[victim]
    assert failed["status"] == "failed"
    assert failed["error"] == "AssumeRole failed: AccessDenied: not authorized to perform sts:AssumeRole"
    assert failed["findings"] == []
    assert [a for a, e in by_account.items() if e["status"] != "ok"] == [victim]
    assert document["totals"]["accounts_failed"] == 1
    assert code == 0, err  # 1 of 52 = 1.9%, within the default 5%

    code, document, err = audit_json(capsys, "--dry-run", "--max-failed-percent", "1")

    assert code == 1  # 1.9% > 1%
    assert document["totals"]["accounts_failed"] == 1  # the result was printed all the same
    assert err.startswith("iam-guard audit: 1 of 52 accounts failed (1.9% > 1%); first: ")
    assert "AssumeRole failed: AccessDenied" in err
    assert len(err.strip().splitlines()) == 1


def test_writes_assume_the_write_role_only_in_accounts_that_need_one(
    small_org: Org, sts_calls: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    for account_id in small_org.members:  # the steady state: members carry the enrolled tag already
        client = pinned_client("iam", account_id)
        for name in members_of(client):
            client.tag_user(UserName=name, Tags=[{"Key": "iam-guard:enrolled", "Value": "true"}])
    code, document, err = audit_json(capsys, "--apply")

    assert code == 0, err
    needing = {a for i, a in enumerate(small_org.members) if i % 3 == 0}  # carol outside the group
    writes = [p["RoleArn"] for p in sts_calls["assume"] if p["RoleArn"].endswith("/IAMGuardEnforceRole")]
    assert sorted(writes) == sorted(f"arn:aws:iam::{a}:role/IAMGuardEnforceRole" for a in needing)
    assert {p["RoleSessionName"] for p in sts_calls["assume"] if "Enforce" in p["RoleArn"]} == {
        "iam-guard-write"
    }
    for entry in document["accounts"]:
        account_id = entry["account_id"]
        assert entry["write_role_assumed"] is (account_id in needing)
        assert entry["assume_role_calls"] == (2 if account_id in needing else 1)
        carol = [f for f in entry["findings"] if f["user"] == "carol"]
        assert [f["status"] for f in carol] == (["enrolled"] if account_id in needing else [])
        in_group = members_of(pinned_client("iam", account_id))
        assert ("carol" in in_group) is (account_id in needing)
    assert "carol" not in {u["UserName"] for u in boto3.client("iam").list_users()["Users"]}


def test_a_denied_write_role_fails_the_finding_and_the_exit_status(
    small_org: Org, sts_calls: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    victim = small_org.members[0]
    sts_calls["deny"].add(f"arn:aws:iam::{victim}:role/IAMGuardEnforceRole")

    code, document, err = audit_json(capsys, "--apply")

    entry = next(a for a in document["accounts"] if a["account_id"] == victim)
    (carol,) = [f for f in entry["findings"] if f["user"] == "carol"]
    assert entry["status"] == "ok"  # swept; one write failed
    assert carol["status"] == "failed"
    assert carol["detail"].endswith(
        "enrolment failed: AssumeRole failed: AccessDenied: not authorized to perform sts:AssumeRole"
    )
    assert code == 1
    assert err.startswith(f"iam-guard audit: {victim}: carol: enrolment failed: AssumeRole failed")


def test_table_and_csv_rows_carry_the_account_first(
    small_org: Org, sts_calls: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    victim = small_org.members[1]
    sts_calls["deny"].add(f"arn:aws:iam::{victim}:role/IAMGuardAuditRole")

    _, out, _ = run(capsys, "--format", "csv", "--dry-run", "--grace-days", "0", "--max-failed-percent", "50")
    rows = list(csv.DictReader(io.StringIO(out)))

    assert out.splitlines()[0].startswith("account_id,user,finding,")
    # The organisation's own finding first, on the management account (centralized root access is off).
    assert rows[0]["account_id"] == MANAGEMENT
    assert (rows[0]["user"], rows[0]["finding"]) == ("<organization>", "org-root-management-disabled")
    rows = rows[1:]
    assert {r["account_id"] for r in rows} == set(small_org.members)
    (failed,) = [r for r in rows if r["account_id"] == victim]
    assert failed["status"] == "failed"
    assert failed["detail"].startswith("AssumeRole failed: AccessDenied")
    for index, account_id in enumerate(small_org.members):
        if account_id != victim:
            found = {(r["user"], r["finding"]) for r in rows if r["account_id"] == account_id}
            assert found == small_org.expected(index)

    _, out, _ = run(capsys, "--dry-run", "--grace-days", "0", "--max-failed-percent", "50")
    lines = out.splitlines()
    assert lines[1].split()[0] == "ACCOUNT"
    assert lines[2].split()[:2] == [MANAGEMENT, "medium"]
    body = lines[3:-1]
    assert len(body) == len(rows)
    assert all(line.split()[0] in small_org.members for line in body)
    assert lines[-1].startswith("6 accounts swept (dry run): 5 ok, 1 failed, 1 skipped;")


def test_include_and_exclude(
    small_org: Org, sts_calls: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    excluded = small_org.members[2]

    code, document, _ = audit_json(
        capsys, "--dry-run", "--include-account", MANAGEMENT, "--exclude-account", excluded
    )

    swept = {a["account_id"] for a in document["accounts"]}
    assert code == 0
    assert swept == (set(small_org.members) - {excluded}) | {MANAGEMENT}
    assert document["skipped"] == [{"account_id": excluded, "reason": "excluded (--exclude-account)"}]
    assert f"arn:aws:iam::{excluded}:role/IAMGuardAuditRole" not in {
        p["RoleArn"] for p in sts_calls["assume"]
    }


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--include-account", "999999999999"], "account 999999999999 is not in the organisation"),
        (["--include-account", MANAGEMENT, "--exclude-account", MANAGEMENT], "is both included and excluded"),
    ],
)
def test_unknown_or_contradictory_accounts_are_refused_with_one_line(
    small_org: Org,
    sts_calls: dict[str, Any],
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    message: str,
) -> None:
    code, out, err = run(capsys, *args)

    assert code == 2
    assert out == ""
    assert message in err
    assert len(err.strip().splitlines()) == 1
    assert sts_calls["assume"] == []  # nothing was touched


@pytest.mark.parametrize(
    "args",
    [
        ["audit", "--org-role", "IAMGuardAuditRole"],
        ["audit", "--exclude-account", "123456789012"],
        ["audit", "--org", "--max-concurrency", "0"],
        ["audit", "--org", "--max-failed-percent", "101"],
        ["audit", "--org", "--exclude-account", "12345"],
        ["audit", "--org", "--org-role", "bad role"],
        ["enforce", "--event", "x.json", "--org-role", "a/b"],
    ],
)
def test_bad_org_flags_exit_2_with_one_line(capsys: pytest.CaptureFixture[str], args: list[str]) -> None:
    try:
        code: Any = main(args)
    except SystemExit as exited:  # argparse refuses before any command runs
        code = exited.code
    _, err = capsys.readouterr()

    assert code == 2
    assert len(err.strip().splitlines()) == 1
    assert "Traceback" not in err


def test_a_caller_that_may_not_list_the_accounts_gets_one_line_and_exit_1(
    small_org: Org, sts_calls: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    sts_calls["deny_list"] = True

    code, out, err = run(capsys, "--format", "json")

    assert code == 1
    assert out == ""
    assert err.strip() == (
        "iam-guard audit: ListAccounts failed: AccessDeniedException: not a delegated administrator"
    )
    assert sts_calls["assume"] == []


def test_the_org_json_lists_every_accounts_findings_at_the_top_and_fail_on_counts_any_account(
    small_org: Org, sts_calls: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    code, document, err = audit_json(capsys, "--fail-on", "critical")

    per_account = [f for entry in document["accounts"] for f in entry["findings"]]
    assert document["findings"] == document["organization_findings"] + per_account
    assert per_account
    assert all(f["account_id"] for f in per_account)
    critical = [f for f in per_account if f["severity"] == "critical" and f["status"] == "violation"]
    assert critical  # moto's root users have no MFA
    assert code == 3, err


def test_a_terminal_sees_how_many_accounts_are_done(
    small_org: Org,
    sts_calls: dict[str, Any],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import io

    from cli import progress

    shown = io.StringIO()
    terminal = progress.Progress(enabled=True, stream=shown)
    monkeypatch.setattr(progress.Progress, "for_terminal", classmethod(lambda cls, **_: terminal))

    code, document, err = audit_json(capsys, "--dry-run")

    total = len(document["accounts"])
    assert code in (0, 1), err
    assert f"iam-guard: {total}/{total} accounts swept" in shown.getvalue()
    assert shown.getvalue().endswith("\r\033[K")  # cleared when the sweep ends


def test_notify_owners_lists_each_members_owner_notifications_with_its_account(
    small_org: Org, sts_calls: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    first, second = small_org.members[:2]
    pinned_client("iam", first).tag_user(
        UserName="alice", Tags=[{"Key": "iam-guard:owner", "Value": "alice-owner@example.com"}]
    )

    code, document, err = audit_json(capsys, "--notify-owners", "--default-owner", "U0SECTEAM1")

    assert code in (0, 1), err
    notes = document["notifications"]
    by_account = {
        (n["account_id"], n["user"], n["owner"]) for n in notes if n["finding"] == "console-without-mfa"
    }
    assert (first, "alice", "alice-owner@example.com") in by_account  # the member's own owner tag
    assert (second, "alice", "U0SECTEAM1") in by_account  # untagged there: the default owner
    assert all(n["stage"] == "notice" for n in notes)  # no planned action: one notice each, nothing sent
    assert all("delivery" not in n for n in notes)
    per_account = [n for entry in document["accounts"] for n in entry.get("notifications", [])]
    assert len(per_account) == len(notes)


def test_send_notifications_with_org_is_refused_with_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "--send-notifications", "--state-table", "iam-guard_notifications")
    assert code == 2
    assert err.strip().splitlines() == [
        "iam-guard audit: --send-notifications: not yet available with --org (--notify-owners lists them)"
    ]
