"""Guard-escape findings: the doors around the guardrail a user can walk through. Pure.

From the account listing the sweep already reads (``GetAccountAuthorizationDetails`` with the ``User``,
``Group``, ``Role`` and ``LocalManagedPolicy`` filters; AWS managed policies are known by ARN only), at
most one ``guard-escape`` finding per user:

- **a role the user can assume whose permissions lack the network deny.** A statement reaching the user
  (its own inline or attached policies, or its groups') allows ``sts:AssumeRole`` on ``*`` or on the
  role's ARN with no condition; the role's trust names the account root (``arn:aws:iam::<acct>:root`` or
  the bare account ID) or the user's ARN; none of the role's identity policies and not its permissions
  boundary carries the live guardrail's ``DenyAllOutsideAllowedNetworks`` statement (the same statement,
  from the guardrail policy's default version in the same listing). A session of that role
  is not bound by the user's guardrail: used from anywhere, it is allowed. Severity by the role's power:
  full admin critical, IAM writes high, other medium.
- **an exempt user with full admin or IAM writes.** Status ``exempt``; severity ``info`` for a user in
  ``ExemptUsers`` (the deliberate break-glass), ``high`` for a user exempt only by tag.

Only decidable patterns: anything involving a condition, ``NotAction``, ``NotResource``, ``NotPrincipal``
or a user's permissions boundary is *undetermined* (named in the detail, severity ``low`` when nothing
else is found), never "safe". An SCP or RCP perimeter is outside the sweep's view and said so.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from fnmatch import fnmatchcase
from typing import Any, NamedTuple

from core.aws.iam import decode_document
from core.model.alerts import Severity
from core.model.exemptions import exemption_for, tags_to_dict
from core.model.findings import _ACTION, EXEMPTED, GUARD_ESCAPE, VIOLATION, Finding
from core.model.settings import Settings

NETWORK_SID = "DenyAllOutsideAllowedNetworks"
ASSUME_ROLE = "sts:AssumeRole"
# The trust conditions that check only the AssumeRole call itself: they do not bind the role's session.
CALL_ONLY_TRUST_KEYS = frozenset({"aws:multifactorauthpresent", "aws:multifactorauthage", "aws:sourceip"})
ADMIN_POLICIES = frozenset({"AdministratorAccess"})
IAM_WRITE_POLICIES = frozenset({"IAMFullAccess"})
UNDETERMINED_POLICIES = frozenset({"PowerUserAccess"})  # NotAction: allows sts:AssumeRole on anything
IAM_WRITES = (
    "iam:AddUserToGroup",
    "iam:AttachRolePolicy",
    "iam:AttachUserPolicy",
    "iam:CreateAccessKey",
    "iam:CreatePolicyVersion",
    "iam:CreateUser",
    "iam:PutRolePolicy",
    "iam:PutUserPolicy",
    "iam:UpdateAssumeRolePolicy",
)
ADMIN, IAM_WRITE, OTHER = "full admin", "IAM writes", "other"
POWER_SEVERITY = {ADMIN: Severity.CRITICAL, IAM_WRITE: Severity.HIGH, OTHER: Severity.MEDIUM}
OUTSIDE_VIEW = "an SCP or RCP network perimeter is outside the sweep's view"


class Statement(NamedTuple):
    """One policy statement that reaches a user, with where it comes from."""

    source: str  # "user policy X", "group G policy Y", "role policy Z"
    body: Mapping[str, Any]


def guard_escape_findings(
    users: Sequence[Mapping[str, Any]],
    groups: Sequence[Mapping[str, Any]],
    roles: Sequence[Mapping[str, Any]],
    policies: Sequence[Mapping[str, Any]],
    settings: Settings,
    today: date,
) -> list[Finding]:
    """The account listing's raw entries (``core.aws.iam.AccountDetails``) -> guard-escape findings."""
    documents = {str(p.get("Arn")): _default_document(p) for p in policies}
    group_index = {str(g.get("GroupName")): g for g in groups}
    network = _network_statement(policies, settings)
    findings: list[Finding] = []
    if network is None:
        roles = ()  # without the network restriction there is no network deny to go around
    for user in users:
        name = str(user["UserName"])
        statements, undetermined = _user_statements(user, group_index, documents)
        exemption = exemption_for(name, tags_to_dict(user.get("Tags") or []), settings, today)
        if exemption is not None:
            power = _power(statements, _managed_names(user, group_index))
            if power in (ADMIN, IAM_WRITE):
                listed = settings.is_listed_exempt(name)
                findings.append(
                    Finding(
                        name,
                        GUARD_ESCAPE,
                        Severity.INFO if listed else Severity.HIGH,
                        EXEMPTED,
                        detail=f"exempt ({'ExemptUsers' if listed else 'by tag'}) with {power}: "
                        "the guardrail binds none of it",
                        action="Keep such an exemption to the break-glass user (ExemptUsers); "
                        "remove the tag or the permissions.",
                    )
                )
            continue
        finding = _role_doors(user, statements, undetermined, roles, documents, network)
        if finding is not None:
            findings.append(finding)
    return findings


# --- the role doors ------------------------------------------------------------------------------------


def _role_doors(
    user: Mapping[str, Any],
    statements: list[Statement],
    undetermined: list[str],
    roles: Sequence[Mapping[str, Any]],
    documents: Mapping[str, Mapping[str, Any] | None],
    network: Mapping[str, Any] | None,
) -> Finding | None:
    name, arn = str(user["UserName"]), str(user.get("Arn", ""))
    account = arn.split(":")[4] if arn.count(":") >= 5 else ""
    doors: list[tuple[Severity, str]] = []
    unknown = list(undetermined)
    for role in roles:
        role_arn = str(role.get("Arn", ""))
        if "/aws-service-role/" in role_arn:
            continue
        allow, why = _user_may_assume(statements, role_arn)
        if allow is False:
            continue
        if allow and user.get("PermissionsBoundary"):
            allow, why = None, "the user's permissions boundary"
        trusted, how = _trusts(role.get("AssumeRolePolicyDocument"), account, arn)
        if trusted is False:
            continue
        role_policies = _role_documents(role, documents)
        if network is None or any(_carries(doc, network) for doc in role_policies):
            continue
        label = f"role {role.get('RoleName')}"
        if allow is None or trusted is None:
            unknown.append(f"{label} ({why if allow is None else how})")
            continue
        power = _power(_statements_of(role_policies, "role"), _attached_names(role))
        doors.append((POWER_SEVERITY[power], f"{label} ({power}; {why}; trust: {how})"))
    if not doors and not unknown:
        return None
    parts = []
    if doors:
        parts.append("can assume, without the network deny: " + "; ".join(d for _, d in doors))
    if unknown:
        parts.append("undetermined: " + "; ".join(unknown))
    parts.append(OUTSIDE_VIEW)
    severity = max((s for s, _ in doors), default=Severity.LOW)
    return Finding(
        name, GUARD_ESCAPE, severity, VIOLATION, detail="; ".join(parts), action=_ACTION[GUARD_ESCAPE]
    )


def _user_may_assume(statements: Iterable[Statement], role_arn: str) -> tuple[bool | None, str]:
    """True with the evidence, None (undetermined) with why, or False."""
    found: tuple[bool | None, str] = (False, "")
    for statement in statements:
        body = statement.body
        if not _action_matches(body, ASSUME_ROLE) or not _resource_matches(body, role_arn):
            loose = "NotAction" in body or "NotResource" in body
            if loose and body.get("Effect") == "Allow" and found[0] is False:
                found = (None, f"NotAction/NotResource in {statement.source}")
            continue
        if body.get("Effect") == "Deny":
            if not body.get("Condition"):
                return False, ""
            continue
        if body.get("Effect") != "Allow":
            continue
        if body.get("Condition"):
            if found[0] is False:
                found = (None, f"a condition in {statement.source}")
            continue
        if found[0] is not True:
            found = (True, f"{ASSUME_ROLE} allowed by {statement.source}{_sid(body)}")
    return found


def _trusts(document: Any, account: str, user_arn: str) -> tuple[bool | None, str]:
    found: tuple[bool | None, str] = (False, "")
    for body in _statement_list(document):
        if body.get("Effect") != "Allow" or not _action_matches(body, ASSUME_ROLE):
            continue
        if "NotPrincipal" in body:
            found = (None, "NotPrincipal in the trust") if found[0] is False else found
            continue
        principals = _principals(body.get("Principal"))
        partition = user_arn.split(":")[1] if user_arn.count(":") >= 5 else "aws"  # aws-us-gov, aws-cn...
        root = f"arn:{partition}:iam::{account}:root"
        named = [p for p in principals if p in (root, account, user_arn, "*")]
        if not named:
            continue
        keys = {k.casefold() for op in (body.get("Condition") or {}).values() for k in op}
        if keys - CALL_ONLY_TRUST_KEYS:
            found = (None, "a condition in the trust") if found[0] is False else found
            continue
        checked = " (checked at AssumeRole only: " + ", ".join(sorted(keys)) + ")" if keys else ""
        return True, f"{named[0]}{checked}"
    return found


# --- power ----------------------------------------------------------------------------------------------


def _power(statements: Iterable[Statement], managed: Iterable[str]) -> str:
    names = set(managed)
    if names & ADMIN_POLICIES:
        return ADMIN
    power = IAM_WRITE if names & IAM_WRITE_POLICIES else OTHER
    for statement in statements:
        body = statement.body
        if body.get("Effect") != "Allow" or body.get("Condition") or "Action" not in body:
            continue
        if "*" in _listed(body.get("Action")) and "*" in _listed(body.get("Resource")):
            return ADMIN
        if any(_action_matches(body, a) for a in IAM_WRITES):
            power = IAM_WRITE
    return power


# --- reading the listing --------------------------------------------------------------------------------


def _network_statement(policies: Sequence[Mapping[str, Any]], settings: Settings) -> Mapping[str, Any] | None:
    """The live guardrail's network statement (its default version), or None: then there is no network
    deny to go around (``IpRestriction=false``, or no guardrail)."""
    for policy in policies:
        # IAM sends PolicyName; moto does not: the ARN's last segment is the name too.
        name = policy.get("PolicyName") or str(policy.get("Arn", "")).rsplit("/", 1)[-1]
        if str(name).casefold() == settings.policy_name.casefold():
            found = [s for s in _statement_list(_default_document(policy)) if s.get("Sid") == NETWORK_SID]
            return found[0] if found else None
    return None


def _carries(document: Mapping[str, Any] | None, network: Mapping[str, Any]) -> bool:
    return any(s == network for s in _statement_list(document))


def _default_document(policy: Mapping[str, Any]) -> Mapping[str, Any] | None:
    for version in policy.get("PolicyVersionList") or []:
        if version.get("IsDefaultVersion"):
            return _decoded(version.get("Document"))
    return None


def _decoded(document: Any) -> Mapping[str, Any] | None:
    return None if document is None else decode_document(document)  # pure: URL-decoding and JSON


def _user_statements(
    user: Mapping[str, Any],
    groups: Mapping[str, Mapping[str, Any]],
    documents: Mapping[str, Mapping[str, Any] | None],
) -> tuple[list[Statement], list[str]]:
    statements: list[Statement] = []
    undetermined: list[str] = []
    if user.get("PermissionsBoundary"):
        undetermined.append("the user has a permissions boundary")
    holders: list[tuple[str, Mapping[str, Any]]] = [("user", user)]
    holders += [(f"group {g}", groups[g]) for g in user.get("GroupList") or [] if g in groups]
    for where, holder in holders:
        inline = holder.get("UserPolicyList") or holder.get("GroupPolicyList") or []
        for policy in inline:
            statements += _statements_of(
                [_decoded(policy.get("PolicyDocument"))], f"{where} policy {policy.get('PolicyName')}"
            )
        for attached in holder.get("AttachedManagedPolicies") or []:
            arn, policy_name = str(attached.get("PolicyArn")), str(attached.get("PolicyName"))
            if ":aws:policy/" in arn:
                if policy_name in ADMIN_POLICIES:
                    statements.append(
                        Statement(
                            f"{where} policy {policy_name}",
                            {"Effect": "Allow", "Action": "*", "Resource": "*"},
                        )
                    )
                elif policy_name in UNDETERMINED_POLICIES:
                    undetermined.append(f"{where} policy {policy_name} (NotAction)")
                continue
            statements += _statements_of([documents.get(arn)], f"{where} policy {policy_name}")
    return statements, undetermined


def _managed_names(user: Mapping[str, Any], groups: Mapping[str, Mapping[str, Any]]) -> list[str]:
    holders = [user, *(groups[g] for g in user.get("GroupList") or [] if g in groups)]
    return [
        str(a.get("PolicyName"))
        for h in holders
        for a in h.get("AttachedManagedPolicies") or []
        if ":aws:policy/" in str(a.get("PolicyArn"))
    ]


def _attached_names(role: Mapping[str, Any]) -> list[str]:
    return [
        str(a.get("PolicyName"))
        for a in role.get("AttachedManagedPolicies") or []
        if ":aws:policy/" in str(a.get("PolicyArn"))
    ]


def _role_documents(
    role: Mapping[str, Any], documents: Mapping[str, Mapping[str, Any] | None]
) -> list[Mapping[str, Any] | None]:
    found = [_decoded(p.get("PolicyDocument")) for p in role.get("RolePolicyList") or []]
    found += [documents.get(str(a.get("PolicyArn"))) for a in role.get("AttachedManagedPolicies") or []]
    boundary = (role.get("PermissionsBoundary") or {}).get("PermissionsBoundaryArn")
    if boundary:
        found.append(documents.get(str(boundary)))
    return found


def _statements_of(documents: Iterable[Mapping[str, Any] | None], source: str) -> list[Statement]:
    return [Statement(source, s) for d in documents for s in _statement_list(d)]


def _statement_list(document: Any) -> list[Mapping[str, Any]]:
    if not isinstance(document, Mapping):
        return []
    statements = document.get("Statement") or []
    return (
        [statements] if isinstance(statements, Mapping) else [s for s in statements if isinstance(s, Mapping)]
    )


def _listed(value: Any) -> list[str]:
    if value is None:
        return []
    return [str(value)] if isinstance(value, str) else [str(v) for v in value]


def _action_matches(body: Mapping[str, Any], action: str) -> bool:
    return any(fnmatchcase(action.casefold(), p.casefold()) for p in _listed(body.get("Action")))


def _resource_matches(body: Mapping[str, Any], arn: str) -> bool:
    return any(fnmatchcase(arn, p) for p in _listed(body.get("Resource")))


def _principals(principal: Any) -> list[str]:
    if principal == "*":
        return ["*"]
    if isinstance(principal, Mapping):
        return _listed(principal.get("AWS"))
    return []


def _sid(body: Mapping[str, Any]) -> str:
    return f" (statement {body['Sid']})" if body.get("Sid") else ""
