"""IAM Guard's findings in AWS Security Hub (CSPM), in the AWS Security Finding Format (ASFF).

Two halves, as everywhere in IAM Guard:

- pure mapping: one IAM Guard ``Finding`` -> one ASFF finding (``to_asff``), a finding that is gone ->
  its archived version (``archived``), ASFF rule checks (``asff_problems``), batching (``batches``);
- acting: ``SecurityHubGateway`` (the only code that calls boto3 for Security Hub, each method declaring
  its permission with ``@requires``) and ``import_findings``, which reads back IAM Guard's ACTIVE findings
  of the account, imports the current ones and archives the ones whose problem is gone.

Findings are imported with the credentials of the account they describe: Security Hub requires the
caller's account to equal every finding's ``AwsAccountId`` when the account's default product ARN is
used. ``import_findings`` takes that account ID and refuses to send a finding of any other account (in
organisation mode, each member's audit role imports that member's findings).

Lifecycle (the ``Id`` is stable per account, finding kind and user, so a re-run updates in place):

- ``CreatedAt`` is when IAM Guard first saw the problem: the ``CreatedAt`` of the ACTIVE finding read
  back, else this sweep (a new problem, or one that came back after being archived);
- ``UpdatedAt`` is this sweep;
- an ACTIVE IAM Guard finding of the account that this sweep no longer reports (MFA added, user deleted,
  now exempt, user enrolled) is re-imported with ``Compliance.Status`` PASSED and ``RecordState``
  ARCHIVED;
- IAM Guard never writes ``Workflow``, ``Note``, ``UserDefinedFields`` or ``VerificationState``: those
  belong to the people triaging. Severity and Types go through ``FindingProviderFields``, as AWS asks
  finding providers to (and the top-level copies, which ASFF requires on a new finding).

Calls per import, for F findings of this run and A ACTIVE IAM Guard findings already in Security Hub:
``GetFindings`` ceil(A / 100) pages (at least 1), ``BatchImportFindings`` ceil((F + archived) / 100)
(and more only if 6 MB would be exceeded).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools import Logger

from core.aws.securityhub import GENERATOR_PREFIX, Target
from core.model.alerts import Severity
from core.model.credential_report import ROOT
from core.model.findings import (
    ACCESS_KEY_EXPOSED,
    ACCESS_KEY_OLD,
    ACCESS_KEY_UNUSED,
    ACCESS_KEY_WITHOUT_MFA,
    CLI_USER_WITHOUT_TOTP,
    CONSOLE_UNUSED,
    CONSOLE_WITHOUT_MFA,
    CONTROLS,
    EXEMPT,
    GUARD_ESCAPE,
    GUARDRAIL_DRIFT,
    NOT_IN_SECURED_GROUP,
    ORG_ROOT_MANAGEMENT_DISABLED,
    ORGANIZATION,
    ROOT_ACCESS_KEY,
    ROOT_NO_CREDENTIALS,
    ROOT_WITHOUT_MFA,
    SIGNING_CERTIFICATE_ACTIVE,
    SIGNING_CERTIFICATE_OLD,
    TWO_ACTIVE_KEYS,
    Finding,
)

logger = Logger(child=True)

SCHEMA_VERSION = "2018-10-08"
PRODUCT_NAME = "IAM Guard"
# ASFF field limits IAM Guard's text could reach.
MAX_ID = 512
MAX_TITLE = 256
MAX_DESCRIPTION = 1024
MAX_RECOMMENDATION = 512
MAX_PRODUCT_FIELD_VALUE = 2048

# --- the mapping tables ------------------------------------------------------------------------------


# Finding kind -> the Security Hub CSPM controls (https://docs.aws.amazon.com/securityhub/latest/
# userguide/iam-controls.html) that check the same thing, named in Compliance.RelatedRequirements, and the
# CIS AWS Foundations Benchmark recommendations: one table, ``core.model.findings.CONTROLS``. Kinds without a
# matching control (group membership, exemptions, drift) name none.
SECURITY_HUB_CONTROLS: dict[str, tuple[str, ...]] = {
    kind: controls.security_hub for kind, controls in CONTROLS.items() if controls.security_hub
}
# Compliance.RelatedRequirements: the Security Hub controls, then the CIS v7.0.0 items in Security Hub's
# own spelling ("CIS AWS Foundations Benchmark v7.0.0/2.10"); a kind with neither sends none.
RELATED_REQUIREMENTS: dict[str, tuple[str, ...]] = {
    kind: controls.related_requirements
    for kind, controls in CONTROLS.items()
    if controls.related_requirements
}

# ASFF finding types ("namespace/category/classifier"). What a CIS AWS Foundations Benchmark
# recommendation covers is typed so; the rest is an AWS security best practice.
CIS_TYPE = "Software and Configuration Checks/Industry and Regulatory Standards/CIS AWS Foundations Benchmark"
BEST_PRACTICES_TYPE = "Software and Configuration Checks/AWS Security Best Practices"
_CIS_KINDS = frozenset(kind for kind, controls in CONTROLS.items() if controls.cis or controls.cis_v7)
TYPE_NAMESPACES = (
    "Software and Configuration Checks",
    "TTPs",
    "Effects",
    "Unusual Behaviors",
    "Sensitive Data Identifications",
)

PASSED = "PASSED"
FAILED = "FAILED"
WARNING = "WARNING"
NOT_AVAILABLE = "NOT_AVAILABLE"
# IAM Guard status -> Compliance.Status. "resolved" is this module's own: a problem gone at this sweep.
RESOLVED = "resolved"
COMPLIANCE_STATUS: dict[str, str] = {
    "violation": FAILED,
    "would-enrol": FAILED,
    "would-remediate": FAILED,
    "would-heal": FAILED,
    "drift": FAILED,
    "grace": WARNING,
    "exempt": PASSED,
    "enrolled": PASSED,
    "remediated": PASSED,
    "healed": PASSED,
    RESOLVED: PASSED,
    "failed": NOT_AVAILABLE,
    "not-checked": NOT_AVAILABLE,  # the check's call failed: nothing judged
}

SEVERITY_LABEL: dict[Severity, str] = {
    Severity.CRITICAL: "CRITICAL",
    Severity.HIGH: "HIGH",
    Severity.MEDIUM: "MEDIUM",
    Severity.LOW: "LOW",
    Severity.INFO: "INFORMATIONAL",
}

_TITLES = {
    ROOT_WITHOUT_MFA: "Root user without MFA",
    CONSOLE_WITHOUT_MFA: "IAM user with a console password and no MFA",
    ACCESS_KEY_WITHOUT_MFA: "IAM user with an active access key and no MFA",
    NOT_IN_SECURED_GROUP: "IAM user outside the secured group",
    EXEMPT: "IAM user exempt from the MFA guardrail",
    CONSOLE_UNUSED: "IAM user console password unused",
    ACCESS_KEY_UNUSED: "IAM user access key unused",
    ACCESS_KEY_OLD: "IAM user access key not rotated",
    TWO_ACTIVE_KEYS: "IAM user with two active access keys",
    ACCESS_KEY_EXPOSED: "IAM user access key leaked (exposed or quarantined by AWS)",
    ROOT_NO_CREDENTIALS: "Root user has no credentials",
    ROOT_ACCESS_KEY: "Root user has an access key",
    GUARDRAIL_DRIFT: "IAM Guard guardrail differs from its definition",
    ORG_ROOT_MANAGEMENT_DISABLED: "Organization without centralized root access",
    GUARD_ESCAPE: "IAM user can go around the IAM Guard guardrail",
    CLI_USER_WITHOUT_TOTP: "IAM user with an access key and no TOTP MFA device (FIDO only: no CLI session)",
    SIGNING_CERTIFICATE_ACTIVE: "IAM user with an active X.509 signing certificate",
    SIGNING_CERTIFICATE_OLD: "IAM user signing certificate not rotated",
}

# What ``archived`` copies from a finding read back (everything else Security Hub added stays out).
_COPIED_ON_ARCHIVE = (
    "SchemaVersion",
    "Id",
    "ProductArn",
    "GeneratorId",
    "AwsAccountId",
    "Types",
    "CreatedAt",
    "Title",
    "Description",
    "Remediation",
    "FirstObservedAt",
    "LastObservedAt",
)


# --- pure mapping --------------------------------------------------------------------------------


def finding_id(account_id: str, kind: str, user: str) -> str:
    """``iam-guard/<account>/<kind>/<user>`` (root: ``.../root``; no user: ``.../account``): one per
    account, kind and user."""
    return f"{GENERATOR_PREFIX}{account_id}/{kind}/{_subject_key(user)}"


def generator_id(kind: str) -> str:
    return f"{GENERATOR_PREFIX}{kind}"


def compliance_status(status: str) -> str:
    """FAILED / WARNING / PASSED / NOT_AVAILABLE; an unknown status says it could not be judged."""
    return COMPLIANCE_STATUS.get(status, NOT_AVAILABLE)


def asff_timestamp(moment: datetime) -> str:
    """RFC 3339 in UTC with milliseconds, as ASFF shows it: 2026-11-29T03:34:43.000Z."""
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return aware.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{aware.microsecond // 1000:03d}Z"


def to_asff(
    finding: Finding,
    target: Target,
    *,
    now: datetime,
    created_at: str | None = None,
    user_arn: str = "",
    report_generated_at: datetime | None = None,
) -> dict[str, Any]:
    """One ASFF finding for one IAM Guard finding, ACTIVE. ``created_at``: the first-seen time to keep."""
    updated = asff_timestamp(now)
    created = created_at or updated
    label = SEVERITY_LABEL.get(finding.severity, "INFORMATIONAL")
    # A finding answering none of its kind's controls (user-full-admin via AWS's own policy) names none.
    cis = finding.finding in _CIS_KINDS and not finding.no_control
    types = [CIS_TYPE if cis else BEST_PRACTICES_TYPE]
    compliance: dict[str, Any] = {"Status": compliance_status(finding.status)}
    controls = None if finding.no_control else RELATED_REQUIREMENTS.get(finding.finding)
    if controls:
        compliance["RelatedRequirements"] = list(controls)
    asff: dict[str, Any] = {
        "SchemaVersion": SCHEMA_VERSION,
        "Id": finding_id(target.account_id, finding.finding, finding.user),
        "ProductArn": target.product_arn,
        "ProductName": PRODUCT_NAME,
        "CompanyName": PRODUCT_NAME,
        "GeneratorId": generator_id(finding.finding),
        "AwsAccountId": target.account_id,
        "Types": types,
        "CreatedAt": created,
        "UpdatedAt": updated,
        "FirstObservedAt": created,
        "LastObservedAt": updated,
        "Severity": {"Label": label, "Original": finding.severity.label},
        "FindingProviderFields": {
            "Severity": {"Label": label, "Original": finding.severity.label},
            "Types": list(types),
        },
        "Title": _clip(_title(finding), MAX_TITLE),
        "Description": _clip(_description(finding), MAX_DESCRIPTION),
        "Resources": [_resource(finding, target, user_arn)],
        "Compliance": compliance,
        "ProductFields": _product_fields(finding, report_generated_at),
        "RecordState": "ACTIVE",
    }
    if finding.action:
        asff["Remediation"] = {"Recommendation": {"Text": _clip(finding.action, MAX_RECOMMENDATION)}}
    return asff


def archived(existing: Mapping[str, Any], *, now: datetime) -> dict[str, Any]:
    """The finding read back, re-imported as resolved: PASSED and ARCHIVED, UpdatedAt = now.

    Built from IAM Guard's own fields only: what Security Hub or a person added (Workflow, Note,
    UserDefinedFields, VerificationState, Security Hub's ``aws/`` product fields) is never sent back.
    """
    asff: dict[str, Any] = {k: existing[k] for k in _COPIED_ON_ARCHIVE if k in existing}
    provider = existing.get("FindingProviderFields") or {}
    severity = provider.get("Severity") or existing.get("Severity") or {}
    label = str(severity.get("Label") or "INFORMATIONAL")
    kept_severity = {
        "Label": label,
        **({"Original": severity["Original"]} if severity.get("Original") else {}),
    }
    types = list(provider.get("Types") or existing.get("Types") or [BEST_PRACTICES_TYPE])
    compliance: dict[str, Any] = {"Status": PASSED}
    related = (existing.get("Compliance") or {}).get("RelatedRequirements")
    if related:
        compliance["RelatedRequirements"] = list(related)
    fields = {
        k: v for k, v in (existing.get("ProductFields") or {}).items() if str(k).startswith(GENERATOR_PREFIX)
    }
    fields[f"{GENERATOR_PREFIX}status"] = RESOLVED
    fields[f"{GENERATOR_PREFIX}resolved_at"] = asff_timestamp(now)
    asff.update(
        {
            "UpdatedAt": asff_timestamp(now),
            "Types": types,
            "Severity": dict(kept_severity),
            "FindingProviderFields": {"Severity": dict(kept_severity), "Types": list(types)},
            "Resources": [_copied_resource(r) for r in existing.get("Resources") or []],
            "Compliance": compliance,
            "ProductFields": fields,
            "RecordState": "ARCHIVED",
        }
    )
    return asff


def _subject_key(user: str) -> str:
    """The ID's last part: the user name; ``root`` for the root user; ``account`` for a finding about
    the account itself (no user)."""
    if user == ROOT:
        return "root"
    if user == ORGANIZATION:
        return "organization"
    return user or "account"


def _title(finding: Finding) -> str:
    what = _TITLES.get(finding.finding, finding.finding)
    if finding.user in (ROOT, ORGANIZATION) or not finding.user:
        return what
    return f"{what}: {finding.user}"


def _description(finding: Finding) -> str:
    subject = {ROOT: "the root user", ORGANIZATION: "the organization"}.get(finding.user, finding.user)
    parts = [
        f"IAM Guard finding {finding.finding} ({finding.severity.label}) for {subject}: {finding.status}"
    ]
    if finding.detail:
        parts.append(finding.detail)
    if finding.deadline is not None:
        parts.append(f"deadline {finding.deadline.date().isoformat()}")
    return ". ".join(parts) + "."


def _resource(finding: Finding, target: Target, user_arn: str) -> dict[str, Any]:
    # The organisation's findings are on its management account (ASFF has no organisation resource).
    if finding.user in (ROOT, ORGANIZATION) or not finding.user:
        return {
            "Type": "AwsAccount",
            "Id": f"AWS::::Account:{target.account_id}",
            "Partition": target.partition,
            "Region": target.region,
        }
    arn = user_arn or f"arn:{target.partition}:iam::{target.account_id}:user/{finding.user}"
    return {
        "Type": "AwsIamUser",
        "Id": arn,
        "Partition": target.partition,
        "Region": target.region,
        "Details": {"AwsIamUser": {"UserName": finding.user}},
    }


def _copied_resource(resource: Mapping[str, Any]) -> dict[str, Any]:
    return {k: resource[k] for k in ("Type", "Id", "Partition", "Region", "Details") if k in resource}


def _product_fields(finding: Finding, report_generated_at: datetime | None) -> dict[str, str]:
    values = {
        "status": finding.status,
        "finding": finding.finding,
        "severity": finding.severity.label,
        "source": finding.source,
        "since": _iso(finding.since),
        "deadline": _iso(finding.deadline),
        "report_generated_at": _iso(report_generated_at),
    }
    return {f"{GENERATOR_PREFIX}{k}": _clip(v, MAX_PRODUCT_FIELD_VALUE) for k, v in values.items() if v}


def _iso(moment: datetime | None) -> str:
    return asff_timestamp(moment) if moment else ""


def is_asff_timestamp(text: str) -> bool:
    try:
        datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return False
    return "T" in text and (text.endswith("Z") or "+" in text[10:])


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


# --- acting ----------------------------------------------------------------------------------------
