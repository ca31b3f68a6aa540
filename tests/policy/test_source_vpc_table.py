"""The ``aws:SourceVpc`` option (``--allowed-vpc``, template parameter AllowedVPCs) in the guardrail, proven
on the IAM engine for both MFA modes: a request through any VPC endpoint of a listed VPC passes without
listing the endpoint; a request from another VPC, or without the key (no endpoint: the key exists only on
requests through one), is judged as without the option - never more open. Nothing is added when unused."""

from __future__ import annotations

import json
from typing import Any

import pytest

from core.model.settings import build_settings
from core.policy.document import MAX_POLICY_CHARS, policy_size, render_policy

from .engine import ALLOWED, EXPLICIT_DENY, Request, evaluate
from .spec import ADMIN_POLICY

pytestmark = pytest.mark.engine

VPC, OTHER_VPC = "vpc-0a1b2c3d4e5f60718", "vpc-1234abcd"
CIDR = "203.0.113.0/24"
VPCE_LISTED = "vpce-0a1b2c3d4e5f60718"
VPCE_OTHER = "vpce-0fedcba987654321f"


def through(vpce: str, vpc: str | None = None) -> dict[str, str]:
    return {"aws:SourceVpce": vpce, **({"aws:SourceVpc": vpc} if vpc else {})}


# (row, network context, decision with --allowed-vpc, decision without it)
ROWS: list[tuple[str, dict[str, str], str, str]] = [
    ("inside the CIDR", {"aws:SourceIp": "203.0.113.10"}, ALLOWED, ALLOWED),
    ("outside the CIDR, no endpoint", {"aws:SourceIp": "198.51.100.10"}, EXPLICIT_DENY, EXPLICIT_DENY),
    ("an unlisted endpoint in the allowed VPC", through(VPCE_OTHER, VPC), ALLOWED, EXPLICIT_DENY),
    ("an unlisted endpoint in another VPC", through(VPCE_OTHER, OTHER_VPC), EXPLICIT_DENY, EXPLICIT_DENY),
    ("an endpoint without the VPC key", through(VPCE_OTHER), EXPLICIT_DENY, EXPLICIT_DENY),
    ("a listed endpoint in another VPC", through(VPCE_LISTED, OTHER_VPC), ALLOWED, ALLOWED),
    (
        "outside the CIDR, through an endpoint of another VPC",
        {"aws:SourceIp": "198.51.100.10", "aws:SourceVpce": VPCE_OTHER, "aws:SourceVpc": OTHER_VPC},
        EXPLICIT_DENY,
        EXPLICIT_DENY,
    ),
]


def settings(mode: str, with_vpc: bool) -> Any:
    extra: dict[str, Any] = {"allowed_vpcs": (VPC,)} if with_vpc else {}
    return build_settings(allowed_cidrs=(CIDR,), allowed_vpce_ids=(VPCE_LISTED,), mfa_mode=mode, **extra)


def request(network: dict[str, str], mfa: str = "true") -> Request:
    return Request(
        ("guardrail", "admin"),
        "s3:GetObject",
        "arn:aws:s3:::app-data/report.csv",
        {**network, "aws:ViaAWSService": "false", "aws:MultiFactorAuthPresent": mfa},
    )


@pytest.mark.parametrize("mode", ["strict", "console"])
@pytest.mark.parametrize("with_vpc", [True, False])
def test_endpoints_of_a_listed_vpc_pass_and_nothing_else_opens(mode: str, with_vpc: bool) -> None:
    documents = {"guardrail": render_policy(settings(mode, with_vpc)), "admin": ADMIN_POLICY}

    decisions = dict(
        zip([r[0] for r in ROWS], evaluate(documents, [request(n) for _, n, _, _ in ROWS]), strict=True)
    )

    assert decisions == {row: (new if with_vpc else today) for row, _, new, today in ROWS}


def test_without_mfa_a_listed_vpc_opens_nothing_in_strict_mode() -> None:
    documents = {"guardrail": render_policy(settings("strict", True)), "admin": ADMIN_POLICY}

    assert evaluate(documents, [request(through(VPCE_OTHER, VPC), mfa="false")]) == [EXPLICIT_DENY]


def test_a_vpc_alone_is_an_allowed_network_and_the_internet_stays_denied() -> None:
    documents = {"guardrail": render_policy(build_settings(allowed_vpcs=(VPC,))), "admin": ADMIN_POLICY}
    cells = [request(through(VPCE_OTHER, VPC)), request({"aws:SourceIp": "203.0.113.10"})]

    assert evaluate(documents, cells) == [ALLOWED, EXPLICIT_DENY]


def test_nothing_is_added_when_unused_and_the_size_budget_holds() -> None:
    base = {"allowed_cidrs": (CIDR,), "stack_name": "iam-guard-production", "max_mfa_age_hours": 12}
    without = render_policy(build_settings(**base))
    vpcs = tuple(f"vpc-{i:017x}" for i in range(1, 11))
    full = render_policy(build_settings(**base, allowed_vpce_org="o-a1b2c3d4e5", allowed_vpcs=vpcs))

    assert "aws:SourceVpc" not in json.dumps(without)
    assert without == render_policy(build_settings(**base, allowed_vpcs=()))
    assert policy_size(full) <= MAX_POLICY_CHARS
    condition = full["Statement"][0]["Condition"]["StringNotEqualsIfExists"]
    assert condition["aws:SourceVpc"] == list(vpcs)
