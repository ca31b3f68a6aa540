"""An OCSF 1.1.0 Detection Finding validator over the vendored schema subset
(``detection_finding_1.1.0.json``, from ocsf/ocsf-schema v1.1.0, Apache-2.0; ``extract_schema.py``
refreshes it).

What it holds, as the OCSF server's validator does: every required attribute (a profile's only when the
document declares the profile in ``metadata.profiles``), no attribute the schema does not define (the
datetime profile's ``<timestamp>_dt`` siblings included), each value of its type (objects recursively,
arrays, scalar base types and their regex), enum values and their sibling captions, objects'
``at_least_one`` constraints, and the class's identifiers (``class_uid``, ``category_uid``,
``type_uid = class_uid * 100 + activity_id`` and their names).
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any

FIXTURE = Path(__file__).with_name("detection_finding_1.1.0.json")
# The dictionary's enums of these are placeholders the server fills with every class: checked in problems().
_CLASS_IDS = frozenset({"class_uid", "category_uid", "type_uid"})


@cache
def schema() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(FIXTURE.read_text(encoding="utf-8"))
    return loaded


def problems(document: Any) -> list[str]:
    """Everything wrong with one Detection Finding; empty when it conforms."""
    if not isinstance(document, dict):
        return ["the finding is not a JSON object"]
    klass = schema()["class"]
    declared = document.get("metadata", {}).get("profiles", [])
    declared = set(declared) if isinstance(declared, list) else set()
    found = [
        f"metadata.profiles: {p!r} is not a profile of the class" for p in declared - set(klass["profiles"])
    ]
    found += _object(document, klass["attributes"], {}, "", declared)
    activity = document.get("activity_id")
    expected = {
        "class_uid": klass["uid"],
        "category_uid": klass["category_uid"],
        "class_name": klass["caption"],
        "category_name": klass["category_caption"],
    }
    if isinstance(activity, int):
        expected["type_uid"] = klass["uid"] * 100 + activity
        caption = klass["attributes"]["activity_id"].get("enum", {}).get(str(activity))
        if caption:
            expected["type_name"] = f"{klass['caption']}: {caption}"
    for name, value in expected.items():
        if name in document and document[name] != value:
            found.append(f"{name}: {document[name]!r}, the class says {value!r}")
    return found


def _object(value: dict[str, Any], attributes: dict[str, Any], constraints: dict[str, Any], path: str,
            declared: set[str]) -> list[str]:  # fmt: skip
    found = []
    for name, spec in attributes.items():
        applies = "profile" not in spec or spec["profile"] in declared
        if spec["requirement"] == "required" and applies and name not in value:
            found.append(f"{path}{name}: required, missing")
    for name, item in value.items():
        spec = attributes.get(name)
        where = f"{path}{name}"
        if spec is None:
            base = attributes.get(name.removesuffix("_dt"), {})
            if name.endswith("_dt") and base.get("type") == "timestamp_t" and "datetime" in declared:
                found += _value(item, "datetime_t", where, declared)
            else:
                found.append(f"{where}: not an attribute of this object in OCSF {schema()['version']}")
            continue
        if "profile" in spec and spec["profile"] not in declared:
            found.append(f"{where}: an attribute of the {spec['profile']} profile, not in metadata.profiles")
        if spec.get("is_array"):
            if not isinstance(item, list):
                found.append(f"{where}: an array expected")
                continue
            for index, element in enumerate(item):
                found += _value(element, spec["type"], f"{where}[{index}]", declared)
        else:
            found += _value(item, spec["type"], where, declared)
        if "enum" in spec and name not in _CLASS_IDS:
            caption = spec["enum"].get(str(item))
            if caption is None:
                found.append(f"{where}: {item!r} is not one of {sorted(spec['enum'], key=int)}")
            elif spec.get("sibling") in value and str(item) != "99" and value[spec["sibling"]] != caption:
                found.append(
                    f"{path}{spec['sibling']}: {value[spec['sibling']]!r}, {where} {item} is {caption!r}"
                )
    at_least_one = constraints.get("at_least_one")
    if at_least_one and not any(name in value for name in at_least_one):
        found.append(f"{path.rstrip('.') or 'the finding'}: needs at least one of {at_least_one}")
    return found


def _value(item: Any, kind: str, where: str, declared: set[str]) -> list[str]:
    objects, types = schema()["objects"], schema()["types"]
    if kind in objects:
        if not isinstance(item, dict):
            return [f"{where}: a {kind} object expected"]
        spec = objects[kind]
        return _object(item, spec["attributes"], spec.get("constraints", {}), f"{where}.", declared)
    if kind == "object":
        return [] if isinstance(item, dict) else [f"{where}: an object expected"]
    if kind not in types:
        return [f"{where}: its type {kind} is not in the fixture (add it to extract_schema.OBJECTS)"]
    base, regex = types[kind]["base"], types[kind].get("regex")
    checks = {
        "string_t": lambda v: isinstance(v, str),
        "integer_t": lambda v: isinstance(v, int) and not isinstance(v, bool),
        "long_t": lambda v: isinstance(v, int) and not isinstance(v, bool),
        "float_t": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
        "boolean_t": lambda v: isinstance(v, bool),
        "json_t": lambda v: True,
    }
    if base not in checks:
        return [f"{where}: base type {base} unknown to this validator"]
    if not checks[base](item):
        return [f"{where}: {item!r} is not a {kind}"]
    if regex and isinstance(item, str) and not re.match(regex, item):
        return [f"{where}: {item!r} does not match {kind}'s format"]
    return []
