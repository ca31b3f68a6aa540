"""Centralized root access (CIS AWS Foundations v7.0 2.1.1), checked once per organisation sweep.

The hub (the management account or a delegated administrator: the CLI's caller, the hub's list function)
asks IAM ``ListOrganizationsFeatures``: one call, whatever the number of accounts. The answer becomes at
most one finding on the pseudo-user ``<organization>``:

- ``RootCredentialsManagement`` enabled: no finding (IAM Guard reports problems, not passes);
- not enabled: ``org-root-management-disabled``, status ``violation``, the detail naming the feature
  missing (and ``RootSessions`` when it is off too);
- the call failed (no organisation, not all features, IAM's trusted access off, the caller not the
  management account nor IAM's delegated administrator, access denied...): the same kind with status
  ``not-checked`` and the reason. Nothing is judged and nothing is changed: IAM Guard never enables the
  feature itself (it is the management account's decision, and enabling it deletes no root credential).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from core.aws.iam import IamGateway, OrganizationFeatures, permissions_of
from core.model.errors import AwsError, IamGuardError
from core.model.findings import (
    _ACTION,
    NOT_CHECKED,
    ORG_ROOT_MANAGEMENT_DISABLED,
    ORGANIZATION,
    SEVERITY,
    VIOLATION,
    Finding,
)

ROOT_CREDENTIALS_MANAGEMENT = "RootCredentialsManagement"
ROOT_SESSIONS = "RootSessions"
PERMISSIONS = permissions_of(IamGateway.organizations_features)

# What each of ListOrganizationsFeatures' errors means for the organisation, in a reader's words.
_REASONS: Mapping[str, str] = {
    "OrganizationNotFoundException": "the caller's account belongs to no organisation",
    "OrganizationNotInAllFeaturesModeException": "the organisation does not have all features enabled "
    "(centralized root access needs them)",
    "ServiceAccessNotEnabledException": "trusted access for IAM is not enabled in Organizations "
    "(centralized root access needs it)",
    "AccountNotManagementOrDelegatedAdministratorException": "the caller is neither the management "
    "account nor IAM's delegated administrator for centralized root access",
}


def judge(features: OrganizationFeatures) -> Finding | None:
    """The finding for IAM's answer (pure): ``None`` when root credentials are managed centrally."""
    if ROOT_CREDENTIALS_MANAGEMENT in features.enabled:
        return None
    sessions = (
        f"{ROOT_SESSIONS} is enabled"
        if ROOT_SESSIONS in features.enabled
        else f"{ROOT_SESSIONS} is not enabled either"
    )
    organization = f"organisation {features.organization_id}: " if features.organization_id else ""
    return Finding(
        ORGANIZATION,
        ORG_ROOT_MANAGEMENT_DISABLED,
        SEVERITY[ORG_ROOT_MANAGEMENT_DISABLED],
        VIOLATION,
        detail=f"{organization}centralized root access is off: {ROOT_CREDENTIALS_MANAGEMENT} is not enabled "
        f"({sessions}); member accounts keep root credentials of their own",
        action=_ACTION[ORG_ROOT_MANAGEMENT_DISABLED],
        source="live",
    )


def not_checked(error: IamGuardError) -> Finding:
    """The finding when the call could not be made: the reason, then the call's error (one line)."""
    code = error.code if isinstance(error, AwsError) else ""
    reason = _REASONS.get(code)
    if reason is None and code.startswith("AccessDenied"):
        reason = "the caller may not call iam:ListOrganizationsFeatures"
    message = str(error).splitlines()[0] if str(error) else type(error).__name__
    return Finding(
        ORGANIZATION,
        ORG_ROOT_MANAGEMENT_DISABLED,
        SEVERITY[ORG_ROOT_MANAGEMENT_DISABLED],
        NOT_CHECKED,
        detail=f"centralized root access not checked: {reason + ' (' + message + ')' if reason else message}",
        action="Run the organisation sweep as the management account or IAM's delegated administrator, "
        "with iam:ListOrganizationsFeatures allowed.",
        source="live",
    )


def check_root_access(iam: IamGateway) -> Finding | None:
    """One ``ListOrganizationsFeatures`` call with the hub's credentials; never raises an expected
    failure (it becomes the ``not-checked`` finding)."""
    try:
        features = iam.organizations_features()
    except IamGuardError as exc:
        return not_checked(exc)
    return judge(features)


def organization_records(iam: IamGateway) -> list[dict[str, Any]]:
    """The hub's list step: the organisation's findings, as records for the workflow's digest."""
    found = check_root_access(iam)
    return [finding_record(found)] if found is not None else []


def finding_record(finding: Finding) -> dict[str, Any]:
    """The finding as it travels in the hub's workflow state (the list step to the digest)."""
    return {
        "user": finding.user,
        "finding": finding.finding,
        "severity": finding.severity.label,
        "status": finding.status,
        "detail": finding.detail,
        "action": finding.action,
        "attention": finding.needs_attention,
    }
