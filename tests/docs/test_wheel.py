"""The wheel built from pyproject.toml is a working `iam-guard`: entry point, every package, the demo's
sample events, the license; installed into a fresh virtual environment, its CLI and its demo run.

Offline and quick: the wheel is built without build isolation (the dev extra installs setuptools >= 77)
from a copy of the sources, and installed without dependencies into a fresh venv that sees this
environment's third-party packages through a .pth line (which does not load our editable install).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest
from tests.docs.pages import ROOT

from cli.main import main

pytestmark = pytest.mark.slow  # runs the CLI or a function in a process of its own

SOURCES = ("pyproject.toml", "README.md", "LICENSE", "src", "events")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tree = tmp_path_factory.mktemp("tree")
    for name in SOURCES:
        source = ROOT / name
        if source.is_dir():
            ignore = shutil.ignore_patterns("__pycache__", "*.egg-info")
            shutil.copytree(source, tree / name, symlinks=True, ignore=ignore)
        else:
            shutil.copy2(source, tree / name)
    dist = tmp_path_factory.mktemp("dist")
    build = [sys.executable, "-m", "pip", "wheel", str(tree), "--no-deps", "--no-build-isolation"]
    run = subprocess.run(
        [*build, "--no-index", "-w", str(dist), "-q"], capture_output=True, text=True, check=False
    )
    assert run.returncode == 0, run.stderr
    (built,) = dist.glob("iam_guard-*.whl")
    return built


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with the wheel installed (no deps); third-party packages come from this environment."""
    venv = tmp_path_factory.mktemp("venv")
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    install = [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--no-index"]
    run = subprocess.run([*install, "-q", str(wheel)], capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stderr
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    Path(site, "dev-dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return venv


def _names(wheel: Path) -> list[str]:
    with zipfile.ZipFile(wheel) as archive:
        return archive.namelist()


def _read(wheel: Path, name: str) -> bytes:
    with zipfile.ZipFile(wheel) as archive:
        return archive.read(name)


def _dist_info(wheel: Path, file: str) -> str:
    (name,) = [n for n in _names(wheel) if n.endswith(f".dist-info/{file}")]
    return name


def test_the_wheel_declares_the_iam_guard_console_script(wheel: Path) -> None:
    entry_points = _read(wheel, _dist_info(wheel, "entry_points.txt")).decode()
    assert "[console_scripts]\niam-guard = cli.main:main" in entry_points


def test_the_wheel_holds_every_package_and_nothing_else(wheel: Path) -> None:
    packages = {str(p.parent.relative_to(ROOT / "src")) for p in (ROOT / "src").rglob("__init__.py")}
    in_wheel = {str(Path(n).parent) for n in _names(wheel) if n.endswith("/__init__.py")}
    assert packages - in_wheel == set(), f"packages missing from the wheel: {sorted(packages - in_wheel)}"
    top_level = {n.split("/")[0] for n in _names(wheel) if ".dist-info/" not in n}
    assert top_level == {"cli", "core", "demo", "handlers"}


def test_the_wheel_carries_the_demos_sample_events(wheel: Path) -> None:
    names = _names(wheel)
    for sample in sorted((ROOT / "events").glob("*.json")):
        packaged = f"demo/events/{sample.name}"
        assert packaged in names, f"{packaged} missing from the wheel"
        assert _read(wheel, packaged) == sample.read_bytes()


def test_the_wheel_carries_the_license_it_declares(wheel: Path) -> None:
    metadata = _read(wheel, _dist_info(wheel, "METADATA")).decode()
    assert "License-Expression: Apache-2.0" in metadata
    assert "Provides-Extra: demo" in metadata
    license_text = _read(wheel, _dist_info(wheel, "licenses/LICENSE"))
    assert license_text == (ROOT / "LICENSE").read_bytes()
    assert b"Apache License\n                           Version 2.0, January 2004" in license_text


def _cli(venv: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "PYTHONHOME"}}
    return subprocess.run(
        [str(venv / "bin" / "iam-guard"), *args],
        capture_output=True,
        text=True,
        check=False,
        cwd=venv,
        env=env,
        timeout=120,
    )


def test_the_installed_cli_is_the_wheels(installed: Path) -> None:
    run = subprocess.run(
        [str(installed / "bin" / "python"), "-c", "import cli, demo; print(cli.__file__, demo.__file__)"],
        capture_output=True,
        text=True,
        check=True,
        cwd=installed,
    )
    for path in run.stdout.split():
        assert Path(path).is_relative_to(installed), f"{path} is not the wheel's copy"
    assert _cli(installed, "--help").returncode == 0
    policy = _cli(installed, "policy", "--no-ip-restriction")
    assert policy.returncode == 0, policy.stderr
    sids = [s["Sid"] for s in json.loads(policy.stdout)["Statement"]]
    assert "DenyAllOutsideAllowedNetworks" not in sids
    assert "DenyAllExceptSelfServiceWithoutMFA" in sids


def test_the_demo_runs_from_the_wheel(installed: Path) -> None:
    run = _cli(installed, "demo")
    assert run.returncode == 0, run.stderr
    assert "[8] The scheduled sweep runs" in run.stdout
    assert "Demo finished" in run.stdout


def test_the_demo_without_moto_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "moto", None)  # as in an install without the demo extra
    assert main(["demo"]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == "iam-guard demo: needs moto's AWS emulator: pip install 'iam-guard[demo]'\n"
