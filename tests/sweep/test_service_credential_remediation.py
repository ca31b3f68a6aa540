"""Opt-in deactivation of service-specific credentials (``RemediateServiceCredentials``): the access keys'
grace and re-check, never a delete; ``iam-guard audit`` writes nothing without ``--apply``.

moto 5 lacks the service-specific credential API: ``demo.moto_extras`` emulates it (IAM's request and
response shapes), so these prove what IAM Guard asks and decides, not IAM's own behaviour.
"""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

import boto3
import pytest
from tests.sweep.conftest import Account, make_settings

from core.aws.iam import IamGateway
from core.guardrail.apply import ensure_guardrail
from core.model.alerts import AlertKind
from core.model.findings import SERVICE_CREDENTIAL_ACTIVE
from core.model.settings import build_settings


def statuses(client: Any, user: str) -> list[str]:
    listed = client.list_service_specific_credentials(UserName=user)["ServiceSpecificCredentials"]
    return [c["Status"] for c in listed]


def finding_of(result, user: str):  # type: ignore[no-untyped-def]
    (found,) = [f for f in result.findings if (f.user, f.finding) == (user, SERVICE_CREDENTIAL_ACTIVE)]
    return found


def test_off_by_default_nothing_is_deactivated(account: Account) -> None:
    account.user("dev", virtual_mfa=True)
    account.service_credential("dev", "bedrock.amazonaws.com")

    result = account.sweep(make_settings(grace_days=0))

    assert "iam:UpdateServiceSpecificCredential" not in account.counter.calls
    assert finding_of(result, "dev").status == "violation"
    assert statuses(account.client, "dev") == ["Active"]


def test_past_grace_the_active_credentials_are_made_inactive_after_a_re_read(account: Account) -> None:
    account.user("dev", virtual_mfa=True)
    first = account.service_credential("dev", "bedrock.amazonaws.com")
    second = account.service_credential("dev", "codecommit.amazonaws.com")
    account.user("bg", tags={"iam-guard:exempt": "true"})
    account.service_credential("bg", "bedrock.amazonaws.com")

    result = account.sweep(make_settings(grace_days=0, remediate_service_credentials=True))
    calls = dict(account.counter.calls)

    done = finding_of(result, "dev")
    assert done.status == "remediated"
    assert first in done.detail
    assert second in done.detail
    assert statuses(account.client, "dev") == ["Inactive", "Inactive"]  # never deleted
    assert statuses(account.client, "bg") == ["Active"]  # exempt: never touched
    assert calls["iam:UpdateServiceSpecificCredential"] == 2
    # The re-check: one per-user listing besides the account-wide one.
    assert calls["iam:ListServiceSpecificCredentials"] == 2
    (alert,) = [a for a in account.sink.alerts if a.kind == AlertKind.KEYS_DEACTIVATED]
    assert "service-specific credentials of 1 user(s)" in alert.title
    assert "update-service-specific-credential --status Active" in alert.summary


def test_a_user_in_grace_keeps_the_credential(account: Account) -> None:
    account.user("new", virtual_mfa=True)
    account.service_credential("new", "bedrock.amazonaws.com")

    result = account.sweep(make_settings(grace_days=7, remediate_service_credentials=True))

    assert finding_of(result, "new").status == "grace"
    assert statuses(account.client, "new") == ["Active"]


def test_dry_run_says_what_it_would_do_and_writes_nothing(account: Account) -> None:
    account.user("dev", virtual_mfa=True)
    cred = account.service_credential("dev", "bedrock.amazonaws.com")

    result = account.sweep(make_settings(grace_days=0, remediate_service_credentials=True, dry_run=True))

    done = finding_of(result, "dev")
    assert done.status == "would-remediate"
    assert f"would deactivate {cred}" in done.detail
    assert statuses(account.client, "dev") == ["Active"]


def test_a_credential_deactivated_since_the_listing_is_left_alone(account: Account) -> None:
    """IAM's answer at the re-check decides, not the account-wide listing read moments before."""
    account.user("dev", virtual_mfa=True)
    cred = account.service_credential("dev", "bedrock.amazonaws.com")
    client = account.client

    event = "before-parameter-build.iam.ListServiceSpecificCredentials"

    def deactivate_first(params: dict[str, Any], **_: Any) -> None:
        if params.get("UserName") == "dev":  # the per-user re-check, not the AllUsers listing
            client.meta.events.unregister(event, deactivate_first)
            client.update_service_specific_credential(
                UserName="dev", ServiceSpecificCredentialId=cred, Status="Inactive"
            )

    client.meta.events.register(event, deactivate_first)

    result = account.sweep(make_settings(grace_days=0, remediate_service_credentials=True))

    assert [f for f in result.findings if f.finding == SERVICE_CREDENTIAL_ACTIVE] == []  # nothing left
    assert account.counter.calls["iam:UpdateServiceSpecificCredential"] == 1  # the test's own, not ours


def test_a_failed_write_is_a_failed_finding_and_the_run_goes_on(account: Account) -> None:
    account.user("dev", virtual_mfa=True)
    account.service_credential("dev", "bedrock.amazonaws.com")
    account.fail("UpdateServiceSpecificCredential", "AccessDenied")

    result = account.sweep(make_settings(grace_days=0, remediate_service_credentials=True))

    done = finding_of(result, "dev")
    assert done.status == "failed"
    assert "remediation failed" in done.detail


# --- the CLI: read-only unless --apply ---------------------------------------------------------------


@pytest.mark.e2e
@pytest.mark.parametrize(("apply", "expected"), [(False, "Active"), (True, "Inactive")])
def test_audit_deactivates_only_with_apply(moto_endpoint: str, apply: bool, expected: str) -> None:
    iam = boto3.client("iam", endpoint_url=moto_endpoint, region_name="us-east-1")
    ensure_guardrail(IamGateway(iam), build_settings(ip_restriction=False), "123456789012")
    iam.create_user(UserName="carol")
    iam.add_user_to_group(GroupName="IAMGuardSecuredUsers", UserName="carol")
    iam.create_service_specific_credential(UserName="carol", ServiceName="codecommit.amazonaws.com")
    args = ["--format", "json", "--grace-days", "0", "--remediate-service-credentials"]

    run = subprocess.run(
        [sys.executable, "-m", "cli.main", "audit", *args, *(["--apply"] if apply else [])],
        env={**os.environ, "AWS_ENDPOINT_URL": moto_endpoint},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert run.returncode in (0, 1), run.stderr
    assert statuses(iam, "carol") == [expected]
    assert ('"would-remediate"' in run.stdout) is not apply
