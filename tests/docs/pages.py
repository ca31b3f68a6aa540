"""Reading the documentation pages: headings, sections and tables, the way MkDocs and GitHub see them."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"

_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_CELL_SPLIT = re.compile(r"(?<!\\)\|")


@dataclass(frozen=True)
class Section:
    level: int
    title: str  # the heading's text without backticks
    lines: tuple[str, ...]  # the lines under it, up to the next heading of the same or a higher level


def prose_lines(text: str) -> list[tuple[int, str]]:
    """(line number, line) for every line outside fenced code blocks."""
    kept, fenced = [], False
    for number, line in enumerate(text.splitlines(), start=1):
        if line.lstrip().startswith("```"):
            fenced = not fenced
            continue
        if not fenced:
            kept.append((number, line))
    return kept


def sections(text: str) -> list[Section]:
    lines = prose_lines(text)
    headings = [
        (index, len(m.group(1)), m.group(2).replace("`", ""))
        for index, (_, line) in enumerate(lines)
        if (m := _HEADING.match(line))
    ]
    found = []
    for position, (index, level, title) in enumerate(headings):
        end = next((i for i, lvl, _ in headings[position + 1 :] if lvl <= level), len(lines))
        found.append(Section(level, title, tuple(line for _, line in lines[index + 1 : end])))
    return found


def tables(lines: tuple[str, ...]) -> list[list[list[str]]]:
    """Every Markdown table in these lines, as rows of cells (header row first, the --- row dropped)."""
    found: list[list[list[str]]] = []
    current: list[list[str]] = []
    for line in [*lines, ""]:
        if line.strip().startswith("|"):
            cells = [cell.strip() for cell in _CELL_SPLIT.split(line.strip().strip("|"))]
            if not all(set(cell) <= set("-: ") for cell in cells):
                current.append(cells)
        elif current:
            found.append(current)
            current = []
    return found


def heading_anchors(text: str) -> set[str]:
    """The anchors MkDocs (Python-Markdown's toc) gives the headings; GitHub's are the same for ours."""
    from markdown.extensions.toc import slugify

    return {slugify(s.title, "-") for s in sections(text)}
