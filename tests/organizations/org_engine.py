"""Cases for the IAM engine (tests/engine/simulate.mjs) with org inputs: a resource policy (a role's trust
policy, a bus policy), the resource's account, service control policies. Never skips, never defaults."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tests.policy.engine import decisions_of

ADMIN = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
FULL_AWS_ACCESS = ADMIN  # the SCP every level carries by default


@dataclass(frozen=True)
class Case:
    name: str  # the truth-table row, for failure messages
    principal: str
    action: str
    resource: str
    identity: dict[str, dict[str, Any]]  # policy name -> document
    context: dict[str, str | list[str]] = field(default_factory=dict)
    resource_policy: dict[str, Any] | None = None
    scps: list[dict[str, Any]] | None = None  # one entry per level, root first, the account last


def account_of(arn: str) -> str:
    return arn.split(":")[4]


def decide(cases: list[Case]) -> dict[str, str]:
    """Row name -> the engine's decision (Allowed, ExplicitlyDenied, ImplicitlyDenied)."""
    payload = [
        {
            "policies": [{"name": n, "policy": p} for n, p in c.identity.items()],
            "action": c.action,
            "resource": c.resource,
            "resourceAccount": account_of(c.resource)
            if c.resource != "*" and c.resource.split(":")[4]
            else account_of(c.principal),
            "principal": c.principal,
            "context": c.context,
            "resourcePolicy": c.resource_policy,
            "serviceControlPolicies": c.scps or [],
        }
        for c in cases
    ]
    return dict(zip([c.name for c in cases], decisions_of(payload, [c.name for c in cases]), strict=True))


def scp_levels(member: str, *protect: dict[str, Any]) -> list[dict[str, Any]]:
    """Root (FullAWSAccess + the given SCPs), then the member account (FullAWSAccess)."""
    root = [{"name": "FullAWSAccess", "policy": FULL_AWS_ACCESS}] + [
        {"name": f"protect{i}", "policy": p} for i, p in enumerate(protect)
    ]
    return [
        {"orgIdentifier": "r-a1b2", "policies": root},
        {"orgIdentifier": member, "policies": [{"name": "FullAWSAccess", "policy": FULL_AWS_ACCESS}]},
    ]
