"""The guardrail's outcome per credential type and request context, on the IAM engine (docs/policy.md,
"Request context per credential").

For each credential an IAM user can hold, the request it signs is evaluated with
``aws:MultiFactorAuthPresent`` true, false and absent, from inside and outside the allowed networks and
without ``aws:SourceIp``, in both MFA modes, with an ``Allow *:*`` policy next to the guardrail (so the
guardrail's own denies decide). The oracle is the specification (tests/policy/test_truth_table.py's
rules), not the policy text. Then each credential's documented or assumed context, the one AWS (or our
assumption, listed in docs/status.md) says its requests carry, is stated as a promise.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import pytest

from core.model.settings import build_settings
from core.policy.document import render_policy

from .engine import ALLOWED, EXPLICIT_DENY, Request, evaluate
from .spec import ADMIN_POLICY

pytestmark = pytest.mark.engine

REPO = "arn:aws:codecommit:us-east-1:123456789012:app"
# What each credential type signs, as one representative action (the action's service is what takes it).
CREDENTIALS: dict[str, tuple[str, str]] = {
    "console password session": ("s3:ListAllMyBuckets", "*"),
    "access key": ("s3:ListAllMyBuckets", "*"),
    "STS session with MFA": ("s3:ListAllMyBuckets", "*"),
    "STS session without MFA": ("s3:ListAllMyBuckets", "*"),
    "service-specific credential (CodeCommit HTTPS Git)": ("codecommit:GitPush", REPO),
    "service-specific credential (Bedrock API key)": ("bedrock:CallWithBearerToken", "*"),
    "SSH key (CodeCommit)": ("codecommit:GitPull", REPO),
    "signing certificate": ("ec2:DescribeInstances", "*"),
}
# The MFA key each credential's requests carry: documented (D) or assumed (A, docs/status.md).
#   console session: present, true or false (temporary credentials; D); access key: absent (D);
#   GetSessionToken with / without a serial number: true / false (D); the rest: absent (A).
REAL_MFA: dict[str, tuple[str, ...]] = {
    "console password session": ("true", "false"),
    "access key": ("absent",),
    "STS session with MFA": ("true",),
    "STS session without MFA": ("false",),
    "service-specific credential (CodeCommit HTTPS Git)": ("absent",),
    "service-specific credential (Bedrock API key)": ("absent",),
    "SSH key (CodeCommit)": ("absent",),
    "signing certificate": ("absent",),
}
MFA = {
    "true": {"aws:MultiFactorAuthPresent": "true"},
    "false": {"aws:MultiFactorAuthPresent": "false"},
    "absent": {},
}
NETWORK = {
    "inside": {"aws:SourceIp": "203.0.113.10"},
    "outside": {"aws:SourceIp": "198.51.100.10"},
    "no aws:SourceIp": {},  # not documented for the non-SigV4 credentials: assumed possible
}
MODES = ("strict", "console")


def expected(mode: str, mfa: str, network: str) -> str:
    """The specification: outside the networks (or with no source address) everything is denied; without
    MFA (false, or absent in strict mode) everything but self-service is denied; else the admin policy
    allows."""
    if network != "inside":
        return EXPLICIT_DENY
    if mfa == "false" or (mfa == "absent" and mode == "strict"):
        return EXPLICIT_DENY
    return ALLOWED


@dataclass(frozen=True)
class Cell:
    credential: str
    mode: str
    mfa: str
    network: str

    def __str__(self) -> str:
        return f"{self.credential:52} {self.mode:7} mfa={self.mfa:6} {self.network}"


def cells() -> list[Cell]:
    return [Cell(*c) for c in itertools.product(CREDENTIALS, MODES, MFA, NETWORK)]


@pytest.fixture(scope="module")
def table() -> dict[Cell, str]:
    documents: dict[str, Any] = {
        mode: render_policy(build_settings(allowed_cidrs=("203.0.113.0/24",), mfa_mode=mode))
        for mode in MODES
    }
    documents["admin"] = ADMIN_POLICY
    rows = cells()
    requests = [
        Request(
            (row.mode, "admin"),
            *CREDENTIALS[row.credential],
            {**MFA[row.mfa], **NETWORK[row.network], "aws:ViaAWSService": "false"},
        )
        for row in rows
    ]
    return dict(zip(rows, evaluate(documents, requests), strict=True))


def test_every_cell_matches_the_specification(table: dict[Cell, str]) -> None:
    assert len(table) == len(CREDENTIALS) * 2 * 3 * 3
    wrong = [
        f"{cell}: engine {got}, want {expected(cell.mode, cell.mfa, cell.network)}"
        for cell, got in table.items()
        if got != expected(cell.mode, cell.mfa, cell.network)
    ]
    assert not wrong, "\n".join(wrong)


def test_the_legitimate_user_with_mfa_from_inside_is_allowed_for_every_credential(
    table: dict[Cell, str],
) -> None:
    for credential in CREDENTIALS:
        for mode in MODES:
            assert table[Cell(credential, mode, "true", "inside")] == ALLOWED, (credential, mode)


@pytest.mark.parametrize("credential", list(CREDENTIALS))
def test_each_credentials_real_context(table: dict[Cell, str], credential: str) -> None:
    """What a credential's own requests get: strict mode denies every one that carries no MFA; console
    mode lets those without the key through from inside only; outside, everything is denied."""
    for mfa in REAL_MFA[credential]:
        for mode in MODES:
            inside = table[Cell(credential, mode, mfa, "inside")]
            want = ALLOWED if mfa == "true" or (mfa == "absent" and mode == "console") else EXPLICIT_DENY
            assert inside == want, (credential, mode, mfa)
            assert table[Cell(credential, mode, mfa, "outside")] == EXPLICIT_DENY
            assert table[Cell(credential, mode, mfa, "no aws:SourceIp")] == EXPLICIT_DENY


def test_service_credentials_ssh_keys_and_certificates_are_denied_in_strict_mode(
    table: dict[Cell, str],
) -> None:
    """The findings' claim: these credentials cannot carry MFA, so strict mode denies their requests."""
    for credential in CREDENTIALS:
        if REAL_MFA[credential] == ("absent",) and credential != "access key":
            assert table[Cell(credential, "strict", "absent", "inside")] == EXPLICIT_DENY
            assert table[Cell(credential, "console", "absent", "inside")] == ALLOWED
