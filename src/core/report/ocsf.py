"""IAM Guard's findings as OCSF 1.1 Detection Findings (class 2004), as Prowler writes them and the new
Security Hub reads them. Pure.

One IAM Guard finding -> one Detection Finding: ``finding_info.uid`` is the same stable ID as the ASFF
finding's (``iam-guard/<account>/<kind>/<user>``), ``status_code`` is ``FAIL`` / ``PASS`` / ``MANUAL``
(Prowler's vocabulary, from the ASFF compliance status), and IAM Guard's own status and kind are kept
under ``unmapped``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from core.model.alerts import Severity
from core.model.credential_report import ROOT
from core.model.findings import ORGANIZATION, Finding

OCSF_VERSION = "1.1.0"
DETECTION_FINDING = 2004  # class_uid
FINDINGS_CATEGORY = 2  # category_uid
ACTIVITY_CREATE = 1
TYPE_UID = DETECTION_FINDING * 100 + ACTIVITY_CREATE
SEVERITY_ID = {Severity.INFO: 1, Severity.LOW: 2, Severity.MEDIUM: 3, Severity.HIGH: 4, Severity.CRITICAL: 5}
SEVERITY_NAME = {1: "Informational", 2: "Low", 3: "Medium", 4: "High", 5: "Critical"}
STATUS_CODE = {"FAILED": "FAIL", "PASSED": "PASS", "WARNING": "FAIL", "NOT_AVAILABLE": "MANUAL"}
STATUS_ID_NEW, STATUS_ID_RESOLVED = 1, 4
# The profiles whose attributes a document uses: cloud (``cloud``, the resources' region and partition) and
# datetime (``time_dt``); OCSF readers learn from metadata.profiles which attributes to expect.
PROFILES = ("cloud", "datetime")


def to_ocsf(
    finding: Finding,
    *,
    account_id: str,
    region: str,
    now: datetime,
    compliance: str,
    uid: str,
    product_version: str = "",
    partition: str = "aws",
) -> dict[str, Any]:
    """One Detection Finding. ``compliance``: the ASFF compliance status (``FAILED``, ``PASSED`` ...)."""
    severity_id = SEVERITY_ID.get(finding.severity, 0)
    resolved = compliance == "PASSED"
    document: dict[str, Any] = {
        "activity_id": ACTIVITY_CREATE,
        "activity_name": "Create",
        "category_uid": FINDINGS_CATEGORY,
        "category_name": "Findings",
        "class_uid": DETECTION_FINDING,
        "class_name": "Detection Finding",
        "type_uid": TYPE_UID,
        "type_name": "Detection Finding: Create",
        "severity_id": severity_id,
        "severity": SEVERITY_NAME.get(severity_id, "Unknown"),
        "status_id": STATUS_ID_RESOLVED if resolved else STATUS_ID_NEW,
        "status": "Resolved" if resolved else "New",
        "status_code": STATUS_CODE.get(compliance, "MANUAL"),
        "status_detail": finding.detail,
        "time": _millis(now),
        "time_dt": _iso(now),
        "metadata": {
            "version": OCSF_VERSION,
            "profiles": list(PROFILES),
            "product": {"name": "IAM Guard", "vendor_name": "IAM Guard", "version": product_version},
            "event_code": finding.finding,
        },
        "finding_info": {
            "uid": uid,
            "title": f"{finding.finding}: {finding.user}" if finding.user else finding.finding,
            "desc": finding.detail or finding.finding,
            "types": [finding.finding],
            "created_time": _millis(now),
            **({"first_seen_time": _millis(finding.since)} if finding.since else {}),
        },
        "cloud": {"provider": "AWS", "account": {"uid": account_id, "type": "AWS Account"}, "region": region},
        "resources": [_resource(finding, account_id, region, partition)],
        "unmapped": {"iam_guard_status": finding.status, "iam_guard_source": finding.source},
    }
    if finding.action:
        document["remediation"] = {"desc": finding.action}
    if finding.deadline is not None:
        document["unmapped"]["deadline"] = _iso(finding.deadline)
    return document


def _resource(finding: Finding, account_id: str, region: str, partition: str) -> dict[str, Any]:
    if finding.user in (ROOT, ORGANIZATION) or not finding.user:  # the organisation: its management account
        return {"type": "AwsAccount", "uid": account_id, "region": region, "cloud_partition": partition}
    return {
        "type": "AwsIamUser",
        "uid": f"arn:{partition}:iam::{account_id}:user/{finding.user}",
        "name": finding.user,
        "region": region,
        "cloud_partition": partition,
    }


def _millis(moment: datetime) -> int:
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return int(aware.timestamp() * 1000)


def _iso(moment: datetime) -> str:
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return aware.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
