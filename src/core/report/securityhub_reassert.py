"""IAM Guard's Security Hub findings that someone hid while the problem is still there. Pure.

Two ways to hide a finding IAM Guard keeps ACTIVE: set its ``Workflow.Status`` to SUPPRESSED or RESOLVED
(``BatchUpdateFindings``; the console's default view and most integrations then skip it, and a provider's
re-import never changes it back), or overwrite it under its predictable ID (``BatchImportFindings`` as
the account's default product: a lower severity, another title, PASSED). ``tamperings`` compares what
this sweep imports with what ``GetFindings`` returned for the same IDs; ``caller`` reads who did it from
the finding's history (``GetFindingHistory``'s ``UpdateSource.Identity``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

# Workflow states that hide a finding from the default view: a still-failing finding gets NEW back.
# NOTIFIED (someone was told) and NEW stay as the people triaging set them.
HIDING_WORKFLOW = ("SUPPRESSED", "RESOLVED")
STILL_FAILING = ("FAILED", "WARNING")
UPDATE = "BATCH_UPDATE_FINDINGS"
IMPORT = "BATCH_IMPORT_FINDINGS"


@dataclass(frozen=True)
class Tampering:
    """One still-failing IAM Guard finding found hidden: what changed, and (once read) who changed it."""

    id: str
    changes: tuple[str, ...]  # e.g. "Workflow.Status SUPPRESSED", "Title overwritten"
    suppressed: bool  # Workflow.Status hides it: set back to NEW
    overwritten: bool  # its content is not IAM Guard's: re-imported (every sweep imports it anyway)
    caller: str = ""  # GetFindingHistory's UpdateSource.Identity of the change, or why it is unknown

    @property
    def kind(self) -> str:
        """The finding kind, from the ID ``iam-guard/<account>/<kind>/<subject>``."""
        parts = self.id.split("/")
        return parts[2] if len(parts) > 3 else self.id

    @property
    def subject(self) -> str:
        parts = self.id.split("/")
        return "/".join(parts[3:]) if len(parts) > 3 else ""

    def describe(self) -> str:
        return f"{self.id}: {', '.join(self.changes)} (by {self.caller or 'unknown'})"


def _workflow(asff: Mapping[str, Any]) -> str:
    workflow = asff.get("Workflow") or {}
    return str(workflow.get("Status") or asff.get("WorkflowState") or "NEW")


def _provider(asff: Mapping[str, Any], field: str) -> Any:
    """FindingProviderFields' copy (what a provider's import sets; BatchUpdateFindings changes only the
    top-level one), else the top-level field."""
    provider = asff.get("FindingProviderFields") or {}
    return provider.get(field, asff.get(field))


def _fields(asff: Mapping[str, Any]) -> dict[str, Any]:
    """What IAM Guard fixes per finding kind and user, identical on every import while it fails."""
    severity = _provider(asff, "Severity") or {}
    return {
        "GeneratorId": asff.get("GeneratorId"),
        "Title": asff.get("Title"),
        "Severity.Label": severity.get("Label"),
        "Types": list(_provider(asff, "Types") or []),
        "Resources": [r.get("Id") for r in asff.get("Resources") or []],
    }


def tamperings(
    current: Sequence[Mapping[str, Any]], existing: Mapping[str, Mapping[str, Any]]
) -> list[Tampering]:
    """Each finding this sweep imports as still failing whose read-back record hides it."""
    found = []
    for asff in current:
        compliance = str((asff.get("Compliance") or {}).get("Status", ""))
        there = existing.get(str(asff["Id"]))
        if there is None or compliance not in STILL_FAILING:
            continue
        changes: list[str] = []
        workflow = _workflow(there)
        if workflow in HIDING_WORKFLOW:
            changes.append(f"Workflow.Status {workflow}")
        ours, theirs = _fields(asff), _fields(there)
        changes += [f"{name} overwritten" for name in ours if ours[name] != theirs[name]]
        status = str((there.get("Compliance") or {}).get("Status", ""))
        if status not in STILL_FAILING:
            changes.append(f"Compliance.Status {status or 'removed'}")
        if changes:
            suppressed = workflow in HIDING_WORKFLOW
            found.append(Tampering(str(asff["Id"]), tuple(changes), suppressed, len(changes) > suppressed))
    return found


def caller(records: Sequence[Mapping[str, Any]], tampering: Tampering) -> str:
    """Who made the change: the newest history record of the kind of call that makes it (a Workflow
    change for a suppression, an import otherwise), preferring one whose updates touch a changed field."""
    kind = UPDATE if tampering.suppressed else IMPORT
    fields = ("Workflow",) if tampering.suppressed else tuple(c.split(" ")[0] for c in tampering.changes)
    of_kind = [r for r in records if (r.get("UpdateSource") or {}).get("Type") == kind]
    touching = [
        r
        for r in of_kind
        if any(str(u.get("UpdatedField", "")).startswith(fields) for u in r.get("Updates") or [])
    ]
    chosen = max(touching or of_kind, key=lambda r: str(r.get("UpdateTime", "")), default=None)
    if chosen is None:
        return f"unknown (no {kind} record in the finding's history)"
    return str((chosen.get("UpdateSource") or {}).get("Identity") or "unknown (no identity recorded)")
