"""The documentation site works offline: no page loads a script, stylesheet, font or image from another
host, and every page with a diagram loads the vendored Mermaid renderer (Material falls back to unpkg.com
when no `mermaid` global exists, so a page without it would show the diagram as raw text offline)."""

from __future__ import annotations

import os
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest
from tests.docs.pages import ROOT

pytestmark = pytest.mark.slow  # builds the site in a process of its own

VENDORED = "javascripts/mermaid-11.17.2.min.js"
# Attributes through which a page loads something by itself (a plain <a href> is a link, not a load).
_LOADS = {"script": "src", "link": "href", "img": "src", "iframe": "src", "source": "src"}


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.loads: list[str] = []
        self.mermaid_blocks = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        attribute = _LOADS.get(tag)
        if attribute and values.get(attribute):
            # A <link rel=canonical/alternate> is a reference, not a load; stylesheets, icons, preloads are.
            rel = (values.get("rel") or "").split()
            if tag != "link" or not {"canonical", "alternate", "next", "prev"} & set(rel):
                self.loads.append(str(values[attribute]))
        if "mermaid" in (values.get("class") or "").split():
            self.mermaid_blocks += 1


def _external(url: str) -> bool:
    return url.startswith(("http://", "https://", "//"))


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("site")
    run = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    assert run.returncode == 0, run.stderr
    return out


def _pages(site: Path) -> dict[str, _Page]:
    pages = {}
    for html in sorted(site.rglob("*.html")):
        page = _Page()
        page.feed(html.read_text(encoding="utf-8"))
        pages[str(html.relative_to(site))] = page
    return pages


def test_no_page_loads_anything_from_another_host(site: Path) -> None:
    pages = _pages(site)
    assert len(pages) > 10
    external = {name: [u for u in p.loads if _external(u)] for name, p in pages.items()}
    assert {name: urls for name, urls in external.items() if urls} == {}


def test_every_page_with_a_diagram_loads_the_vendored_renderer(site: Path) -> None:
    with_diagrams = {name: p for name, p in _pages(site).items() if p.mermaid_blocks}
    assert {"index.html", "organizations/index.html"} <= set(with_diagrams)
    for name, page in with_diagrams.items():
        assert any(u.endswith(VENDORED) for u in page.loads), f"{name} does not load {VENDORED}"
    renderer = site / VENDORED
    assert renderer.stat().st_size > 1_000_000  # the real bundle, not a stub
    assert "globalThis" in renderer.read_text(encoding="utf-8")[-300:]  # it sets the `mermaid` global
    assert "MIT License" in (site / "javascripts/mermaid-LICENSE.txt").read_text(encoding="utf-8")
