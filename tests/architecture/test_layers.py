"""The house's one direction, held by reading the source (AST).

    handlers, cli, demo -> core.org -> core.enforce, core.sweep -> core.guardrail, core.report
        -> core.policy -> core.aws -> core.model

Every import in ``src/`` (at module level or inside a function) is checked against ``ALLOWED``: an
upward or sideways import fails here. boto3 and botocore are imported only in ``core.aws``. Core never
reads the environment (settings arrive as one ``Settings``) and handlers never build a client.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src"

CORE_PACKAGES = ("model", "aws", "policy", "guardrail", "report", "enforce", "sweep", "org")
# Package -> the packages it may import besides itself and the standard library / third parties.
ALLOWED: dict[str, frozenset[str]] = {
    "core": frozenset(),  # core/__init__.py: the docstring only
    "core.model": frozenset(),
    "core.aws": frozenset({"core.model"}),
    "core.policy": frozenset({"core.model"}),
    "core.guardrail": frozenset({"core.model", "core.aws", "core.policy"}),
    "core.report": frozenset({"core.model", "core.aws"}),
    "core.enforce": frozenset({"core.model", "core.aws", "core.policy", "core.guardrail", "core.report"}),
    "core.sweep": frozenset({"core.model", "core.aws", "core.policy", "core.guardrail", "core.report"}),
    "core.org": frozenset(f"core.{p}" for p in CORE_PACKAGES),
    "handlers": frozenset(f"core.{p}" for p in CORE_PACKAGES),
    "cli": frozenset({*(f"core.{p}" for p in CORE_PACKAGES), "demo"}),  # `iam-guard demo` runs the demo
    "demo": frozenset({*(f"core.{p}" for p in CORE_PACKAGES), "handlers", "cli"}),  # the demo invokes both
}
OURS = frozenset({"core", "handlers", "cli", "demo"})
AWS_SDK = frozenset({"boto3", "botocore"})


def modules(package: str) -> list[Path]:
    return sorted((SRC / package).rglob("*.py"))


def package_of(path: Path) -> str:
    """``core.sweep`` for src/core/sweep/run.py, ``handlers`` for src/handlers/sweep.py."""
    parts = path.relative_to(SRC).with_suffix("").parts
    if parts[0] == "core" and len(parts) > 2:
        return f"core.{parts[1]}"
    return parts[0]


def imported(tree: ast.AST) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names if node.module == "core")
    return names


def target_package(module: str) -> str | None:
    """The package of ours an import names (``core.aws`` for ``core.aws.iam``), None for others."""
    parts = module.split(".")
    if parts[0] not in OURS:
        return None
    if parts[0] == "core":
        return "core" if len(parts) == 1 else f"core.{parts[1]}"
    return parts[0]


def forbidden_imports(path: Path, tree: ast.AST) -> list[str]:
    package = package_of(path)
    allowed = ALLOWED[package] | {package}
    wrong = []
    for module in sorted(imported(tree)):
        target = target_package(module)
        if target is not None and target not in allowed:
            wrong.append(f"{module} (a {package} module may import {', '.join(sorted(allowed))})")
        if module.split(".")[0] in AWS_SDK and package != "core.aws":
            wrong.append(f"{module} (boto3 and botocore are imported only in core.aws)")
    return wrong


ALL_MODULES = [p for package in ("core", "handlers", "cli", "demo") for p in modules(package)]


@pytest.mark.parametrize("path", ALL_MODULES, ids=lambda p: str(p.relative_to(SRC)))
def test_every_import_follows_the_one_direction(path: Path) -> None:
    assert forbidden_imports(path, ast.parse(path.read_text())) == []


def test_every_package_of_core_says_what_it_owns_and_may_import() -> None:
    for package in CORE_PACKAGES:
        doc = ast.get_docstring(ast.parse((SRC / "core" / package / "__init__.py").read_text())) or ""
        assert "May import" in doc, package
        assert f"core.{package}" in ALLOWED


def test_the_layer_check_catches_a_planted_upward_import() -> None:
    # An adapter reaching up into the sweep, a model module touching boto3, a sideways enforce -> sweep.
    aws = SRC / "core" / "aws" / "planted.py"
    model = SRC / "core" / "model" / "planted.py"
    enforce = SRC / "core" / "enforce" / "planted.py"

    assert forbidden_imports(aws, ast.parse("from core.sweep.run import run_sweep\n"))
    assert forbidden_imports(model, ast.parse("def f():\n    import botocore.config\n"))
    assert forbidden_imports(enforce, ast.parse("from core.sweep import classify\n"))
    assert forbidden_imports(model, ast.parse("from core import aws\n"))
    assert forbidden_imports(aws, ast.parse("import boto3\nfrom core.model.errors import AwsError\n")) == []


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
