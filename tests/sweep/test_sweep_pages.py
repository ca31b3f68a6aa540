"""The sweep on an account whose listings come in several pages, as real IAM serves them.

moto answers GetAccountAuthorizationDetails and ListVirtualMFADevices in one page; real IAM pages them
(and may send fewer items than asked, even none, with more to come). The same account, swept once as
moto answers and once served in small pages, must give exactly the same findings.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.harness.answers import page_answers
from tests.sweep.conftest import Account, make_settings


def test_findings_are_the_same_when_iam_pages_its_listings(account: Account) -> None:
    account.user("console", password=True)
    account.user("robot", keys=1)
    account.user("phone", password=True, virtual_mfa=True)
    account.user("outsider", password=True, virtual_mfa=True, in_group=False)
    account.user("late-phone", keys=1, virtual_mfa=True)
    account.user("breakglass", password=True, in_group=False, tags={"iam-guard:exempt": "true"})
    account.user("tagged-later", keys=1, tags={"iam-guard:exempt": "2999-01-01"})
    settings = make_settings(grace_days=0, dry_run=True)  # dry run: both sweeps see the same account
    now = datetime.now(UTC) + timedelta(hours=1)

    one_page = account.sweep(settings, now=now)
    user_pages = page_answers(account.client, "GetAccountAuthorizationDetails", "UserDetailList", page_size=2)
    device_pages = page_answers(account.client, "ListVirtualMFADevices", "VirtualMFADevices", page_size=1)
    paged = account.sweep(settings, now=now)

    assert paged.findings == one_page.findings
    assert paged.users_scanned == one_page.users_scanned == 7
    assert user_pages == [4]  # 7 users, 2 a page
    assert device_pages == [3]  # 3 virtual devices, 1 a page
    assert account.counter.calls["iam:GetAccountAuthorizationDetails"] == 4
    assert {f.user for f in paged.findings} >= {"console", "robot", "outsider", "breakglass", "tagged-later"}
    flagged = {f.user for f in paged.findings}
    assert not {"phone", "late-phone"} & flagged  # their devices are on different pages
