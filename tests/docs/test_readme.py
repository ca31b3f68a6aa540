"""README.md stays a front door: short, its links into docs/ resolve, its diagram is the site's."""

from __future__ import annotations

import re

import pytest
from tests.docs.pages import DOCS, ROOT, heading_anchors, prose_lines

README = ROOT / "README.md"
MAX_LINES = 250
_LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
_MERMAID = re.compile(r"```mermaid\n(.*?)```", re.S)


def relative_links() -> list[tuple[int, str]]:
    return [
        (number, target)
        for number, line in prose_lines(README.read_text(encoding="utf-8"))
        for target in _LINK.findall(line)
        if not re.match(r"[a-z]+:", target)
    ]


def test_the_readme_is_short() -> None:
    lines = len(README.read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_LINES, f"README.md has {lines} lines (at most {MAX_LINES}): move reference to docs/"


def test_the_readme_links_into_the_docs() -> None:
    assert any(target.startswith("docs/") for _, target in relative_links())


@pytest.mark.parametrize(("line", "target"), relative_links())
def test_each_relative_link_resolves(line: int, target: str) -> None:
    path, _, anchor = target.partition("#")
    file = (ROOT / path) if path else README
    assert file.exists(), f"README.md line {line}: {target} points at {path}, which does not exist"
    if anchor:
        assert file.suffix == ".md", f"README.md line {line}: an anchor into {path}, not a Markdown page"
        anchors = heading_anchors(file.read_text(encoding="utf-8"))
        assert anchor in anchors, f"README.md line {line}: {path} has no heading with the anchor #{anchor}"


def test_the_architecture_diagram_is_the_sites() -> None:
    readme = _MERMAID.findall(README.read_text(encoding="utf-8"))
    site = _MERMAID.findall((DOCS / "index.md").read_text(encoding="utf-8"))
    assert readme, "README.md has no Mermaid architecture diagram"
    assert readme == site, "README.md's Mermaid diagram differs from docs/index.md's: change both"
