"""What the sweep reports when acting fails: a remediation IAM refuses is ``failed``, never left as a
plain ``violation`` (which would read as "nobody tried"), and the keys are left as they were."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from tests.sweep.conftest import Account, make_settings

from core.model.alerts import AlertKind
from core.model.findings import ACCESS_KEY_WITHOUT_MFA, CONSOLE_WITHOUT_MFA

AfterGrace = Callable[[int], datetime]


def test_a_remediation_iam_refuses_is_failed_and_the_sweep_goes_on(
    account: Account, after_grace: AfterGrace
) -> None:
    account.user("robot", keys=1)
    account.user("console", password=True, keys=1)
    account.fail("UpdateAccessKey", "AccessDenied")

    result = account.sweep(make_settings(remediate=True), now=after_grace(7))

    found = {(f.user, f.finding): f for f in result.findings}
    for user, kind in (("robot", ACCESS_KEY_WITHOUT_MFA), ("console", CONSOLE_WITHOUT_MFA)):
        assert found[(user, kind)].status == "failed"
        assert "remediation failed: UpdateAccessKey failed: AccessDenied" in found[(user, kind)].detail
        assert account.key_statuses(user) == ["Active"]
    assert sorted(f.user for f in result.failures) == ["console", "robot"]
    [digest] = account.sink.alerts  # nothing was deactivated: no KEYS_DEACTIVATED alert
    assert digest.kind is AlertKind.SWEEP_DIGEST
    assert {(i.subject, i.status) for i in digest.items} >= {("robot", "failed"), ("console", "failed")}


def test_a_re_check_that_keeps_failing_is_failed_and_touches_no_key(
    account: Account, after_grace: AfterGrace
) -> None:
    account.user("robot", keys=2)
    hits = account.fail("ListMFADevices", "Throttling")

    result = account.sweep(make_settings(remediate=True), now=after_grace(7))

    [finding] = [f for f in result.findings if (f.user, f.finding) == ("robot", ACCESS_KEY_WITHOUT_MFA)]
    assert finding.status == "failed"
    assert "ListMFADevices failed: Throttling" in finding.detail
    assert hits[0] > 1  # throttling was retried before giving up
    assert account.counter.calls["iam:UpdateAccessKey"] == 0
    assert account.key_statuses("robot") == ["Active", "Active"]


def test_one_failure_does_not_stop_the_remediation_of_others(
    account: Account, after_grace: AfterGrace
) -> None:
    account.user("robot", keys=1)
    account.user("other", keys=1)
    account.fail(
        "UpdateAccessKey", "ConcurrentModification", times=10
    )  # robot's call, retried, then gives up

    result = account.sweep(make_settings(remediate=True), now=after_grace(7))

    statuses = {f.user: f.status for f in result.findings if f.finding == ACCESS_KEY_WITHOUT_MFA}
    assert sorted(statuses.values()) == ["failed", "remediated"]
    assert sorted(account.key_statuses("robot") + account.key_statuses("other")) == ["Active", "Inactive"]
