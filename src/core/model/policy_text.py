"""A policy document as text, the same way everywhere: the JSON IAM receives and the size IAM counts. Pure."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any


def policy_json(document: Mapping[str, Any], *, indent: int | None = 2) -> str:
    """Serialize a policy document the same way everywhere (CLI output, IAM calls)."""
    return json.dumps(document, indent=indent, sort_keys=False)


def policy_size(document: Mapping[str, Any]) -> int:
    """Characters IAM counts against the limit: the JSON text without whitespace (outside strings)."""
    return len(json.dumps(document, separators=(",", ":")))
