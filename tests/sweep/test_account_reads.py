"""The sweep's six account-wide reads go out at once: none needs another's answer, and on IAM each is a
round trip to us-east-1 while the report may take seconds to build. Every read has finished when the
reads return or fail, and a failure is the one the reads made one after another would have met first.

A stand-in gateway (the six methods ``core.sweep.report.read_account`` calls) answers from memory, so what
is asserted is the scheduling and the error order; the answers' parsing is the Stubber's and moto's
tests' (tests/sweep/test_sweep_real_iam.py, tests/sweep/test_sweep_parity.py).
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from typing import Any, cast

import pytest

from core.aws.iam import AccountDetails, CredentialReport, IamGateway
from core.model.errors import AccessDeniedError, AwsError, CredentialReportError
from core.sweep.report import REPORT_ATTEMPTS, read_account

pytestmark = pytest.mark.unit

GENERATED = datetime(2026, 1, 1, tzinfo=UTC)
READS = (
    "GenerateCredentialReport",
    "GetAccountAuthorizationDetails",
    "ListVirtualMFADevices",
    "GetAccountSummary",
    "ListServiceSpecificCredentials",
    "GetAccountPasswordPolicy",
)


class Account:
    """The account-wide reads, each first waiting at ``gate`` (if any), failing where told to."""

    def __init__(self, gate: threading.Barrier | None = None, fail: dict[str, Exception] | None = None):
        self.gate = gate
        self.fail = fail or {}
        self.finished: list[str] = []
        self.lock = threading.Lock()
        self.report_states = ["STARTED", "INPROGRESS", "COMPLETE"]

    def _read(self, operation: str, answer: Any) -> Any:
        if self.gate is not None:
            self.gate.wait()
        try:
            if operation in self.fail:
                raise self.fail[operation]
            return answer
        finally:
            with self.lock:
                self.finished.append(operation)

    def generate_credential_report(self) -> str:
        return str(self._read("GenerateCredentialReport", self.report_states.pop(0)))

    def get_credential_report(self) -> CredentialReport:
        return CredentialReport(rows=[], generated_at=GENERATED)

    def account_details(self) -> AccountDetails:
        return cast(AccountDetails, self._read("GetAccountAuthorizationDetails", AccountDetails()))

    def virtual_mfa_assignments(self) -> tuple[set[str], bool]:
        return cast(tuple[set[str], bool], self._read("ListVirtualMFADevices", ({"alice"}, True)))

    def account_summary(self) -> dict[str, int]:
        return cast(dict[str, int], self._read("GetAccountSummary", {"AccountMFAEnabled": 1}))

    def all_service_specific_credentials(self) -> list[dict[str, Any]]:
        return cast(list[dict[str, Any]], self._read("ListServiceSpecificCredentials", []))

    def account_password_policy(self) -> dict[str, Any] | None:
        return cast("dict[str, Any] | None", self._read("GetAccountPasswordPolicy", None))


def gateway(account: Account) -> IamGateway:
    return cast(IamGateway, account)


def test_the_six_reads_are_in_flight_together() -> None:
    # Returns only if all six wait at the gate at the same time (one after another it times out).
    account = Account(threading.Barrier(len(READS), timeout=10))
    account.report_states = ["COMPLETE"]

    reads = read_account(gateway(account), sleep=lambda _: None)

    assert sorted(account.finished) == sorted(READS)
    assert reads.virtual_mfa == ({"alice"}, True)
    assert reads.summary == {"AccountMFAEnabled": 1}
    assert reads.password_policy is None


def test_the_other_reads_are_done_while_the_report_is_polled() -> None:
    account = Account()
    waited: list[float] = []

    def sleep(seconds: float) -> None:  # the report's poll waits: the other five are done meanwhile
        waited.append(seconds)
        deadline = time.monotonic() + 5
        while len(account.finished) < len(READS) and time.monotonic() < deadline:
            time.sleep(0.001)

    read_account(gateway(account), sleep=sleep)

    assert waited == [1.0, 1.0]
    # One after another, the five would start after the report's last poll (and each wait time out).
    assert set(account.finished[1:6]) == set(READS[1:])
    assert account.finished[-2:] == ["GenerateCredentialReport"] * 2  # INPROGRESS, then COMPLETE


def test_a_failure_is_the_first_in_sequential_order_and_raised_after_every_read_finished() -> None:
    late = threading.Event()
    account = Account(
        fail={
            "ListServiceSpecificCredentials": AwsError(
                "ListServiceSpecificCredentials", "Throttling", "Rate exceeded"
            ),
            "GetAccountAuthorizationDetails": AccessDeniedError(
                "GetAccountAuthorizationDetails", "AccessDenied", "not allowed"
            ),
        }
    )
    account.report_states = ["COMPLETE"]
    original = account.account_password_policy

    def slow_policy() -> dict[str, Any] | None:
        time.sleep(0.2)
        late.set()
        return original()

    account.account_password_policy = slow_policy  # type: ignore[method-assign]

    with pytest.raises(AccessDeniedError, match="GetAccountAuthorizationDetails"):
        read_account(gateway(account), sleep=lambda _: None)

    assert late.is_set()  # the slowest read had finished: no thread is left running after the raise
    assert sorted(account.finished) == sorted(READS)


def test_a_report_never_ready_is_the_reports_error_even_when_another_read_failed() -> None:
    account = Account(fail={"GetAccountSummary": AwsError("GetAccountSummary", "ServiceFailure", "down")})
    account.report_states = ["STARTED"] + ["INPROGRESS"] * REPORT_ATTEMPTS

    with pytest.raises(CredentialReportError, match=f"not ready after {REPORT_ATTEMPTS} attempts"):
        read_account(gateway(account), sleep=lambda _: None)
