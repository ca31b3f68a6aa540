"""The vocabularies users script against (finding kinds, statuses, enforcer actions) are typed as
``Literal``s; these tests hold each type to the code that uses it and to the page that documents it."""

from __future__ import annotations

import re
from pathlib import Path
from typing import get_args

from core.enforce.actions import EnforcementAction
from core.model import findings
from core.model.findings import CONTROLS, SEVERITY, FindingKind, Status

DOCS = Path(__file__).resolve().parents[2] / "docs"


def backticked(text: str) -> set[str]:
    return set(re.findall(r"`([a-z][a-z-]+)`", text))


def test_every_finding_kind_has_a_severity_and_controls_and_nothing_else_does() -> None:
    kinds = set(get_args(FindingKind))
    assert set(SEVERITY) == kinds
    assert set(CONTROLS) == kinds


def test_every_finding_kind_constant_is_a_kind_and_every_kind_has_a_constant() -> None:
    constants = {v for k, v in vars(findings).items() if k.isupper() and isinstance(v, str) and v in SEVERITY}
    assert constants == set(get_args(FindingKind))


def test_statuses_cover_the_order_and_the_attention_set() -> None:
    statuses = set(get_args(Status))
    assert statuses >= findings.ATTENTION_STATUSES
    assert set(findings._STATUS_ORDER) <= statuses


def test_the_sweep_page_lists_every_kind_and_every_status() -> None:
    page = backticked((DOCS / "sweep.md").read_text())
    assert set(get_args(FindingKind)) <= page
    assert set(get_args(Status)) <= page


def test_the_enforcer_page_lists_exactly_the_actions() -> None:
    text = (DOCS / "enforcer.md").read_text()
    listed = text[text.index("`action` is one of") : text.index("`reason` says why")]
    assert backticked(listed) - {"action"} == set(get_args(EnforcementAction))
