"""The independent IAM engine (npm ``@cloud-copilot/iam-simulate``), called from Python in one batch.

``evaluate`` sends every request to one ``node tests/engine/simulate.mjs`` process and returns the
engine's decision for each: ``Allowed``, ``ExplicitlyDenied`` or ``ImplicitlyDenied``. The engine is
required: when node or the package is missing the calling test fails (it never skips), and a request the
engine refuses or a context key it ignores is a failure too, so no row is silently decided by defaults.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

ENGINE_DIR = Path(__file__).resolve().parents[1] / "engine"
SCRIPT = ENGINE_DIR / "simulate.mjs"
PACKAGE = ENGINE_DIR / "node_modules" / "@cloud-copilot" / "iam-simulate" / "package.json"
ACCOUNT = "123456789012"

ALLOWED = "Allowed"
EXPLICIT_DENY = "ExplicitlyDenied"
IMPLICIT_DENY = "ImplicitlyDenied"


def user_arn(name: str, path: str = "/") -> str:
    return f"arn:aws:iam::{ACCOUNT}:user{path}{name}"


def mfa_arn(device: str) -> str:
    return f"arn:aws:iam::{ACCOUNT}:mfa/{device}"


@dataclass(frozen=True)
class Request:
    """One API call by an IAM user: the policies attached to them and the request context."""

    policies: tuple[str, ...]  # names of documents in the ``documents`` mapping given to ``evaluate``
    action: str
    resource: str
    context: Mapping[str, str | list[str]] = field(default_factory=dict)
    user: str = "alice"
    path: str = "/"  # the caller's IAM path: /engineering/ makes its ARN user/engineering/alice
    # The resource's own policy, for services that authorize through it (a KMS key policy).
    resource_policy: Mapping[str, Any] | None = None


def evaluate(documents: Mapping[str, Mapping[str, Any]], requests: Sequence[Request]) -> list[str]:
    """The engine's decision for each request, in order (one node process for the whole batch)."""
    require_engine()
    cases = [
        {
            "policies": [{"name": name, "policy": documents[name]} for name in request.policies],
            "action": request.action,
            "resource": request.resource,
            "principal": user_arn(request.user, request.path),
            # IAM fills aws:username from the signed-in IAM user (the name, without its path).
            "context": {"aws:username": request.user, **request.context},
            **({"resourcePolicy": request.resource_policy} if request.resource_policy else {}),
        }
        for request in requests
    ]
    return decisions_of(cases, [str(request) for request in requests])


def decisions_of(cases: Sequence[Mapping[str, Any]], labels: Sequence[str]) -> list[str]:
    """The engine's decision for each prepared case, in order (one node process for the batch). A crash,
    a case the engine refuses or a context key it ignores fails the test, naming the case's label."""
    require_engine()
    completed = subprocess.run(
        ["node", str(SCRIPT)], input=json.dumps(list(cases)), capture_output=True, text=True, check=False
    )
    if completed.returncode != 0:
        pytest.fail(f"the IAM engine crashed (exit {completed.returncode}): {completed.stderr.strip()}")
    results = json.loads(completed.stdout)
    assert len(results) == len(cases), "the engine must answer every case"
    decisions = []
    for label, result in zip(labels, results, strict=True):
        if "error" in result:
            pytest.fail(f"the IAM engine refused {label}: {result['error']}")
        if result["ignoredContextKeys"]:
            pytest.fail(f"the IAM engine ignored context keys {result['ignoredContextKeys']} of {label}")
        decisions.append(str(result["result"]))
    return decisions


INSTALL_HINT = "install it with `make install` (or `npm ci --prefix tests/engine`)"


def engine_missing() -> str | None:
    """Why the IAM engine cannot run here (node or the npm package missing), or None."""
    if shutil.which("node") is None:
        return "node is not installed, so the IAM engine (tests/engine) cannot run"
    if not PACKAGE.exists():
        return f"the IAM engine (tests/engine) is not installed: {INSTALL_HINT}"
    return None


def require_engine() -> None:
    missing = engine_missing()
    if missing:
        pytest.fail(missing)
