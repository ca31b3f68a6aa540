"""The code's one direction, held by reading the source (AST): handlers -> core -> AWS adapters.

Handlers never call boto3 (core's adapters create every client); core never reads the environment
(settings arrive as one ``Settings``) and never imports a handler, the CLI or the demo.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src"


def modules(package: str) -> list[Path]:
    return sorted((SRC / package).rglob("*.py"))


def imported(tree: ast.AST) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def client_calls(tree: ast.AST) -> list[int]:
    """Lines calling ``<anything>.client(...)`` or ``<anything>.resource(...)``: creating a boto3 client."""
    return [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in {"client", "resource"}
    ]


def environment_reads(tree: ast.AST) -> list[int]:
    return [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and node.attr in {"environ", "getenv"}
        and isinstance(node.value, ast.Name)
        and node.value.id == "os"
    ]


@pytest.mark.parametrize("path", modules("handlers"), ids=lambda p: p.name)
def test_a_handler_never_calls_boto3(path: Path) -> None:
    tree = ast.parse(path.read_text())

    assert not {n for n in imported(tree) if n.split(".")[0] in {"boto3", "botocore"}}
    assert client_calls(tree) == [], "create the client in a core adapter (a Gateway's default factory)"


@pytest.mark.parametrize("path", modules("core"), ids=lambda p: str(p.relative_to(SRC)))
def test_core_never_reads_the_environment_nor_imports_outward(path: Path) -> None:
    tree = ast.parse(path.read_text())

    assert environment_reads(tree) == [], "settings come in as one Settings (core.model.settings)"
    assert not {n for n in imported(tree) if n.split(".")[0] in {"handlers", "cli", "demo"}}


def test_the_checks_see_what_they_look_for() -> None:
    planted = ast.parse("import os\nimport boto3\nx = os.environ['A']\nboto3.client('iam')\ns.client('s3')\n")

    assert "boto3" in imported(planted)
    assert client_calls(planted) == [4, 5]
    assert environment_reads(planted) == [3]


def metric_names_written_out(tree: ast.AST) -> list[int]:
    """Lines calling ``add_metric(name="...")`` with a literal: a name outside core.model.metric_names."""
    return [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "add_metric"
        and any(k.arg == "name" and isinstance(k.value, ast.Constant) for k in node.keywords)
    ]


@pytest.mark.parametrize("path", modules("handlers"), ids=lambda p: p.name)
def test_every_metric_a_handler_emits_is_named_in_the_registry(path: Path) -> None:
    # core.model.metric_names is what the dashboard and the alarms are held to
    # (tests/template/test_dashboard.py)
    assert metric_names_written_out(ast.parse(path.read_text())) == []


def test_the_metric_check_sees_a_name_written_out() -> None:
    planted = ast.parse(
        'metrics.add_metric(name="Oops", unit="Count", value=1)\nm.add_metric(name=OK, value=1)'
    )

    assert metric_names_written_out(planted) == [1]


FACTORY = SRC / "core" / "aws" / "clients.py"


def boto3_client_builds(tree: ast.AST) -> list[int]:
    """Lines building a boto3 client or session by hand: ``x.client(..., region_name=/config=...)``,
    ``boto3.client(...)``, ``boto3.Session(...)``, ``boto3.setup_default_session(...)``."""
    lines = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        target = node.func.value
        by_boto3 = isinstance(target, ast.Name) and target.id == "boto3"
        configured = node.func.attr == "client" and {k.arg for k in node.keywords} & {"region_name", "config"}
        if by_boto3 or configured:
            lines.append(node.lineno)
    return lines


@pytest.mark.parametrize(
    "path", [p for p in sorted(SRC.rglob("*.py")) if p != FACTORY], ids=lambda p: str(p.relative_to(SRC))
)
def test_only_the_client_factory_imports_boto3_or_builds_a_client(path: Path) -> None:
    tree = ast.parse(path.read_text())

    assert "boto3" not in {n.split(".")[0] for n in imported(tree)}, "use core.aws.clients"
    assert boto3_client_builds(tree) == [], "build clients with core.aws.clients.client"


def test_the_factory_check_sees_a_hand_built_client() -> None:
    planted = ast.parse(
        "import boto3\nboto3.client('iam')\ns.client('sts', region_name='us-east-1')\naccess.client('iam')\n"
    )

    assert boto3_client_builds(planted) == [2, 3]
