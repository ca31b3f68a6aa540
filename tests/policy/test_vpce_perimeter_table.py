"""The organisation-wide network perimeter (``--allowed-vpce-org``, ``--allowed-vpce-account``) in the
guardrail, proven on the IAM engine for both MFA modes: a request through any VPC endpoint of the
organisation, or of a named account, passes without listing endpoint IDs; a request without the keys
(no endpoint, or a service that does not populate them) is judged as before - never more open."""

from __future__ import annotations

import json
from typing import Any

import pytest

from core.model.settings import build_settings
from core.policy.document import MAX_POLICY_CHARS, render_policy

from .engine import ALLOWED, EXPLICIT_DENY, Request, evaluate
from .spec import ADMIN_POLICY

pytestmark = pytest.mark.engine

ORG, OTHER_ORG = "o-a1b2c3d4e5", "o-zz9yy8xx7w"
PARTNER, STRANGER = "111122223333", "444455556666"
CIDR = "203.0.113.0/24"
VPCE_LISTED = "vpce-0a1b2c3d4e5f60718"
VPCE_OTHER = "vpce-0fedcba987654321f"


def through(vpce: str, org: str | None = None, account: str | None = None) -> dict[str, str]:
    context = {"aws:SourceVpce": vpce}
    if org:
        context["aws:VpceOrgID"] = org
    if account:
        context["aws:VpceAccount"] = account
    return context


# (row, network context, decision with the perimeter settings, decision with today's settings)
ROWS: list[tuple[str, dict[str, str], str, str]] = [
    ("inside the CIDR", {"aws:SourceIp": "203.0.113.10"}, ALLOWED, ALLOWED),
    ("outside the CIDR", {"aws:SourceIp": "198.51.100.10"}, EXPLICIT_DENY, EXPLICIT_DENY),
    ("an endpoint of the organisation", through(VPCE_OTHER, ORG, STRANGER), ALLOWED, EXPLICIT_DENY),
    ("an endpoint of a named account", through(VPCE_OTHER, OTHER_ORG, PARTNER), ALLOWED, EXPLICIT_DENY),
    (
        "an endpoint of another org and account",
        through(VPCE_OTHER, OTHER_ORG, STRANGER),
        EXPLICIT_DENY,
        EXPLICIT_DENY,
    ),
    (
        "an endpoint without the org keys (service does not populate them)",
        through(VPCE_OTHER),
        EXPLICIT_DENY,
        EXPLICIT_DENY,
    ),
    ("a listed endpoint without the org keys", through(VPCE_LISTED), ALLOWED, ALLOWED),
    ("a listed endpoint of another org", through(VPCE_LISTED, OTHER_ORG, STRANGER), ALLOWED, ALLOWED),
]


def settings(mode: str, perimeter: bool) -> Any:
    extra: dict[str, Any] = (
        {"allowed_vpce_org": ORG, "allowed_vpce_accounts": (PARTNER,)} if perimeter else {}
    )
    return build_settings(allowed_cidrs=(CIDR,), allowed_vpce_ids=(VPCE_LISTED,), mfa_mode=mode, **extra)


@pytest.mark.parametrize("mode", ["strict", "console"])
@pytest.mark.parametrize("perimeter", [True, False])
def test_endpoints_of_the_organisation_or_named_accounts_pass_and_nothing_else_opens(
    mode: str, perimeter: bool
) -> None:
    documents = {"guardrail": render_policy(settings(mode, perimeter)), "admin": ADMIN_POLICY}
    requests = [
        Request(
            ("guardrail", "admin"),
            "s3:GetObject",
            "arn:aws:s3:::app-data/report.csv",
            {**network, "aws:ViaAWSService": "false", "aws:MultiFactorAuthPresent": "true"},
        )
        for _, network, _, _ in ROWS
    ]

    decisions = dict(zip([r[0] for r in ROWS], evaluate(documents, requests), strict=True))

    assert decisions == {row: (new if perimeter else today) for row, _, new, today in ROWS}


@pytest.mark.parametrize("mode", ["strict", "console"])
def test_without_mfa_the_perimeter_opens_nothing_but_self_service(mode: str) -> None:
    documents = {"guardrail": render_policy(settings(mode, True)), "admin": ADMIN_POLICY}
    request = Request(
        ("guardrail", "admin"),
        "s3:GetObject",
        "arn:aws:s3:::app-data/report.csv",
        {
            **through(VPCE_OTHER, ORG, PARTNER),
            "aws:ViaAWSService": "false",
            "aws:MultiFactorAuthPresent": "false",
        },
    )

    assert evaluate(documents, [request]) == [EXPLICIT_DENY]


def test_the_perimeter_keeps_the_size_budget() -> None:
    full = build_settings(
        allowed_cidrs=(CIDR,),
        allowed_vpce_org=ORG,
        allowed_vpce_accounts=tuple(f"{i:012d}" for i in range(1, 21)),
        stack_name="iam-guard-production",
        max_mfa_age_hours=12,
    )

    document = render_policy(full)

    assert len(json.dumps(document, separators=(",", ":"))) <= MAX_POLICY_CHARS
    condition = document["Statement"][0]["Condition"]["StringNotEqualsIfExists"]
    assert condition["aws:VpceOrgID"] == [ORG]
    assert len(condition["aws:VpceAccount"]) == 20
