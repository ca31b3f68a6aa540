"""Make sure the secured group exists, the guardrail policy is current and attached to it.

Used by the enforcer on every run, by the CloudFormation custom resource at deploy time, and by the
demo. Planning and acting are one pass here because each step depends on what the previous read found;
``dry_run`` performs the reads and reports the changes it would make.
"""

from __future__ import annotations

from contextlib import suppress
from dataclasses import dataclass
from typing import Any

from core.errors import ConflictError, NotFoundError
from core.iam import IamGateway, PolicyVersion, permissions_of
from core.policy import policies_equal, render_policy
from core.settings import Settings

# The IAM actions each entry point needs; callers add their own to these (least privilege, see template).
ENSURE_PERMISSIONS: frozenset[str] = permissions_of(
    IamGateway.get_default_version_id,
    IamGateway.get_policy_document,
    IamGateway.create_policy,
    IamGateway.list_policy_versions,
    IamGateway.create_policy_version,
    IamGateway.delete_policy_version,
    IamGateway.set_default_policy_version,
    IamGateway.list_attached_group_policies,
    IamGateway.create_group,
    IamGateway.attach_group_policy,
)
REMOVE_PERMISSIONS: frozenset[str] = permissions_of(
    IamGateway.list_group_members,
    IamGateway.remove_user_from_group,
    IamGateway.list_attached_group_policies,
    IamGateway.detach_group_policy,
    IamGateway.delete_group,
    IamGateway.list_policy_versions,
    IamGateway.delete_policy_version,
    IamGateway.delete_policy,
)

MAX_POLICY_VERSIONS = 5
POLICY_DESCRIPTION = "IAM Guard: deny outside allowed networks; deny all but MFA self-service without MFA"


@dataclass(frozen=True)
class Change:
    """One change made (or, in a dry run, to be made) to the guardrail's own resources."""

    resource: str  # "group/NAME" or "policy/NAME"
    change: str  # group-created, policy-created, policy-version-created, policy-version-restored,
    #              policy-version-deleted, policy-attached
    detail: str = ""


def policy_arn(account_id: str, policy_name: str, partition: str = "aws") -> str:
    return f"arn:{partition}:iam::{account_id}:policy/{policy_name}"


def ensure_guardrail(
    iam: IamGateway, settings: Settings, account_id: str, *, dry_run: bool = False
) -> list[Change]:
    """Bring group, policy and attachment to the intended state; return what changed.

    Steady state costs 3 IAM calls: ListAttachedGroupPolicies, GetPolicy, GetPolicyVersion.
    """
    rendered = render_policy(settings)
    arn = policy_arn(account_id, settings.policy_name)
    changes = _ensure_policy(iam, settings, arn, rendered, dry_run=dry_run)
    changes += _ensure_group_and_attachment(iam, settings, arn, dry_run=dry_run)
    return changes


# Concurrent runs (at-least-once delivery, parallel containers) can delete a version between our reads
# or win a create; each such loss is answered by looking again from the start.
_RACE_ATTEMPTS = 4


def _ensure_policy(
    iam: IamGateway, settings: Settings, arn: str, rendered: dict[str, Any], *, dry_run: bool
) -> list[Change]:
    changes: list[Change] = []
    for attempt in range(_RACE_ATTEMPTS):
        try:
            _ensure_policy_once(iam, settings, arn, rendered, changes, dry_run=dry_run)
        except (NotFoundError, ConflictError):
            if attempt == _RACE_ATTEMPTS - 1:
                raise
            continue
        return changes
    return changes  # pragma: no cover - the loop returns or raises


def _ensure_policy_once(
    iam: IamGateway,
    settings: Settings,
    arn: str,
    rendered: dict[str, Any],
    changes: list[Change],
    *,
    dry_run: bool,
) -> None:
    resource = f"policy/{settings.policy_name}"
    try:
        default_id = iam.get_default_version_id(arn)
    except NotFoundError:
        if not dry_run:
            iam.create_policy(settings.policy_name, rendered, POLICY_DESCRIPTION)
        changes.append(Change(resource, "policy-created"))
        return
    if policies_equal(iam.get_policy_document(arn, default_id), rendered):
        return
    _make_rendered_default(iam, arn, resource, rendered, default_id, changes, dry_run=dry_run)


def _make_rendered_default(
    iam: IamGateway,
    arn: str,
    resource: str,
    rendered: dict[str, Any],
    default_id: str,
    changes: list[Change],
    *,
    dry_run: bool,
) -> None:
    versions = iam.list_policy_versions(arn)
    # A tamper that only switched the default (SetDefaultPolicyVersion) is healed by switching back.
    for version in _newest_first(v for v in versions if not v.is_default):
        if policies_equal(iam.get_policy_document(arn, version.version_id), rendered):
            if not dry_run:
                iam.set_default_policy_version(arn, version.version_id)
            changes.append(
                Change(resource, "policy-version-restored", f"{default_id} -> {version.version_id}")
            )
            return
    if len(versions) >= MAX_POLICY_VERSIONS:
        oldest = _oldest_non_default(versions)
        if not dry_run:
            with suppress(NotFoundError):  # a concurrent run deleted it first
                iam.delete_policy_version(arn, oldest.version_id)
        changes.append(Change(resource, "policy-version-deleted", oldest.version_id))
    if dry_run:
        changes.append(Change(resource, "policy-version-created", f"replaces {default_id}"))
        return
    new_id = iam.create_policy_version(arn, rendered)  # LimitExceeded: a concurrent run added one
    changes.append(Change(resource, "policy-version-created", f"{default_id} -> {new_id}"))


def _ensure_group_and_attachment(
    iam: IamGateway, settings: Settings, arn: str, *, dry_run: bool
) -> list[Change]:
    resource = f"group/{settings.group_name}"
    changes: list[Change] = []
    try:
        attached = iam.list_attached_group_policies(settings.group_name)
    except NotFoundError:
        if not dry_run:
            with suppress(ConflictError):  # EntityAlreadyExists: a concurrent run created it
                iam.create_group(settings.group_name)
        changes.append(Change(resource, "group-created"))
        attached = []
    if arn not in attached:
        if not dry_run:
            iam.attach_group_policy(settings.group_name, arn)
        changes.append(Change(resource, "policy-attached", arn))
    return changes


def remove_group(iam: IamGateway, group: str) -> list[Change]:
    """Empty the group, detach its policies and delete it (also used when the group is renamed)."""
    try:
        for member in iam.list_group_members(group):
            iam.remove_user_from_group(group, member)
        for attached in iam.list_attached_group_policies(group):
            iam.detach_group_policy(group, attached)
        iam.delete_group(group)
    except NotFoundError:
        return []
    return [Change(f"group/{group}", "group-deleted")]


def remove_policy(iam: IamGateway, account_id: str, policy_name: str) -> list[Change]:
    """Delete the policy and its old versions (also used when the policy is renamed)."""
    arn = policy_arn(account_id, policy_name)
    try:
        for version in iam.list_policy_versions(arn):
            if not version.is_default:
                iam.delete_policy_version(arn, version.version_id)
        iam.delete_policy(arn)
    except NotFoundError:
        return []
    return [Change(f"policy/{policy_name}", "policy-deleted")]


def _newest_first(versions: Any) -> list[PolicyVersion]:
    return sorted(versions, key=_version_number, reverse=True)


def _oldest_non_default(versions: list[PolicyVersion]) -> PolicyVersion:
    return min((v for v in versions if not v.is_default), key=_version_number)


def _version_number(version: PolicyVersion) -> int:
    return int(version.version_id.lstrip("v") or 0)
