"""Whether a live policy document says what the rendered one says. Pure.

IAM reorders statements and lists and reformats values, so both documents are compared in a canonical
form.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

_LIST_VALUED = {"Action", "NotAction", "Resource", "NotResource"}


def canonical_policy(document: Mapping[str, Any] | str) -> Any:
    """A hashable canonical form that is equal for documents IAM evaluates identically.

    Ignored, as IAM ignores them: key order, whitespace, order and duplicates inside action/resource/
    condition-value lists, a single string vs a one-element list, JSON ``false`` vs ``"false"`` (and
    ``43200`` vs ``"43200"``), the case of condition keys, the case of the values an ``...IgnoreCase``
    operator compares, statement order and ``Sid`` (a label, not part of evaluation). Operators are
    compared exactly: ``ForAnyValue:StringEquals`` is not ``StringEquals``, ``Null`` is not ``Bool``.
    """
    doc = json.loads(document) if isinstance(document, str) else document
    statements = doc.get("Statement", [])
    if isinstance(statements, Mapping):
        statements = [statements]
    return (
        str(doc.get("Version", "2008-10-17")),
        frozenset(_canonical_statement(s) for s in statements),
    )


def _canonical_statement(statement: Mapping[str, Any]) -> Any:
    items: list[tuple[str, Any]] = []
    for key, value in statement.items():
        if key == "Sid":
            continue
        if key in _LIST_VALUED:
            items.append((key, _value_set(value)))
        elif key == "Condition":
            items.append((key, _canonical_condition(value)))
        elif key in {"Principal", "NotPrincipal"}:
            items.append((key, _canonical_principal(value)))
        else:
            items.append((key, _scalar(value)))
    return frozenset(items)


def _canonical_condition(condition: Mapping[str, Any]) -> Any:
    return frozenset(
        (
            operator,
            frozenset(
                (key.lower(), _value_set(values, fold=operator.lower().endswith("ignorecase")))
                for key, values in keys.items()
            ),
        )
        for operator, keys in condition.items()
    )


def _canonical_principal(principal: Any) -> Any:
    if isinstance(principal, Mapping):
        return frozenset((kind, _value_set(v)) for kind, v in principal.items())
    return _scalar(principal)


def _value_set(value: Any, *, fold: bool = False) -> frozenset[str]:
    values = value if isinstance(value, list) else [value]
    return frozenset(_scalar(v).casefold() if fold else _scalar(v) for v in values)


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def policies_equal(live: Mapping[str, Any] | str, rendered: Mapping[str, Any] | str) -> bool:
    """True when the live document is semantically the rendered one ("current")."""
    return bool(canonical_policy(live) == canonical_policy(rendered))
