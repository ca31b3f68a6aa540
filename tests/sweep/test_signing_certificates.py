"""X.509 signing certificates, from the credential report's ``cert_*`` columns: no extra call.

On moto (``UploadSigningCertificate`` fills ``cert_<n>_active``; moto writes ``N/A`` for
``cert_<n>_last_rotated``) and on a served report in IAM's format (the upload time, for the age).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from tests.sweep.conftest import Account, make_settings
from tests.sweep.real_iam import WARM_READS, Cert, RealIam, ReportUser, Root

from core.aws.securityhub import Target
from core.model.credential_report import CertificateSlot, parse_row
from core.model.errors import CredentialReportError
from core.model.findings import CONTROLS, SEVERITY, SIGNING_CERTIFICATE_ACTIVE, SIGNING_CERTIFICATE_OLD
from core.report.securityhub import to_asff


def self_signed_certificate() -> str:
    """A throwaway self-signed X.509 certificate, PEM (moto parses what it is given)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "iam-guard-test")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM).decode()


NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)


def ago(days: float) -> datetime:
    return NOW - timedelta(days=days)


def found(result) -> dict[tuple[str, str], str]:  # type: ignore[no-untyped-def]
    return {(f.user, f.finding): f.status for f in result.findings}


def certs(result) -> dict[tuple[str, str], str]:  # type: ignore[no-untyped-def]
    return {k: v for k, v in found(result).items() if k[1].startswith("signing-certificate")}


# --- moto ----------------------------------------------------------------------------------------


def upload(account: Account, user: str) -> str:
    answer = account.client.upload_signing_certificate(
        UserName=user, CertificateBody=self_signed_certificate()
    )
    return str(answer["Certificate"]["CertificateId"])


def test_an_active_signing_certificate_on_a_guarded_user_is_found_on_moto(account: Account) -> None:
    account.user("dev", password=True, virtual_mfa=True)
    upload(account, "dev")
    account.user("off", virtual_mfa=True)
    cert = upload(account, "off")
    account.client.update_signing_certificate(UserName="off", CertificateId=cert, Status="Inactive")
    account.user("plain", virtual_mfa=True)
    account.user("bg", tags={"iam-guard:exempt": "true"})
    upload(account, "bg")

    result = account.sweep(make_settings(grace_days=0))

    assert certs(result) == {("dev", SIGNING_CERTIFICATE_ACTIVE): "violation"}
    assert found(result)[("bg", "exempt")] == "exempt"
    (finding,) = [f for f in result.findings if f.finding == SIGNING_CERTIFICATE_ACTIVE]
    assert "signing certificate 1" in finding.detail
    assert "upload time not in the report" in finding.detail  # moto writes N/A there
    assert "iam:ListSigningCertificates" not in account.counter.calls  # from the report: no extra call


def test_a_new_user_is_in_grace_and_moto_never_makes_a_certificate_old(account: Account) -> None:
    account.user("new", virtual_mfa=True)
    upload(account, "new")

    result = account.sweep(make_settings(grace_days=7), now=datetime.now(UTC) + timedelta(days=400))
    fresh = account.sweep(make_settings(grace_days=7))

    assert certs(fresh) == {("new", SIGNING_CERTIFICATE_ACTIVE): "grace"}
    # No upload time in moto's report: never old, however late the sweep.
    assert certs(result) == {("new", SIGNING_CERTIFICATE_ACTIVE): "violation"}


# --- IAM's real answers ----------------------------------------------------------------------------

ROOT = Root(ago(3000), mfa=True, password=True)
USERS = [
    ReportUser("old", ago(400), virtual_mfa=True, mfa_in_report=True, cert1=Cert(True, ago(200))),
    ReportUser(
        "both",
        ago(400),
        virtual_mfa=True,
        mfa_in_report=True,
        cert1=Cert(False, ago(300)),
        cert2=Cert(True, ago(30)),
    ),
    ReportUser("gone", ago(400), virtual_mfa=True, mfa_in_report=True, cert1=Cert(False, ago(300))),
    ReportUser("newbie", ago(2), virtual_mfa=True, mfa_in_report=True, cert2=Cert(True, ago(1))),
    ReportUser("bg", ago(900), groups=(), tags={"iam-guard:exempt": "true"}, cert1=Cert(True, ago(800))),
]


def served_sweep(**settings: object):  # type: ignore[no-untyped-def]
    iam = RealIam()
    iam.account(ROOT, USERS, generated=NOW - timedelta(hours=1))
    return iam, iam.sweep(make_settings(**settings), now=NOW)


def test_served_report_gives_active_and_old_certificates_in_the_seven_warm_reads() -> None:
    iam, result = served_sweep()

    assert certs(result) == {
        ("old", SIGNING_CERTIFICATE_ACTIVE): "violation",
        ("old", SIGNING_CERTIFICATE_OLD): "violation",  # 200 days > 90
        ("both", SIGNING_CERTIFICATE_ACTIVE): "violation",  # slot 2 active; the old slot 1 is inactive
        ("newbie", SIGNING_CERTIFICATE_ACTIVE): "grace",
    }  # gone: nothing active; bg: exempt only
    assert iam.operations == list(WARM_READS)
    by = {(f.user, f.finding): f for f in result.findings}
    old = by[("old", SIGNING_CERTIFICATE_OLD)]
    assert "signing certificate 1 uploaded" in old.detail
    assert "200 days ago" in old.detail
    assert "maximum age 90 days" in old.detail
    assert old.since == ago(200)
    assert "signing certificate 2" in by[("both", SIGNING_CERTIFICATE_ACTIVE)].detail
    assert "signing certificate 1" not in by[("both", SIGNING_CERTIFICATE_ACTIVE)].detail


@pytest.mark.parametrize(("limit", "old_users"), [(20, {"old", "both"}), (90, {"old"}), (0, set())])
def test_the_key_age_limit_applies_to_certificates(limit: int, old_users: set[str]) -> None:
    _, result = served_sweep(key_max_age_days=limit)

    assert {u for (u, k) in certs(result) if k == SIGNING_CERTIFICATE_OLD} == old_users


def edge_sweep(now: datetime):  # type: ignore[no-untyped-def]
    iam = RealIam()
    edge = ReportUser("edge", ago(400), virtual_mfa=True, mfa_in_report=True, cert1=Cert(True, ago(90)))
    iam.account(ROOT, [edge], generated=NOW)
    return iam.sweep(make_settings(), now=now)


def test_certificate_age_is_exclusive_like_a_keys() -> None:
    exactly = edge_sweep(NOW)
    one_second = edge_sweep(NOW + timedelta(seconds=1))

    assert ("edge", SIGNING_CERTIFICATE_OLD) not in certs(exactly)
    assert ("edge", SIGNING_CERTIFICATE_OLD) in certs(one_second)


# --- the report's cells, the vocabulary ---------------------------------------------------------


def test_the_cert_columns_are_parsed_and_a_value_iam_never_writes_fails() -> None:
    row = {"user": "u", "arn": "a", "cert_1_active": "false", "cert_1_last_rotated": "N/A"}
    row |= {"cert_2_active": "true", "cert_2_last_rotated": "2026-01-02T03:04:05+00:00"}

    record = parse_row(row)

    assert record.certificates == (
        CertificateSlot(1, False, None),
        CertificateSlot(2, True, datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)),
    )
    with pytest.raises(CredentialReportError, match="cert_1_active is 'maybe'"):
        parse_row({**row, "cert_1_active": "maybe"})


def test_signing_certificate_kinds_answer_no_control_and_have_an_asff_title() -> None:
    _, result = served_sweep()
    (active,) = [f for f in result.findings if (f.user, f.finding) == ("old", SIGNING_CERTIFICATE_ACTIVE)]
    asff = to_asff(active, Target("111122223333", "us-east-1"), now=NOW)

    assert CONTROLS[SIGNING_CERTIFICATE_ACTIVE].none
    assert CONTROLS[SIGNING_CERTIFICATE_OLD].none
    assert (SEVERITY[SIGNING_CERTIFICATE_ACTIVE].label, SEVERITY[SIGNING_CERTIFICATE_OLD].label) == (
        "medium",
        "low",
    )
    assert asff["Title"] == "IAM user with an active X.509 signing certificate: old"
    assert "RelatedRequirements" not in asff["Compliance"]
