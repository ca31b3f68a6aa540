"""Pure classification and formatting: no AWS, no moto."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta

import pytest
from tests.sweep.conftest import GROUP, make_settings

from core.model.alerts import Severity
from core.model.credential_report import ROOT, AccessKeySlot, parse_report, parse_row
from core.model.findings import (
    ACCESS_KEY_WITHOUT_MFA,
    CONSOLE_WITHOUT_MFA,
    EXEMPT,
    NOT_IN_SECURED_GROUP,
    ROOT_WITHOUT_MFA,
    Credentials,
    RootCredentials,
    Snapshot,
    UserRecord,
)
from core.sweep.alerts import should_send_digest
from core.sweep.classify import classify, credentials_from_report, mfa_finding_kind
from core.sweep.output import CSV_COLUMNS, to_csv, to_json, to_table
from core.sweep.result import SweepResult

NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)
REPORT_AT = NOW - timedelta(hours=3)


def slots(keys: int) -> tuple[AccessKeySlot, ...]:
    """``keys`` active keys, in slots 1 (and 2), created a week before NOW and never used."""
    return tuple(
        AccessKeySlot(i, i <= keys, NOW - timedelta(days=7) if i <= keys else None, None) for i in (1, 2)
    )


def creds(password: bool = False, keys: int = 0, mfa: bool = False) -> Credentials:
    return Credentials(password_enabled=password, mfa=mfa, source="report", keys=slots(keys))


def row(name: str, *, password: bool = False, keys: int = 0, mfa: bool = False) -> dict[str, str]:
    """A report row in IAM's format: a week-old user, password and keys set then, never used."""
    week_ago = (NOW - timedelta(days=7)).isoformat()
    cells = {
        "user": name,
        "arn": f"arn:aws:iam::111122223333:user/{name}",
        "user_creation_time": week_ago,
        "password_enabled": "true" if password else "false",
        "password_last_used": "no_information" if password else "N/A",
        "password_last_changed": week_ago if password else "N/A",
        "mfa_active": "true" if mfa else "false",
    }
    for slot in (1, 2):
        cells[f"access_key_{slot}_active"] = "true" if keys >= slot else "false"
        cells[f"access_key_{slot}_last_rotated"] = week_ago if keys >= slot else "N/A"
        cells[f"access_key_{slot}_last_used_date"] = "N/A"
    return cells


def user(
    name: str, *, age_days: float = 30, in_group: bool = True, tags: dict[str, str] | None = None
) -> UserRecord:
    return UserRecord(
        name=name,
        arn=f"arn:aws:iam::111122223333:user/{name}",
        created=NOW - timedelta(days=age_days),
        groups=frozenset({GROUP} if in_group else set()),
        tags=tags or {},
    )


def snapshot(users: list[UserRecord], rows: list[dict[str, str]], **kw: object) -> Snapshot:
    return Snapshot(
        report_generated_at=REPORT_AT,
        records=parse_report(rows),
        users=tuple(users),
        virtual_mfa_users=frozenset(kw.get("virtual_mfa", ())),  # type: ignore[arg-type]
        root=RootCredentials(password=True, access_keys=False, mfa=kw.get("root_mfa", True)),  # type: ignore[arg-type]
        live=kw.get("live", {}),  # type: ignore[arg-type]
    )


def kinds(findings: list, name: str) -> dict[str, str]:  # type: ignore[type-arg]
    return {f.finding: f.status for f in findings if f.user == name}


@pytest.mark.parametrize(
    ("c", "expected"),
    [
        (creds(password=True), CONSOLE_WITHOUT_MFA),
        (creds(password=True, keys=2), CONSOLE_WITHOUT_MFA),  # one finding per user and kind: console wins
        (creds(keys=1), ACCESS_KEY_WITHOUT_MFA),
        (creds(), None),  # nothing to sign in with: not an MFA finding
        (creds(password=True, keys=1, mfa=True), None),
        (None, None),
    ],
)
def test_mfa_finding_kind(c: Credentials | None, expected: str | None) -> None:
    assert mfa_finding_kind(c) == expected


def test_fresh_virtual_mfa_overrides_the_stale_report_column() -> None:
    stale = parse_row(row("ann", password=True, mfa=False))
    assert credentials_from_report(stale, virtual_mfa=True).mfa is True
    assert credentials_from_report(stale, virtual_mfa=False).mfa is False


def test_each_kind_with_its_severity() -> None:
    snap = snapshot(
        [user("con"), user("key"), user("out", in_group=False), user("idle")],
        [row("con", password=True), row("key", keys=1), row("out", mfa=True), row("idle")],
        root_mfa=False,
    )
    found = {(f.user, f.finding): f for f in classify(snap, make_settings(), NOW)}
    assert found[(ROOT, ROOT_WITHOUT_MFA)].severity is Severity.CRITICAL
    assert found[("con", CONSOLE_WITHOUT_MFA)].severity is Severity.HIGH
    assert found[("key", ACCESS_KEY_WITHOUT_MFA)].severity is Severity.HIGH
    assert found[("out", NOT_IN_SECURED_GROUP)].severity is Severity.MEDIUM
    assert set(found) == {
        (ROOT, ROOT_WITHOUT_MFA),
        ("con", CONSOLE_WITHOUT_MFA),
        ("key", ACCESS_KEY_WITHOUT_MFA),
        ("out", NOT_IN_SECURED_GROUP),
    }


def test_findings_come_most_severe_first() -> None:
    snap = snapshot(
        [user("a", in_group=False), user("b", tags={"iam-guard:exempt": "true"}), user("c")],
        [row("a"), row("b"), row("c", password=True)],
        root_mfa=False,
    )
    severities = [int(f.severity) for f in classify(snap, make_settings(), NOW)]
    assert severities == sorted(severities, reverse=True)
    assert severities[0] == Severity.CRITICAL


def test_root_mfa_unknown_or_present_is_no_finding() -> None:
    for root_mfa in (True, None):
        assert classify(snapshot([], [], root_mfa=root_mfa), make_settings(), NOW) == []


def test_grace_inside_and_after() -> None:
    snap = snapshot(
        [user("new", age_days=2), user("old", age_days=8)],
        [row("new", password=True), row("old", password=True)],
    )
    findings = classify(snap, make_settings(grace_days=7), NOW)
    new = next(f for f in findings if f.user == "new")
    old = next(f for f in findings if f.user == "old")
    assert (new.status, new.deadline) == ("grace", NOW - timedelta(days=2) + timedelta(days=7))
    assert old.status == "violation"


def test_zero_grace_days_means_violation_at_once() -> None:
    snap = snapshot([user("new", age_days=0.01)], [row("new", keys=1)])
    assert kinds(classify(snap, make_settings(grace_days=0), NOW), "new") == {
        ACCESS_KEY_WITHOUT_MFA: "violation"
    }


def test_group_membership_has_no_grace() -> None:
    snap = snapshot([user("new", age_days=0.5, in_group=False)], [row("new", mfa=True)])
    assert kinds(classify(snap, make_settings(grace_days=7), NOW), "new") == {
        NOT_IN_SECURED_GROUP: "violation"
    }


def test_listed_and_tagged_exemptions_yield_only_exempt() -> None:
    tagged = user("robot", in_group=False, tags={"iam-guard:exempt": "true"})
    listed = user("breakglass", in_group=False)
    snap = snapshot([tagged, listed], [row("robot", keys=1), row("breakglass", password=True)])
    findings = classify(snap, make_settings(exempt_users=frozenset({"breakglass"})), NOW)
    assert [(f.user, f.finding, f.status, f.detail) for f in findings] == [
        ("breakglass", EXEMPT, "exempt", "listed in settings"),
        ("robot", EXEMPT, "exempt", "tag iam-guard:exempt=true"),
    ]


def test_custom_exempt_tag_key() -> None:
    snap = snapshot([user("robot", tags={"team:no-mfa": "true"})], [row("robot", keys=1)])
    assert kinds(classify(snap, make_settings(), NOW), "robot") == {ACCESS_KEY_WITHOUT_MFA: "violation"}
    assert kinds(classify(snap, make_settings(exempt_tag_key="team:no-mfa"), NOW), "robot") == {
        EXEMPT: "exempt"
    }


def test_dated_exemption_valid_until_the_end_of_its_day() -> None:
    until = NOW.date().isoformat()
    snap = snapshot([user("tmp", tags={"iam-guard:exempt": until})], [row("tmp", keys=1)])
    (finding,) = classify(snap, make_settings(), NOW)
    assert finding.finding == EXEMPT
    assert finding.deadline is not None
    assert finding.deadline.date() == NOW.date()
    assert finding.deadline > NOW


def test_expired_or_malformed_exemption_is_said_and_ignored() -> None:
    expired = (NOW.date() - timedelta(days=1)).isoformat()
    for value in (expired, "yes please"):
        snap = snapshot([user("tmp", tags={"iam-guard:exempt": value})], [row("tmp", keys=1)])
        (finding,) = classify(snap, make_settings(), NOW)
        assert (finding.finding, finding.status) == (ACCESS_KEY_WITHOUT_MFA, "violation")
        assert f"iam-guard:exempt={value} not in force" in finding.detail


def test_user_missing_from_the_report_uses_live_credentials() -> None:
    live = {"late": Credentials(password_enabled=True, mfa=False, source="live")}
    snap = snapshot([user("late", age_days=10)], [], live=live)
    (finding,) = classify(snap, make_settings(), NOW)
    assert (finding.finding, finding.source) == (CONSOLE_WITHOUT_MFA, "live")


# --- formats and the quiet-run rule ----------------------------------------------------------------


def result_of(snap: Snapshot, **settings: object) -> SweepResult:
    s = make_settings(**settings)
    return SweepResult(
        account_id="111122223333",
        report_generated_at=REPORT_AT,
        swept_at=NOW,
        users_scanned=len(snap.users),
        findings=tuple(classify(snap, s, NOW)),
        dry_run=s.dry_run,
        remediate=s.remediate,
        group_name=s.group_name,
        grace_days=s.grace_days,
        alerts_sent=(),
    )


MIXED = snapshot(
    [
        user("con"),
        user("key", age_days=1),
        user("out", in_group=False),
        user("bg", tags={"iam-guard:exempt": "true"}),
    ],
    [row("con", password=True), row("key", keys=1), row("out", mfa=True), row("bg")],
    root_mfa=False,
)


def test_json_has_the_contract_fields() -> None:
    doc = json.loads(to_json(result_of(MIXED), iam_calls=7))
    assert doc["report_generated_at"] == REPORT_AT.isoformat()
    assert doc["iam_calls"] == 7
    assert {(f["user"], f["finding"], f["severity"], f["status"]) for f in doc["findings"]} == {
        (ROOT, ROOT_WITHOUT_MFA, "critical", "violation"),
        ("con", CONSOLE_WITHOUT_MFA, "high", "violation"),
        ("key", ACCESS_KEY_WITHOUT_MFA, "high", "grace"),
        ("out", NOT_IN_SECURED_GROUP, "medium", "violation"),
        ("bg", EXEMPT, "info", "exempt"),
    }
    assert doc["counts"][CONSOLE_WITHOUT_MFA] == 1


def test_csv_has_a_header_and_one_row_per_finding() -> None:
    rows = list(csv.DictReader(io.StringIO(to_csv(result_of(MIXED)))))
    assert tuple(rows[0].keys()) == CSV_COLUMNS
    assert len(rows) == 5
    assert {r["report_generated_at"] for r in rows} == {REPORT_AT.isoformat()}


def test_table_is_aligned_most_severe_first_with_a_summary() -> None:
    lines = to_table(result_of(MIXED), iam_calls=7).splitlines()
    assert REPORT_AT.isoformat() in lines[0]
    header, body, summary = lines[1], lines[2:-1], lines[-1]
    user_column = header.index("USER")
    assert all(line[user_column - 2 : user_column] == "  " for line in body)
    assert [line.split()[0] for line in body] == ["critical", "high", "high", "medium", "info"]
    # root, con and out are violations; key is 1 day old (grace 7); bg is exempt.
    assert summary == "4 users swept: 3 violation, 1 grace, 1 exempt, 7 IAM calls"


def test_table_without_findings_still_says_report_time_and_summary() -> None:
    lines = to_table(result_of(snapshot([user("ok")], [row("ok", password=True, mfa=True)]))).splitlines()
    assert lines == [
        f"Credential report generated {REPORT_AT.isoformat()}; swept {NOW.isoformat()}",
        "1 user swept: no findings",
    ]


def test_quiet_runs_skip_only_runs_where_nothing_needs_attention() -> None:
    calm = snapshot(
        [user("new", age_days=1), user("bg", tags={"iam-guard:exempt": "true"})],
        [row("new", password=True), row("bg")],
    )
    assert should_send_digest(result_of(calm), make_settings(quiet_runs=False))
    assert not should_send_digest(result_of(calm), make_settings(quiet_runs=True))
    assert should_send_digest(result_of(MIXED), make_settings(quiet_runs=True))
