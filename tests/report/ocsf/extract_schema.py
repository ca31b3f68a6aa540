"""Writes ``detection_finding_1.1.0.json``, the subset of the OCSF 1.1.0 schema the OCSF test validates
against, from a checkout of https://github.com/ocsf/ocsf-schema at tag ``v1.1.0`` (Apache-2.0).

Not a test, and never run by one (the suite has no internet): run by hand to refresh the fixture,
``python tests/report/ocsf/extract_schema.py /path/to/ocsf-schema``. It resolves what the OCSF server
compiles: a class's ``extends`` chain (base_event -> finding -> detection_finding), ``$include`` files
(includes and profiles, each attribute remembering its profile), the dictionary's definitions (type,
array, enum, sibling) under each class's or object's overrides, the objects' own ``extends`` chains and
``constraints``; scalar types down to their base type and regex.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

CLASS = "detection_finding"
# The objects IAM Guard's documents use (and any object a required attribute of them needs).
OBJECTS = ("metadata", "product", "finding_info", "cloud", "account", "resource_details", "remediation")
OUT = Path(__file__).with_name("detection_finding_1.1.0.json")


def main(root: Path) -> None:
    dictionary = json.loads((root / "dictionary.json").read_text())
    files = {p.stem: json.loads(p.read_text()) for p in (root / "events").rglob("*.json")}
    objects = {
        json.loads(p.read_text())["name"]: json.loads(p.read_text())
        for p in (root / "objects").glob("*.json")
    }

    def included(attributes: dict[str, Any]) -> dict[str, Any]:
        merged: dict[str, Any] = {}
        for path in attributes.get("$include", []):
            part = json.loads((root / path).read_text())
            profile = part.get("name") if part.get("meta") == "profile" else None
            for name, spec in included(part["attributes"]).items():
                merged[name] = {**spec, **({"profile": profile} if profile else {})}
        for name, spec in attributes.items():
            if name != "$include":
                merged[name] = {**merged.get(name, {}), **spec}
        return merged

    def chain(definition: dict[str, Any], table: dict[str, Any]) -> dict[str, Any]:
        parent = definition.get("extends")
        base = chain(table[parent], table) if parent in table else {}
        own = included(definition.get("attributes", {}))
        return {name: {**base.get(name, {}), **own.get(name, {})} for name in {**base, **own}}

    def resolved(attributes: dict[str, Any]) -> dict[str, Any]:
        out = {}
        for name, spec in sorted(attributes.items()):
            full = {**dictionary["attributes"].get(name, {}), **spec}
            entry: dict[str, Any] = {"type": full["type"], "requirement": full.get("requirement", "optional")}
            if full.get("is_array"):
                entry["is_array"] = True
            if "enum" in full:
                entry["enum"] = {
                    k: v["caption"] for k, v in sorted(full["enum"].items(), key=lambda i: int(i[0]))
                }
            if "sibling" in full:
                entry["sibling"] = full["sibling"]
            if "profile" in full:
                entry["profile"] = full["profile"]
            out[name] = entry
        return out

    event = files[CLASS]
    category = json.loads((root / "categories.json").read_text())["attributes"][event["category"]]
    class_uid = category["uid"] * 1000 + event["uid"]
    wanted, seen, out_objects = list(OBJECTS), set(), {}
    while wanted:
        name = wanted.pop()
        if name in seen:
            continue
        seen.add(name)
        definition = objects[name]
        attributes = resolved(chain(definition, objects))
        out_objects[name] = {"attributes": attributes}
        constraints = definition.get("constraints") or {}
        parent = definition.get("extends")
        while not constraints and parent in objects:
            constraints = objects[parent].get("constraints") or {}
            parent = objects[parent].get("extends")
        if constraints:
            out_objects[name]["constraints"] = constraints
        wanted += [
            a["type"] for a in attributes.values() if a["requirement"] == "required" and a["type"] in objects
        ]
    types = {}
    for name, spec in dictionary["types"]["attributes"].items():
        base = name
        while "type" in dictionary["types"]["attributes"].get(base, {}):
            base = dictionary["types"]["attributes"][base]["type"]
        types[name] = {"base": base, **({"regex": spec["regex"]} if "regex" in spec else {})}
    version = json.loads((root / "version.json").read_text())["version"]
    document = {
        "source": f"ocsf/ocsf-schema v{version} (Apache-2.0), extracted by extract_schema.py",
        "version": version,
        "class": {
            "name": CLASS,
            "caption": event["caption"],
            "uid": class_uid,
            "category_uid": category["uid"],
            "category_caption": category["caption"],
            "profiles": sorted({"cloud", "datetime", *event.get("profiles", [])}),
            "attributes": resolved(chain(event, files)),
        },
        "objects": dict(sorted(out_objects.items())),
        "types": types,
    }
    OUT.write_text(json.dumps(document, indent=1, sort_keys=False) + "\n")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
