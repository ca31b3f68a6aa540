"""GuardDuty findings that say an IAM user's credential is used by someone else. Pure: no I/O, no clock.

Opt-in (``GuardDutyFindings=true``): GuardDuty raises a finding in the region of the activity
(``source: aws.guardduty``, ``detail-type: GuardDuty Finding``); the template's ``GuardDutyFinding`` rule
delivers to the enforcer the findings on an IAM user's access key (``resource.accessKeyDetails.userType:
IAMUser``) whose type is in ``FINDING_TYPES`` and whose severity is at least ``GuardDutyMinSeverity``.
The routes (``core.enforce.routes``) re-check all of it and turn the finding into a ``LeakedKeyReported``
carrying a ``FindingClaim``; the responder (``core.enforce.leak``) acts only when ``guardduty:GetFindings``
in the finding's region returns the same finding with the same key (``corroborates``).

``InstanceCredentialExfiltration`` findings are not here: despite ``IAMUser`` in their names they are
about an EC2 instance role's session (``userType: AssumedRole``), never an IAM user's key.
"""

from __future__ import annotations

import json
from typing import Any, NamedTuple

from core.model.validation import FieldError, Fields

GUARDDUTY_SOURCE = "aws.guardduty"
GUARDDUTY_DETAIL_TYPE = "GuardDuty Finding"
IAM_USER = "IAMUser"
# (type, matched as a prefix): the finding types that say the key is used by someone else.
FINDING_TYPES: tuple[tuple[str, bool], ...] = (
    # API calls from an address on a threat list (GuardDuty's or the account's own: ".Custom").
    ("UnauthorizedAccess:IAMUser/MaliciousIPCaller", True),
    # Credential-access calls (GetSecretValue, GetPasswordData ...) unlike the user's own baseline.
    ("CredentialAccess:IAMUser/AnomalousBehavior", False),
)
DEFAULT_MIN_SEVERITY = 7.0  # GuardDuty's "High" (7.0-8.9) and above


def type_name(finding_type: str) -> str:
    """The ``FINDING_TYPES`` name (or prefix) a finding type falls under ('' when none)."""
    return next(
        (n for n, prefix in FINDING_TYPES if (finding_type.startswith(n) if prefix else finding_type == n)),
        "",
    )


def is_handled_type(finding_type: str) -> bool:
    return bool(type_name(finding_type))


class FindingClaim(NamedTuple):
    """What a GuardDuty finding event claims (only the fields the responder reads; none trusted)."""

    finding_id: str
    detector_id: str
    region: str
    account_id: str
    finding_type: str
    severity: float
    access_key_id: str
    user_name: str
    user_type: str

    @classmethod
    def read(cls, f: Fields) -> FindingClaim:
        resource = f.record("resource")
        details = resource.record("accessKeyDetails") if resource else None
        service = f.record("service")
        severity = f.value("severity")
        if not isinstance(severity, int | float) or isinstance(severity, bool):
            raise FieldError(f.path("severity"), "should be a number")
        return cls(
            finding_id=f.text("id", ""),
            detector_id=service.text("detectorId", "") if service else "",
            region=f.text("region", ""),
            account_id=f.text("accountId", ""),
            finding_type=f.text("type", ""),
            severity=float(severity),
            access_key_id=details.text("accessKeyId", "").strip() if details else "",
            user_name=details.text("userName", "").strip() if details else "",
            user_type=details.text("userType", "") if details else "",
        )


def corroborates(finding: dict[str, Any] | None, claim: FindingClaim, min_severity: float) -> str:
    """Why GuardDuty's own answer (``GetFindings``, AWS's shape) does not back the claim ('' when it does).

    The finding must be the claimed one, in the claimed account, on an IAM user's access key with the
    same key ID, of a handled type, at or above the minimum severity, and not archived.
    """
    if not finding:
        return "GuardDuty has no such finding"
    details = (finding.get("Resource") or {}).get("AccessKeyDetails") or {}
    checks = (
        (finding.get("Id") == claim.finding_id, "another finding ID"),
        (finding.get("AccountId") == claim.account_id, "another account"),
        (details.get("AccessKeyId") == claim.access_key_id, "another access key"),
        (details.get("UserType") == IAM_USER, "not an IAM user's key"),
        (is_handled_type(str(finding.get("Type", ""))), "not a handled finding type"),
        (float(finding.get("Severity") or 0) >= min_severity, "below the minimum severity"),
        (not (finding.get("Service") or {}).get("Archived", False), "archived"),
    )
    return next((why for ok, why in checks if not ok), "")


def finding_user(finding: dict[str, Any]) -> str:
    """The user GuardDuty's own answer names (for a session key: whose sessions to revoke)."""
    details = (finding.get("Resource") or {}).get("AccessKeyDetails") or {}
    return str(details.get("UserName") or "")


def guardduty_rule_pattern(min_severity: float = DEFAULT_MIN_SEVERITY) -> dict[str, Any]:
    """The EventBridge pattern of the enforcer's GuardDuty rule (template.yaml ``GuardDutyFinding``)."""
    return {
        "source": [GUARDDUTY_SOURCE],
        "detail-type": [GUARDDUTY_DETAIL_TYPE],
        "detail": {
            "type": [{"prefix": name} if prefix else name for name, prefix in FINDING_TYPES],
            "severity": [{"numeric": [">=", min_severity]}],
            "resource": {"accessKeyDetails": {"userType": [IAM_USER]}},
        },
    }


def guardduty_rule_json(min_severity: str = "${GuardDutyMinSeverity}") -> str:
    """The pattern as the one-line JSON the template writes (``!Sub``: a Number parameter's ``Ref`` is a
    string, and EventBridge's numeric matching needs a JSON number)."""
    text = json.dumps(guardduty_rule_pattern(0.0), separators=(",", ":"))
    return text.replace('[">=",0.0]', f'[">=",{min_severity}]')
