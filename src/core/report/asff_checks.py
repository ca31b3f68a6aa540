"""Whether an ASFF finding is one Security Hub accepts, and batches within the service's limits. Pure."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from core.report.securityhub import (
    FAILED,
    MAX_DESCRIPTION,
    MAX_ID,
    MAX_TITLE,
    NOT_AVAILABLE,
    PASSED,
    SCHEMA_VERSION,
    SEVERITY_LABEL,
    TYPE_NAMESPACES,
    WARNING,
    is_asff_timestamp,
)

# BatchImportFindings limits (Security Hub partner guide): 100 findings and 6 MB per call, 240 KB each.
MAX_BATCH_FINDINGS = 100


MAX_BATCH_BYTES = 6 * 1024 * 1024


MAX_FINDING_BYTES = 240 * 1024


# Fields ASFF requires on every finding (asff-required-attributes); botocore's model marks all but
# Types and Severity, which Security Hub requires on a new finding (top level or FindingProviderFields).
REQUIRED_FIELDS = (
    "AwsAccountId",
    "CreatedAt",
    "Description",
    "GeneratorId",
    "Id",
    "ProductArn",
    "Resources",
    "SchemaVersion",
    "Severity",
    "Title",
    "Types",
    "UpdatedAt",
)


# Fields that belong to the people triaging: a provider never writes them.
NEVER_WRITTEN = ("Workflow", "WorkflowState", "Note", "UserDefinedFields", "VerificationState")


def asff_problems(asff: Mapping[str, Any]) -> list[str]:
    """What breaks the ASFF rules IAM Guard relies on (empty when none). Security Hub checks these
    server-side; checking them here names the finding and the rule before anything is sent."""
    problems = [f"missing {name}" for name in REQUIRED_FIELDS if not asff.get(name)]
    problems += [
        f"writes {name}, which belongs to the people triaging" for name in NEVER_WRITTEN if name in asff
    ]
    if problems:
        return problems
    account = str(asff["AwsAccountId"])
    if not (len(account) == 12 and account.isdigit()):
        problems.append(f"AwsAccountId {account!r} is not a 12-digit account ID")
    if asff["SchemaVersion"] != SCHEMA_VERSION:
        problems.append(f"SchemaVersion is not {SCHEMA_VERSION}")
    if len(str(asff["Id"])) > MAX_ID or len(str(asff["GeneratorId"])) > MAX_ID:
        problems.append(f"Id or GeneratorId longer than {MAX_ID} characters")
    if not str(asff["ProductArn"]).endswith(f":product/{account}/default"):
        problems.append("ProductArn is not the account's default product")
    for name in ("CreatedAt", "UpdatedAt"):
        if not is_asff_timestamp(str(asff[name])):
            problems.append(f"{name} {asff[name]!r} is not an RFC 3339 timestamp")
    label = (asff.get("Severity") or {}).get("Label")
    if label not in SEVERITY_LABEL.values():
        problems.append(f"Severity.Label {label!r} is not one of {', '.join(SEVERITY_LABEL.values())}")
    for kind in asff["Types"]:
        if str(kind).split("/", 1)[0] not in TYPE_NAMESPACES or str(kind).count("/") > 2:
            problems.append(f"type {kind!r} is not namespace/category/classifier")
    if len(str(asff["Title"])) > MAX_TITLE:
        problems.append(f"Title longer than {MAX_TITLE} characters")
    if len(str(asff["Description"])) > MAX_DESCRIPTION:
        problems.append(f"Description longer than {MAX_DESCRIPTION} characters")
    resources = asff["Resources"]
    if not isinstance(resources, list) or not 1 <= len(resources) <= 32:
        problems.append("Resources must hold 1 to 32 resources")
    elif any(not r.get("Type") or not r.get("Id") for r in resources):
        problems.append("every resource needs a Type and an Id")
    status = (asff.get("Compliance") or {}).get("Status")
    if status not in (PASSED, WARNING, FAILED, NOT_AVAILABLE):
        problems.append(f"Compliance.Status {status!r} is not an ASFF compliance status")
    if asff.get("RecordState") not in ("ACTIVE", "ARCHIVED"):
        problems.append("RecordState is not ACTIVE or ARCHIVED")
    if _size(asff) > MAX_FINDING_BYTES:
        problems.append(f"larger than {MAX_FINDING_BYTES // 1024} KB")
    return problems


def batches(
    findings: Sequence[dict[str, Any]],
    *,
    max_findings: int = MAX_BATCH_FINDINGS,
    max_bytes: int = MAX_BATCH_BYTES,
) -> Iterator[list[dict[str, Any]]]:
    """Consecutive batches of at most ``max_findings`` findings and ``max_bytes`` of JSON each."""
    batch: list[dict[str, Any]] = []
    size = 2  # the list's brackets
    for finding in findings:
        finding_size = _size(finding) + 1  # and its comma
        if batch and (len(batch) >= max_findings or size + finding_size > max_bytes):
            yield batch
            batch, size = [], 2
        batch.append(finding)
        size += finding_size
    if batch:
        yield batch


def _size(value: Any) -> int:
    return len(json.dumps(value, separators=(",", ":"), default=str).encode())
