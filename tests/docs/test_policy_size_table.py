"""docs/policy.md's size table ("Limits and refusals") is what the policy renders today: each row's size
with one CIDR, and how many allow-list entries of one length fit, with a 40-character stack name."""

from __future__ import annotations

import re

import pytest
from tests.docs.pages import DOCS

from core.model.errors import IamGuardError
from core.model.settings import build_settings
from core.policy.document import MAX_POLICY_CHARS, policy_size, render_policy

STACK = "s" * 40  # the longest stack name IAM Guard accepts
ROWS = {
    "without `--stack-name`": {},
    "with `--stack-name`": {"stack_name": STACK},
    "with `--stack-name` and `--max-mfa-age-hours`": {"stack_name": STACK, "max_mfa_age_hours": 12},
}


def _entries(kind: str, n: int) -> dict[str, tuple[str, ...]]:
    if kind == "ipv4":  # 10.100.100.0/24 ... : all 15 characters
        return {"allowed_cidrs": tuple(f"10.{100 + i // 100}.{100 + i % 100}.0/24" for i in range(n))}
    if kind == "ipv6":  # 2001:db8:1000::/48 ...
        return {"allowed_cidrs": tuple(f"2001:db8:{0x1000 + i:x}::/48" for i in range(n))}
    return {"allowed_vpce_ids": tuple(f"vpce-{i:017x}" for i in range(n))}  # no CIDR


def _fits(kind: str, n: int, row: dict[str, object]) -> bool:
    try:
        return policy_size(render_policy(build_settings(**row, **_entries(kind, n)))) <= MAX_POLICY_CHARS
    except IamGuardError:  # the size refusal
        return False


def _most(kind: str, row: dict[str, object]) -> int:
    n = 1
    while _fits(kind, n + 1, row):
        n += 1
    return n


def _documented() -> dict[str, list[int]]:
    text = (DOCS / "policy.md").read_text(encoding="utf-8")
    found = {}
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        label = re.sub(r" \(.*\)$", "", cells[0])  # "(the example above)"
        if line.lstrip().startswith("|") and label in ROWS:
            found[label] = [int(re.sub(r"\D", "", c.split(" ")[0])) for c in cells[1:]]
    assert set(found) == set(ROWS), "docs/policy.md's size table lost a row"
    return found


@pytest.mark.parametrize("label", list(ROWS))
def test_each_row_of_the_size_table_is_measured(label: str) -> None:
    row = ROWS[label]
    size = policy_size(render_policy(build_settings(allowed_cidrs=("203.0.113.0/24",), **row)))

    measured = [size, _most("ipv4", row), _most("ipv6", row), _most("vpce", row)]

    assert _documented()[label] == measured, f"docs/policy.md's size table, row {label!r}: now {measured}"
