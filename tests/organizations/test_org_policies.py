"""The org policies proven with the IAM engine (@cloud-copilot/iam-simulate): the spoke roles' trust with
the hub roles' own policies, the hub bus policy, and the protection SCP - attacker cells included.

moto evaluates none of these (trust, bus policy, SCP: design note section 4); the engine does."""

from __future__ import annotations

from typing import Any

import pytest
from tests.organizations import spoke_model
from tests.organizations.org_engine import ADMIN, Case, decide, scp_levels
from tests.template.template_model import ACCOUNT as HUB
from tests.template.template_model import load_template, resolve

from core.policy.scp import render_scp

ORG = "o-a1b2c3d4e5"
OTHER_ORG = "o-zz9yy8xx7w"
MEMBER = spoke_model.MEMBER
OUTSIDER = "999988887777"  # an account of another organisation
ALLOWED, EXPLICIT, IMPLICIT = "Allowed", "ExplicitlyDenied", "ImplicitlyDenied"


def hub_role(logical: str) -> tuple[str, dict[str, Any]]:
    """The hub role's ARN and its job policy, resolved from template.yaml for the fake hub account."""
    properties = resolve(load_template()["Resources"][logical]["Properties"], {"OrganizationId": ORG})
    arn = f"arn:aws:iam::{HUB}:role{properties['Path']}{properties['RoleName']}"
    job = next(p["PolicyDocument"] for p in properties["Policies"] if p["PolicyName"] == "job")
    return arn, job


SWEEP_ARN, SWEEP_JOB = hub_role("OrgSweepAccountRole")
ENFORCER_ARN, ENFORCER_JOB = hub_role("OrgEnforcerRole")
SPOKE = {"HubSweepRoleArn": SWEEP_ARN, "HubEnforcerRoleArn": ENFORCER_ARN, "OrganizationId": ORG}
AUDIT_ROLE = f"arn:aws:iam::{MEMBER}:role/IAMGuardAuditRole"
ENFORCE_ROLE = f"arn:aws:iam::{MEMBER}:role/IAMGuardEnforceRole"


def assume(
    name: str,
    principal: str,
    identity: dict[str, Any],
    role: str,
    *,
    org: str = ORG,
    resource_org: str = ORG,
    source_identity: str | None = "iam-guard",
    trust: dict[str, Any] | None = None,
    action: str = "sts:AssumeRole",
) -> Case:
    logical = "AuditRole" if role.endswith("/IAMGuardAuditRole") else "EnforceRole"
    context: dict[str, str | list[str]] = {
        "aws:PrincipalArn": principal,
        "aws:PrincipalOrgID": org,
        "aws:ResourceOrgID": resource_org,
    }
    if source_identity is not None:
        context["sts:SourceIdentity"] = source_identity
    return Case(
        name=name,
        principal=principal,
        action=action,
        resource=role,
        identity={"job": identity},
        context=context,
        resource_policy=trust or spoke_model.trust(logical, SPOKE),
    )


# (row, case, decision)
TRUST_TABLE = [
    ("hub sweep -> audit role", lambda: assume("a", SWEEP_ARN, SWEEP_JOB, AUDIT_ROLE), ALLOWED),
    (
        "hub sweep sets the source identity",
        lambda: assume("a", SWEEP_ARN, SWEEP_JOB, AUDIT_ROLE, action="sts:SetSourceIdentity"),
        ALLOWED,
    ),
    ("hub sweep -> enforce role (writes)", lambda: assume("a", SWEEP_ARN, SWEEP_JOB, ENFORCE_ROLE), ALLOWED),
    ("hub enforcer -> enforce role", lambda: assume("a", ENFORCER_ARN, ENFORCER_JOB, ENFORCE_ROLE), ALLOWED),
    ("hub enforcer -> audit role", lambda: assume("a", ENFORCER_ARN, ENFORCER_JOB, AUDIT_ROLE), IMPLICIT),
    (
        "hub sweep without SourceIdentity",
        lambda: assume("a", SWEEP_ARN, SWEEP_JOB, AUDIT_ROLE, source_identity=None),
        IMPLICIT,
    ),
    (
        "hub sweep with another SourceIdentity",
        lambda: assume("a", SWEEP_ARN, SWEEP_JOB, AUDIT_ROLE, source_identity="mallory"),
        IMPLICIT,
    ),
    (
        "another admin role in the hub account",
        lambda: assume("a", f"arn:aws:iam::{HUB}:role/Admin", ADMIN, AUDIT_ROLE),
        IMPLICIT,
    ),
    ("hub account root", lambda: assume("a", f"arn:aws:iam::{HUB}:root", ADMIN, ENFORCE_ROLE), IMPLICIT),
    (
        "same role name in a non-org account",
        lambda: assume("a", SWEEP_ARN.replace(HUB, OUTSIDER), ADMIN, AUDIT_ROLE, org=OTHER_ORG),
        IMPLICIT,
    ),
    (
        "hub sweep while the hub left the organisation",
        lambda: assume("a", SWEEP_ARN, SWEEP_JOB, AUDIT_ROLE, org=OTHER_ORG),
        IMPLICIT,
    ),
    (
        "member admin -> its own audit role",
        lambda: assume("a", f"arn:aws:iam::{MEMBER}:role/Admin", ADMIN, AUDIT_ROLE),
        IMPLICIT,
    ),
    (
        "member root -> its own enforce role",
        lambda: assume("a", f"arn:aws:iam::{MEMBER}:root", ADMIN, ENFORCE_ROLE),
        IMPLICIT,
    ),
    (
        "hub sweep -> a permissive role outside the organisation",
        lambda: assume(
            "a",
            SWEEP_ARN,
            SWEEP_JOB,
            f"arn:aws:iam::{OUTSIDER}:role/IAMGuardAuditRole",
            resource_org=OTHER_ORG,
            trust={
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}],
            },
        ),
        IMPLICIT,
    ),
]


def test_spoke_trust_admits_only_the_hub_roles_inside_the_organisation() -> None:
    cases = []
    for row, build, _ in TRUST_TABLE:
        case = build()
        cases.append(
            Case(
                row,
                case.principal,
                case.action,
                case.resource,
                case.identity,
                case.context,
                case.resource_policy,
            )
        )
    decisions = decide(cases)

    assert decisions == {row: expected for row, _, expected in TRUST_TABLE}


def test_an_operator_role_is_trusted_for_audit_and_for_writes_only_when_allowed() -> None:
    operator = f"arn:aws:iam::{HUB}:role/SecurityAuditor"
    reads = {**SPOKE, "OperatorRoleArn": operator}
    writes = {**reads, "OperatorMayWrite": "true"}

    def case(row: str, logical: str, parameters: dict[str, str], role: str) -> Case:
        base = assume(row, operator, ADMIN, role, trust=spoke_model.trust(logical, parameters))
        return Case(
            row, base.principal, base.action, base.resource, base.identity, base.context, base.resource_policy
        )

    decisions = decide(
        [
            case("audit, no operator", "AuditRole", SPOKE, AUDIT_ROLE),
            case("audit, operator", "AuditRole", reads, AUDIT_ROLE),
            case("write, operator may not", "EnforceRole", reads, ENFORCE_ROLE),
            case("write, operator may", "EnforceRole", writes, ENFORCE_ROLE),
        ]
    )

    assert decisions == {
        "audit, no operator": IMPLICIT,
        "audit, operator": ALLOWED,
        "write, operator may not": IMPLICIT,
        "write, operator may": ALLOWED,
    }


def test_the_hub_bus_takes_events_from_the_organisation_only() -> None:
    properties = resolve(
        load_template()["Resources"]["OrgEventBusPolicy"]["Properties"], {"OrganizationId": ORG}
    )
    bus = f"arn:aws:events:us-east-1:{HUB}:event-bus/iam-guard_org-events"
    statement = {**properties["Statement"], "Sid": properties["StatementId"], "Resource": bus}
    bus_policy = {"Version": "2012-10-17", "Statement": [statement]}
    forward_role = f"arn:aws:iam::{MEMBER}:role/IAMGuardForwardRole"
    forward_job = spoke_model.role_job("ForwardRole", {"HubEventBusArn": bus})

    def put(row: str, principal: str, identity: dict[str, Any], org: str) -> Case:
        return Case(
            row,
            principal,
            "events:PutEvents",
            bus,
            {"job": identity},
            {"aws:PrincipalOrgID": org},
            resource_policy=bus_policy,
        )

    decisions = decide(
        [
            put("member forwarding role", forward_role, forward_job, ORG),
            put("admin of a non-org account", f"arn:aws:iam::{OUTSIDER}:role/Admin", ADMIN, OTHER_ORG),
            put(
                "forwarding role of a non-org account",
                forward_role.replace(MEMBER, OUTSIDER),
                forward_job,
                OTHER_ORG,
            ),
        ]
    )

    assert decisions == {
        "member forwarding role": ALLOWED,
        "admin of a non-org account": IMPLICIT,
        "forwarding role of a non-org account": IMPLICIT,
    }
    assert (
        len(load_template()["Resources"]["OrgEventBusPolicy"]["Properties"]["Statement"]) > 0
    )  # one statement


# --- the protection SCP -----------------------------------------------------------------------------------

M = MEMBER
SCP = render_scp("iam-guard", exemption_roles=[f"arn:aws:iam::{M}:role/SecurityAdmin"], hub_account=HUB)
MEMBER_ADMIN = f"arn:aws:iam::{M}:role/Admin"
MEMBER_ROOT = f"arn:aws:iam::{M}:root"
STACKSET_EXEC = f"arn:aws:iam::{M}:role/stacksets-exec-0123456789abcdef"
SECURITY_ADMIN = f"arn:aws:iam::{M}:role/SecurityAdmin"
HUB_STACK_ROLE = f"arn:aws:iam::{HUB}:role/iam-guard/iam-guard/iam-guard_org-enforcer"
# Names a member administrator could give roles of their own, which an SCP exemption by name would trust.
LOOKALIKE_HUB_ROLE = f"arn:aws:iam::{M}:role/iam-guard/iam-guard/iam-guard_org-enforcer"
SELF_MANAGED_EXEC = f"arn:aws:iam::{M}:role/AWSCloudFormationStackSetExecutionRole"
OTHER_SECURITY_ADMIN = f"arn:aws:iam::{HUB}:role/SecurityAdmin"

# (row, principal, action, resource, tag keys, decision without SCP, decision with SCP)
SCP_TABLE: list[tuple[str, str, str, str, list[str] | None, str, str]] = [
    (
        "admin deletes the audit role",
        MEMBER_ADMIN,
        "iam:DeleteRole",
        f"arn:aws:iam::{M}:role/IAMGuardAuditRole",
        None,
        ALLOWED,
        EXPLICIT,
    ),
    (
        "admin rewrites the enforce role's trust",
        MEMBER_ADMIN,
        "iam:UpdateAssumeRolePolicy",
        f"arn:aws:iam::{M}:role/IAMGuardEnforceRole",
        None,
        ALLOWED,
        EXPLICIT,
    ),
    (
        "admin edits the forwarding role",
        MEMBER_ADMIN,
        "iam:PutRolePolicy",
        f"arn:aws:iam::{M}:role/IAMGuardForwardRole",
        None,
        ALLOWED,
        EXPLICIT,
    ),
    (
        "root deletes the audit role",
        MEMBER_ROOT,
        "iam:DeleteRole",
        f"arn:aws:iam::{M}:role/IAMGuardAuditRole",
        None,
        ALLOWED,
        EXPLICIT,
    ),
    (
        "admin disables the forward rule",
        MEMBER_ADMIN,
        "events:DisableRule",
        f"arn:aws:events:us-east-1:{M}:rule/IAMGuardForward",
        None,
        ALLOWED,
        EXPLICIT,
    ),
    (
        "root removes the spoke-changes rule's target",
        MEMBER_ROOT,
        "events:RemoveTargets",
        f"arn:aws:events:us-east-1:{M}:rule/IAMGuardForwardSpokeChanges",
        None,
        ALLOWED,
        EXPLICIT,
    ),
    (
        "admin disables another rule",
        MEMBER_ADMIN,
        "events:DisableRule",
        f"arn:aws:events:us-east-1:{M}:rule/nightly-backup",
        None,
        ALLOWED,
        ALLOWED,
    ),
    (
        "admin deletes another role",
        MEMBER_ADMIN,
        "iam:DeleteRole",
        f"arn:aws:iam::{M}:role/app-role",
        None,
        ALLOWED,
        ALLOWED,
    ),
    (
        "admin detaches the guardrail (legacy path)",
        MEMBER_ADMIN,
        "iam:DetachGroupPolicy",
        f"arn:aws:iam::{M}:group/IAMGuardSecuredUsers",
        None,
        ALLOWED,
        EXPLICIT,
    ),
    (
        "admin renames the group (/iam-guard/)",
        MEMBER_ADMIN,
        "iam:UpdateGroup",
        f"arn:aws:iam::{M}:group/iam-guard/IAMGuardSecuredUsers",
        None,
        ALLOWED,
        EXPLICIT,
    ),
    (
        "root deletes the group",
        MEMBER_ROOT,
        "iam:DeleteGroup",
        f"arn:aws:iam::{M}:group/iam-guard/IAMGuardSecuredUsers",
        None,
        ALLOWED,
        EXPLICIT,
    ),
    (
        "admin removes a user from the group (offboarding)",
        MEMBER_ADMIN,
        "iam:RemoveUserFromGroup",
        f"arn:aws:iam::{M}:group/iam-guard/IAMGuardSecuredUsers",
        None,
        ALLOWED,
        ALLOWED,
    ),
    (
        "admin changes another group",
        MEMBER_ADMIN,
        "iam:DetachGroupPolicy",
        f"arn:aws:iam::{M}:group/Developers",
        None,
        ALLOWED,
        ALLOWED,
    ),
    (
        "admin writes a policy version",
        MEMBER_ADMIN,
        "iam:CreatePolicyVersion",
        f"arn:aws:iam::{M}:policy/iam-guard/IAMGuardSecureIAMPolicy",
        None,
        ALLOWED,
        EXPLICIT,
    ),
    (
        "root switches the default version",
        MEMBER_ROOT,
        "iam:SetDefaultPolicyVersion",
        f"arn:aws:iam::{M}:policy/IAMGuardSecureIAMPolicy",
        None,
        ALLOWED,
        EXPLICIT,
    ),
    (
        "admin edits another policy",
        MEMBER_ADMIN,
        "iam:CreatePolicyVersion",
        f"arn:aws:iam::{M}:policy/AppPolicy",
        None,
        ALLOWED,
        ALLOWED,
    ),
    (
        "admin tags a user exempt (other case)",
        MEMBER_ADMIN,
        "iam:TagUser",
        f"arn:aws:iam::{M}:user/bob",
        ["IAM-Guard:Exempt"],
        ALLOWED,
        EXPLICIT,
    ),
    (
        "root untags the exemption",
        MEMBER_ROOT,
        "iam:UntagUser",
        f"arn:aws:iam::{M}:user/bob",
        ["iam-guard:exempt"],
        ALLOWED,
        EXPLICIT,
    ),
    (
        "admin creates a user tagged exempt",
        MEMBER_ADMIN,
        "iam:CreateUser",
        f"arn:aws:iam::{M}:user/eve",
        ["team", "iam-guard:exempt"],
        ALLOWED,
        EXPLICIT,
    ),
    (
        "admin redirects a user's owner (other case)",
        MEMBER_ADMIN,
        "iam:TagUser",
        f"arn:aws:iam::{M}:user/bob",
        ["IAM-GUARD:OWNER"],
        ALLOWED,
        EXPLICIT,
    ),
    (
        "root erases the record of a leaked key",
        MEMBER_ROOT,
        "iam:UntagUser",
        f"arn:aws:iam::{M}:user/bob",
        ["iam-guard:exposed-keys"],
        ALLOWED,
        EXPLICIT,
    ),
    (
        "the enforce role records a leaked key",
        ENFORCE_ROLE,
        "iam:TagUser",
        f"arn:aws:iam::{M}:user/bob",
        ["iam-guard:exposed-keys"],
        ALLOWED,
        ALLOWED,
    ),
    (
        "admin tags a user with another key",
        MEMBER_ADMIN,
        "iam:TagUser",
        f"arn:aws:iam::{M}:user/bob",
        ["team"],
        ALLOWED,
        ALLOWED,
    ),
    (
        "admin creates a user without tags",
        MEMBER_ADMIN,
        "iam:CreateUser",
        f"arn:aws:iam::{M}:user/eve",
        None,
        ALLOWED,
        ALLOWED,
    ),
    (
        "exemption role tags a user exempt",
        SECURITY_ADMIN,
        "iam:TagUser",
        f"arn:aws:iam::{M}:user/bob",
        ["iam-guard:exempt"],
        ALLOWED,
        ALLOWED,
    ),
    (
        "StackSet updates the audit role",
        STACKSET_EXEC,
        "iam:UpdateAssumeRolePolicy",
        f"arn:aws:iam::{M}:role/IAMGuardAuditRole",
        None,
        ALLOWED,
        ALLOWED,
    ),
    (
        "StackSet replaces the forward rule",
        STACKSET_EXEC,
        "events:PutRule",
        f"arn:aws:events:us-east-1:{M}:rule/IAMGuardForward",
        None,
        ALLOWED,
        ALLOWED,
    ),
    (
        "hub stack role in the hub account",
        HUB_STACK_ROLE,
        "iam:DetachGroupPolicy",
        f"arn:aws:iam::{HUB}:group/iam-guard/IAMGuardSecuredUsers",
        None,
        ALLOWED,
        ALLOWED,
    ),
    # --- the walk-arounds (issue 21, item 4): names a member administrator can give their own roles ---
    (
        "admin creates a role named like StackSets' execution role",
        MEMBER_ADMIN,
        "iam:CreateRole",
        f"arn:aws:iam::{M}:role/stacksets-exec-x",
        None,
        ALLOWED,
        EXPLICIT,
    ),
    (
        "admin makes a StackSets execution role trust them",
        MEMBER_ADMIN,
        "iam:UpdateAssumeRolePolicy",
        f"arn:aws:iam::{M}:role/stacksets-exec-0123456789abcdef",
        None,
        ALLOWED,
        EXPLICIT,
    ),
    (
        "exemption role attaches a policy to a StackSets execution role",
        SECURITY_ADMIN,
        "iam:AttachRolePolicy",
        f"arn:aws:iam::{M}:role/stacksets-exec-0123456789abcdef",
        None,
        ALLOWED,
        EXPLICIT,
    ),
    (
        "admin updates the stack that made the StackSets execution role",
        MEMBER_ADMIN,
        "cloudformation:UpdateStack",
        f"arn:aws:cloudformation:us-east-1:{M}:stack/stacksets-exec-role-stack-1a2b/0a1b2c3d",
        None,
        ALLOWED,
        EXPLICIT,
    ),
    (
        "admin's own role on the hub stack's role path deletes the audit role",
        LOOKALIKE_HUB_ROLE,
        "iam:DeleteRole",
        f"arn:aws:iam::{M}:role/IAMGuardAuditRole",
        None,
        ALLOWED,
        EXPLICIT,
    ),
    (
        "admin's own AWSCloudFormationStackSetExecutionRole deletes the forward rule",
        SELF_MANAGED_EXEC,
        "events:DeleteRule",
        f"arn:aws:events:us-east-1:{M}:rule/IAMGuardForward",
        None,
        ALLOWED,
        EXPLICIT,
    ),
    (
        "a role named like the exemption role, in another account, tags a user exempt",
        OTHER_SECURITY_ADMIN,
        "iam:TagUser",
        f"arn:aws:iam::{HUB}:user/bob",
        ["iam-guard:exempt"],
        ALLOWED,
        EXPLICIT,
    ),
    (
        "admin creates an ordinary role",
        MEMBER_ADMIN,
        "iam:CreateRole",
        f"arn:aws:iam::{M}:role/app-role-2",
        None,
        ALLOWED,
        ALLOWED,
    ),
]


@pytest.mark.parametrize("with_scp", [False, True])
def test_the_protect_scp_stops_member_admins_and_root_but_not_iam_guard(with_scp: bool) -> None:
    cases = []
    for row, principal, action, resource, tags, _, _ in SCP_TABLE:
        context: dict[str, str | list[str]] = {"aws:PrincipalArn": principal}
        if tags is not None:
            context["aws:TagKeys"] = tags
        scps = scp_levels(M, SCP) if with_scp else scp_levels(M)
        cases.append(Case(row, principal, action, resource, {"admin": ADMIN}, context, scps=scps))

    decisions = decide(cases)

    expected = {row: (scp if with_scp else none) for row, _, _, _, _, none, scp in SCP_TABLE}
    assert decisions == expected


def test_the_enforce_role_keeps_its_guardrail_writes_under_the_scp() -> None:
    job = spoke_model.role_job("EnforceRole")
    rows = [
        (
            "creates a policy version",
            "iam:CreatePolicyVersion",
            f"arn:aws:iam::{M}:policy/iam-guard/IAMGuardSecureIAMPolicy",
        ),
        (
            "adds a user to the group",
            "iam:AddUserToGroup",
            f"arn:aws:iam::{M}:group/iam-guard/IAMGuardSecuredUsers",
        ),
        (
            "restores the default version",
            "iam:SetDefaultPolicyVersion",
            f"arn:aws:iam::{M}:policy/iam-guard/IAMGuardSecureIAMPolicy",
        ),
    ]
    cases = [
        Case(
            row,
            ENFORCE_ROLE,
            action,
            resource,
            {"job": job},
            {"aws:PrincipalArn": ENFORCE_ROLE},
            scps=scp_levels(M, SCP),
        )
        for row, action, resource in rows
    ]

    assert decide(cases) == {row: ALLOWED for row, _, _ in rows}
