"""Every ``core.*`` dotted name the README and docs/ write names a real module or attribute.

After a move, a page that still says ``core.iam`` sends a reader to a module that no longer exists:
each name is resolved (the longest importable module prefix, then attributes).
"""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
DOTTED = re.compile(r"(?<![\w./-])core(?:\.[A-Za-z_]\w*)+")


def dotted_names(text: str) -> set[str]:
    return {m.group(0).rstrip(".") for m in DOTTED.finditer(text)}


def resolves(name: str) -> bool:
    parts = name.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            target: object = importlib.import_module(".".join(parts[:cut]))
        except ModuleNotFoundError:
            continue
        for attribute in parts[cut:]:
            if not hasattr(target, attribute):
                return False
            target = getattr(target, attribute)
        return True
    return False


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_core_name_on_the_page_resolves(page: Path) -> None:
    assert sorted(n for n in dotted_names(page.read_text()) if not resolves(n)) == []


def test_the_check_sees_a_name_that_moved() -> None:
    assert dotted_names("see `core.iam.IamGateway` and core.aws.iam.IamGateway.") == {
        "core.iam.IamGateway",
        "core.aws.iam.IamGateway",
    }
    assert not resolves("core.iam.IamGateway")
    assert resolves("core.aws.iam.IamGateway")
    assert not resolves("core.aws.iam.NoSuchThing")
