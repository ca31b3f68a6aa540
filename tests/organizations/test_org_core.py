"""Pure parts of org mode and the fan-out bound: selection, StackSet targets, routing, concurrency."""

from __future__ import annotations

import threading
import time
from typing import Any

import boto3
import pytest
from tests.organizations.conftest import MANAGEMENT, Org

from core.aws.organizations import Account, OrganizationsGateway, select_accounts, stackset_target_accounts
from core.model.errors import InvalidInputError
from core.org.fanout import FanOutSettings, fan_out
from core.org.routing import RoutingIamClient, is_read_action


def test_selection_keeps_active_accounts_less_caller_and_management() -> None:
    accounts = [
        Account("111111111111"),
        Account("222222222222", status="SUSPENDED"),
        Account("333333333333"),
        Account("444444444444", status="PENDING_CLOSURE"),
        Account(MANAGEMENT),
    ]

    selection = select_accounts(accounts, caller_account_id="333333333333", management_account_id=MANAGEMENT)

    assert [a.account_id for a in selection.accounts] == ["111111111111"]
    assert dict(selection.skipped) == {
        "123456789012": "management account (runs its own single-account stack)",
        "222222222222": "not ACTIVE (SUSPENDED)",
        "333333333333": "the caller's own account (runs its own single-account stack)",
        "444444444444": "not ACTIVE (PENDING_CLOSURE)",
    }


def test_include_brings_back_caller_and_management_but_never_an_inactive_account() -> None:
    accounts = [Account("111111111111"), Account("222222222222", status="SUSPENDED"), Account(MANAGEMENT)]

    selection = select_accounts(
        accounts, caller_account_id=MANAGEMENT, management_account_id=MANAGEMENT, include=[MANAGEMENT]
    )

    assert [a.account_id for a in selection.accounts] == ["111111111111", MANAGEMENT]
    with pytest.raises(InvalidInputError, match="222222222222 is SUSPENDED, not ACTIVE"):
        select_accounts(
            accounts, caller_account_id=MANAGEMENT, management_account_id=MANAGEMENT, include=["222222222222"]
        )


def test_stackset_targets_recurse_every_ou_level_and_never_include_management(small_org: Org) -> None:
    gateway = OrganizationsGateway(boto3.client("organizations", region_name="us-east-1"))
    in_ou = {name: {a for a, where in small_org.placement.items() if where == name} for name in small_org.ous}

    root_targets = stackset_target_accounts(gateway, [small_org.root_id], MANAGEMENT)
    workloads = stackset_target_accounts(gateway, [small_org.ous["workloads"]], MANAGEMENT)
    prod_and_sandbox = stackset_target_accounts(
        gateway, [small_org.ous["prod"], small_org.ous["sandbox"]], MANAGEMENT
    )

    assert root_targets == sorted(small_org.members)  # management account sits under the root: excluded
    assert MANAGEMENT not in root_targets
    # workloads -> prod -> payments: the grandchild OU's accounts are targets too.
    assert in_ou["payments"]
    assert workloads == sorted(in_ou["workloads"] | in_ou["prod"] | in_ou["payments"])
    assert prod_and_sandbox == sorted(in_ou["prod"] | in_ou["payments"] | in_ou["sandbox"])


def test_the_fan_out_never_has_more_than_max_concurrency_in_flight() -> None:
    lock = threading.Lock()
    state = {"now": 0, "peak": 0}

    def work(item: int) -> int:
        with lock:
            state["now"] += 1
            state["peak"] = max(state["peak"], state["now"])
        time.sleep(0.01)
        with lock:
            state["now"] -= 1
        return item * 2

    results = fan_out(list(range(60)), work, 7)

    assert results == [i * 2 for i in range(60)]  # every item, in order
    assert state["peak"] == 7  # reached, never exceeded
    assert fan_out([], work, 7) == []


@pytest.mark.parametrize(("concurrency", "percent"), [(0, 5.0), (1001, 5.0), (40, -1.0), (40, 100.5)])
def test_fan_out_settings_refuse_out_of_range_values(concurrency: int, percent: float) -> None:
    with pytest.raises(ValueError, match="outside"):
        FanOutSettings(max_concurrency=concurrency, max_failed_percent=percent)


class _Client:
    def __init__(self, name: str) -> None:
        self.name = name
        self.calls: list[str] = []

    def __getattr__(self, method: str) -> Any:
        def call(**_: Any) -> str:
            self.calls.append(method)
            return self.name

        return call


def test_routing_reads_with_the_audit_client_and_assumes_the_write_role_once_on_first_write() -> None:
    read, write = _Client("read"), _Client("write")
    made: list[str] = []

    def factory() -> _Client:
        made.append("write")
        return write

    routing = RoutingIamClient(read, factory)
    assert routing.get_credential_report() == "read"
    assert routing.list_virtual_mfa_devices() == "read"
    assert routing.generate_credential_report() == "read"
    assert not routing.wrote
    assert made == []

    assert routing.add_user_to_group() == "write"
    assert routing.update_access_key() == "write"
    assert made == ["write"]  # one assumption for every write of the run
    assert routing.wrote


def test_a_failed_write_role_assumption_is_not_retried_for_every_write() -> None:
    attempts: list[int] = []

    def factory() -> Any:
        attempts.append(1)
        raise RuntimeError("AssumeRole failed: AccessDenied: no")

    routing = RoutingIamClient(_Client("read"), factory)
    for _ in range(3):
        with pytest.raises(RuntimeError, match="AccessDenied"):
            routing.add_user_to_group()
    assert attempts == [1]


@pytest.mark.parametrize(
    ("action", "read"),
    [
        ("iam:GetCredentialReport", True),
        ("iam:GenerateCredentialReport", True),
        ("iam:ListVirtualMFADevices", True),
        ("iam:AddUserToGroup", False),
        ("iam:UpdateAccessKey", False),
        ("iam:CreatePolicyVersion", False),
    ],
)
def test_read_actions_are_named_get_list_generate(action: str, read: bool) -> None:
    assert is_read_action(action) is read
