"""docs/deploy.md's "Parameters" table lists exactly the parameters of template.yaml, with their defaults."""

from __future__ import annotations

import re

from tests.docs.pages import DOCS, sections, tables
from tests.template.template_model import load_template

PAGE = DOCS / "deploy.md"
SECTION = "Parameters"
NO_DEFAULT = "(none)"


def documented() -> dict[str, str]:
    """Parameter name -> the Default column as written ((none), or the value without backticks)."""
    section = next((s for s in sections(PAGE.read_text(encoding="utf-8")) if s.title == SECTION), None)
    assert section is not None, f"docs/deploy.md has no '## {SECTION}' section"
    rows = [row for table in tables(section.lines) if table[0][0] == "Parameter" for row in table[1:]]
    found = {}
    for row in rows:
        names = re.findall(r"`([A-Za-z0-9]+)`", row[0])
        assert len(names) == 1, f"docs/deploy.md '## {SECTION}': one parameter per row, got {row[0]!r}"
        found[names[0]] = row[1].strip("`")
    return found


def template_defaults() -> dict[str, str]:
    parameters = load_template()["Parameters"]
    return {name: str(spec.get("Default", "")) for name, spec in parameters.items()}


def test_every_template_parameter_is_documented() -> None:
    missing = sorted(template_defaults().keys() - documented().keys())
    assert not missing, (
        f"template.yaml has parameters docs/deploy.md '## {SECTION}' does not list: {', '.join(missing)}"
    )


def test_every_documented_parameter_exists() -> None:
    unknown = sorted(documented().keys() - template_defaults().keys())
    assert not unknown, f"docs/deploy.md '## {SECTION}' lists parameters template.yaml lacks: {unknown}"


def test_the_documented_defaults_are_the_templates() -> None:
    page = documented()
    wrong = [
        f"{name}: docs say {page[name]!r}, template.yaml says {default or NO_DEFAULT!r}"
        for name, default in sorted(template_defaults().items())
        if name in page and page[name] != (default or NO_DEFAULT)
    ]
    heading = f"docs/deploy.md '## {SECTION}' defaults differ from template.yaml:"
    assert not wrong, "\n".join([heading, *wrong])
