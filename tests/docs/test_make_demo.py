"""`make demo` installs only what the demo needs (issue 22): without a development `.venv` it builds
`.venv-demo` with the package's `demo` extra, never the `dev` toolchain; with one, it uses `.venv`.
`make -n` in a copy of the Makefile shows what it would run (nothing is installed), and the `demo` extra
is the package's runtime plus moto's emulator, without moto's heavy `server` extra."""

from __future__ import annotations

import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from tests.docs.pages import ROOT

pytestmark = pytest.mark.slow  # runs make


def _dry_run(tree: Path) -> str:
    shutil.copy2(ROOT / "Makefile", tree / "Makefile")
    shutil.copy2(ROOT / "pyproject.toml", tree / "pyproject.toml")
    shutil.copytree(ROOT / "mk", tree / "mk")
    # -n prints the recipes; the $(MAKE) line still runs (as make does), so the demo itself fails to start
    run = subprocess.run(["make", "-n", "demo"], cwd=tree, capture_output=True, text=True, check=False)
    return run.stdout


def test_a_fresh_clone_gets_a_demo_venv_with_the_demo_extra_only(tmp_path: Path) -> None:
    shown = _dry_run(tmp_path)

    assert "-m venv .venv-demo" in shown
    assert "pip install --quiet --disable-pip-version-check -e '.[demo]'" in shown
    assert ".[dev]" not in shown
    assert "npm" not in shown  # no node for the demo


def test_an_installed_checkout_uses_its_development_venv(tmp_path: Path) -> None:
    (tmp_path / ".venv" / "bin").mkdir(parents=True)
    (tmp_path / ".venv" / "bin" / ".installed").touch()

    shown = _dry_run(tmp_path)

    recipe, ran = shown.split("fi\n", 1)  # the recipe as written, then what its $(MAKE) line would run
    assert ".venv/bin/iam-guard demo" in recipe
    assert "pip" not in ran  # .venv is up to date: nothing to install
    assert ".venv-demo" not in ran


def test_the_demo_extra_is_moto_without_its_server_extra() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    demo = [Requirement(r) for r in project["optional-dependencies"]["demo"]]

    moto = next(r for r in demo if r.name == "moto")
    assert "server" not in moto.extras
    assert {r.name for r in demo} == {"moto", "flask", "flask-cors", "openapi-spec-validator"}
