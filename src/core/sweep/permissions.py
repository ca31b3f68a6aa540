"""What reaches each user, from the account listing the sweep already reads. Pure: no call of its own.

``GetAccountAuthorizationDetails`` (``User``, ``Group``, ``LocalManagedPolicy``) lists each user's
attached managed and inline policies, each group's, and every customer managed policy's versions:

- direct: the policies attached to the user itself (IAM.2, CIS 2.13: permissions through groups only).
  AWS's quarantine policies (``AWSCompromisedKeyQuarantine``, ``...V2`` to ``...V4``, attached by AWS to a
  leaked key's user) and IAM Guard's own inline ``iam-guard-revoke-sessions`` are not counted; the
  finding's detail names them;
- full admin: a policy that allows ``*`` on ``*`` reaches the user, directly or through a group.
  Customer managed (its default version) and inline policies are read; of the AWS managed ones only
  ``AdministratorAccess`` is known to (its text is not in this listing). IAM.1 and CIS 2.14 check
  customer managed and inline policies only, so ``AdministratorAccess`` alone answers no control;
- CloudShell: ``AWSCloudShellFullAccess`` attached to the user or one of its groups (IAM.27, CIS 2.20).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from core.model.findings import Grant, UserPermissions

QUARANTINE_POLICY = "AWSCompromisedKeyQuarantine"  # and V2, V3, V4
REVOKE_SESSIONS_POLICY = "iam-guard-revoke-sessions"  # IAM Guard's own inline policy on a user
ADMINISTRATOR_ACCESS = "AdministratorAccess"
CLOUDSHELL_FULL_ACCESS = "AWSCloudShellFullAccess"


def is_aws_managed(arn: str) -> bool:
    """``arn:<partition>:iam::aws:policy/...``: a policy AWS owns."""
    parts = arn.split(":")
    return len(parts) > 5 and parts[4] == "aws"


def policy_name(arn: str) -> str:
    return arn.rsplit("/", 1)[-1]


def allows_everything(document: Mapping[str, Any]) -> bool:
    """A statement with Effect Allow, Action ``*`` and Resource ``*`` (as IAM.1 reads a policy)."""
    statements = document.get("Statement") or []
    if isinstance(statements, Mapping):
        statements = [statements]
    for statement in statements:
        if not isinstance(statement, Mapping) or statement.get("Effect") != "Allow":
            continue
        if _has_star(statement.get("Action")) and _has_star(statement.get("Resource")):
            return True
    return False


def _has_star(value: Any) -> bool:
    values = [value] if isinstance(value, str) else list(value or [])
    return any(v in ("*", "*:*") for v in values)


def default_documents(policies: Iterable[Mapping[str, Any]]) -> dict[str, Mapping[str, Any]]:
    """Customer managed policy ARN -> its default version's document (already decoded)."""
    found: dict[str, Mapping[str, Any]] = {}
    for policy in policies:
        for version in policy.get("PolicyVersionList") or []:
            if version.get("IsDefaultVersion") and isinstance(version.get("Document"), Mapping):
                found[str(policy.get("Arn", ""))] = version["Document"]
    return found


def user_permissions(
    users: Iterable[Mapping[str, Any]],
    groups: Iterable[Mapping[str, Any]],
    documents: Mapping[str, Mapping[str, Any]],
) -> dict[str, UserPermissions]:
    """Every user's permissions findings' inputs, from the listing's raw entries (documents decoded)."""
    by_group = {str(g.get("GroupName", "")).lower(): g for g in groups}
    result: dict[str, UserPermissions] = {}
    for user in users:
        name = str(user.get("UserName", ""))
        direct: list[str] = []
        skipped: list[str] = []
        admin: list[Grant] = []
        cloudshell: list[str] = []
        for arn in _attached(user):
            label = f"managed policy {policy_name(arn)}"
            if is_aws_managed(arn) and policy_name(arn).startswith(QUARANTINE_POLICY):
                skipped.append(label)
            else:
                direct.append(label)
        for inline in user.get("UserPolicyList") or []:
            label = f"inline policy {inline.get('PolicyName', '')}"
            if inline.get("PolicyName") == REVOKE_SESSIONS_POLICY:
                skipped.append(label)
            else:
                direct.append(label)
        sources: list[tuple[str, Mapping[str, Any]]] = [("", user)]
        for group_name in user.get("GroupList") or []:
            group = by_group.get(str(group_name).lower())
            if group is not None:
                sources.append((f"group {group_name}: ", group))
        for prefix, holder in sources:
            for arn in _attached(holder):
                grant = _managed_grant(prefix, arn, documents)
                if grant is not None:
                    admin.append(grant)
                if is_aws_managed(arn) and policy_name(arn) == CLOUDSHELL_FULL_ACCESS:
                    cloudshell.append(f"{prefix}managed policy {CLOUDSHELL_FULL_ACCESS}".strip())
            for inline in _inline(holder):
                document = inline.get("PolicyDocument")
                if isinstance(document, Mapping) and allows_everything(document):
                    admin.append(Grant(f"{prefix}inline policy {inline.get('PolicyName', '')}", "inline"))
        result[name] = UserPermissions(tuple(direct), tuple(skipped), tuple(admin), tuple(cloudshell))
    return result


def _attached(holder: Mapping[str, Any]) -> list[str]:
    return [str(p.get("PolicyArn", "")) for p in holder.get("AttachedManagedPolicies") or []]


def _inline(holder: Mapping[str, Any]) -> Sequence[Mapping[str, Any]]:
    return list(holder.get("UserPolicyList") or holder.get("GroupPolicyList") or [])


def _managed_grant(prefix: str, arn: str, documents: Mapping[str, Mapping[str, Any]]) -> Grant | None:
    label = f"{prefix}managed policy {policy_name(arn)}"
    if is_aws_managed(arn):
        return Grant(label, "aws") if policy_name(arn) == ADMINISTRATOR_ACCESS else None
    document = documents.get(arn)
    if document is not None and allows_everything(document):
        return Grant(label, "customer")
    return None
