"""The findings table on docs/sweep.md is the controls table, ``core.model.findings.CONTROLS``, as text:
every finding kind has exactly one row, with its severity, its Security Hub controls, its CIS v1.4.0 /
v3.0.0 items and its CIS v7.0 items; a finding no control checks shows ``-`` in every column."""

from __future__ import annotations

from typing import get_args

from tests.docs.pages import DOCS, sections, tables

from core.model.findings import CONTROLS, SEVERITY, FindingKind


def findings_rows() -> dict[str, list[str]]:
    (section,) = [s for s in sections((DOCS / "sweep.md").read_text()) if s.title == "Findings"]
    table = next(t for t in tables(section.lines) if t[0][:2] == ["finding", "severity"])
    assert table[0] == ["finding", "severity", "when", "Security Hub", "CIS", "CIS v7.0"]
    return {row[0].strip("`"): row for row in table[1:]}


def cell(values: tuple[str, ...]) -> str:
    return ", ".join(values) or "-"


def test_every_finding_kind_has_one_row_and_every_row_is_a_kind() -> None:
    assert set(findings_rows()) == set(get_args(FindingKind))


def test_each_row_shows_the_kinds_severity_and_controls() -> None:
    for kind, row in findings_rows().items():
        controls = CONTROLS[kind]  # type: ignore[index]
        assert row[1] == SEVERITY[kind].label, kind  # type: ignore[index]
        assert row[3:6] == [cell(controls.security_hub), cell(controls.cis), cell(controls.cis_v7)], kind


def test_cis_v7_items_are_section_2_numbers() -> None:
    for kind, controls in CONTROLS.items():
        assert all(item.startswith("2.") for item in controls.cis_v7), kind
