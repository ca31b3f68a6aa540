"""docs/alerts.md's "Alert kinds" table lists exactly the kinds in core.model.alerts.AlertKind."""

from __future__ import annotations

import re

from tests.docs.pages import DOCS, sections, tables

from core.model.alerts import AlertKind

PAGE = DOCS / "alerts.md"
SECTION = "Alert kinds"


def documented_kinds() -> set[str]:
    section = next((s for s in sections(PAGE.read_text(encoding="utf-8")) if s.title == SECTION), None)
    assert section is not None, f"docs/alerts.md has no '## {SECTION}' section"
    rows = [row for table in tables(section.lines) if table[0][0] == "Kind" for row in table[1:]]
    return {kind for row in rows for kind in re.findall(r"`([a-z0-9-]+)`", row[0])}


def test_every_alert_kind_is_documented() -> None:
    missing = sorted({kind.value for kind in AlertKind} - documented_kinds())
    assert not missing, (
        f"docs/alerts.md '## {SECTION}' has no row for: {', '.join(missing)} "
        "(add one: kind, severity, sent when, what a person does)"
    )


def test_every_documented_alert_kind_exists() -> None:
    unknown = sorted(documented_kinds() - {kind.value for kind in AlertKind})
    assert not unknown, (
        f"docs/alerts.md '## {SECTION}' lists kinds core.model.alerts.AlertKind lacks: {unknown}"
    )
