"""A test organisation on moto: nested OUs, member accounts with users in known MFA states.

Seeding goes through clients pinned to each account (moto's ``x-moto-account-id`` header, added by a
``before-sign`` hook): fast, and independent of the code under test. The code under test reaches the
members only through real ``sts:AssumeRole`` credentials. The default moto account (123456789012) is
the management account and the caller.

Each member ``i`` (0-based, in creation order) holds:
- ``alice``: console password, no MFA, in the group -> console-without-mfa
- ``bob``: access key and a virtual MFA device, in the group -> nothing
- ``carol`` when i % 3 == 0: no credentials, outside the group -> not-in-secured-group
- ``dave`` when i % 5 == 0: access key, no MFA, in the group -> access-key-without-mfa
moto's root user has no MFA and no report row: every account also has root-without-mfa. Every member
has a password policy meeting every control (no password-policy finding).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from tests.harness.mfa import enable_virtual_mfa

from core.aws import assume as access
from core.aws.iam import IamGateway
from core.guardrail.apply import ensure_guardrail
from core.model.settings import build_settings
from core.org.spoke import member_settings

MANAGEMENT = "123456789012"
GROUP = "IAMGuardSecuredUsers"


def pinned_client(service: str, account_id: str) -> Any:
    """A client whose every request moto serves from ``account_id`` (no credentials involved)."""
    client = boto3.client(service, region_name="us-east-1")

    def pin(request: Any, **_: Any) -> None:
        request.headers["x-moto-account-id"] = account_id

    client.meta.events.register("before-sign", pin)
    return client


@dataclass
class Org:
    organization_id: str
    root_id: str
    ous: dict[str, str]  # name -> OU ID
    members: list[str] = field(default_factory=list)  # account IDs, creation order
    placement: dict[str, str] = field(default_factory=dict)  # account ID -> OU name

    def expected(self, index: int) -> set[tuple[str, str]]:
        """(user, finding) of member ``index`` as the sweep must report them."""
        found = {("<root_account>", "root-without-mfa"), ("alice", "console-without-mfa")}
        if index % 3 == 0:
            found.add(("carol", "not-in-secured-group"))
        if index % 5 == 0:
            found.add(("dave", "access-key-without-mfa"))
        return found


def seed_member(account_id: str, index: int) -> None:
    iam = pinned_client("iam", account_id)
    # The hub made the member's guardrail (the secured group on IAM Guard's path, the policy attached).
    ensure_guardrail(IamGateway(iam), member_settings(build_settings(ip_restriction=False)), account_id)
    # A password policy meeting every control (the sweep reads it: docs/sweep.md#the-password-policy).
    iam.update_account_password_policy(
        MinimumPasswordLength=14,
        RequireSymbols=True,
        RequireNumbers=True,
        RequireUppercaseCharacters=True,
        RequireLowercaseCharacters=True,
        MaxPasswordAge=90,
        PasswordReusePrevention=24,
    )
    iam.create_user(UserName="alice")
    iam.create_login_profile(UserName="alice", Password="Correct-Horse-9-Battery")
    iam.add_user_to_group(GroupName=GROUP, UserName="alice")
    iam.create_user(UserName="bob")
    iam.create_access_key(UserName="bob")
    enable_virtual_mfa(iam, "bob")
    iam.add_user_to_group(GroupName=GROUP, UserName="bob")
    if index % 3 == 0:
        iam.create_user(UserName="carol")
    if index % 5 == 0:
        iam.create_user(UserName="dave")
        iam.create_access_key(UserName="dave")
        iam.add_user_to_group(GroupName=GROUP, UserName="dave")


# OU tree: root -> workloads -> prod -> payments (three levels), root -> sandbox.
OU_TREE = (("workloads", None), ("prod", "workloads"), ("payments", "prod"), ("sandbox", None))


def build_org(members: int) -> Org:
    org_client = boto3.client("organizations", region_name="us-east-1")
    organization = org_client.create_organization(FeatureSet="ALL")["Organization"]
    root = org_client.list_roots()["Roots"][0]["Id"]
    ous: dict[str, str] = {}
    for name, parent in OU_TREE:
        parent_id = ous[parent] if parent else root
        ous[name] = org_client.create_organizational_unit(ParentId=parent_id, Name=name)[
            "OrganizationalUnit"
        ]["Id"]
    org = Org(organization["Id"], root, ous)
    names = [name for name, _ in OU_TREE] + ["<root>"]
    for i in range(members):
        status = org_client.create_account(Email=f"member{i}@example.com", AccountName=f"member{i}")
        account_id = status["CreateAccountStatus"]["AccountId"]
        where = names[i % len(names)]
        if where != "<root>":
            org_client.move_account(AccountId=account_id, SourceParentId=root, DestinationParentId=ous[where])
        org.members.append(account_id)
        org.placement[account_id] = where
        seed_member(account_id, i)
    return org


@pytest.fixture
def moto_org() -> Iterator[Org]:
    with mock_aws():
        yield build_org(52)


@pytest.fixture
def small_org() -> Iterator[Org]:
    with mock_aws():
        yield build_org(6)


@pytest.fixture
def sts_calls(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """Watches the one session the CLI builds: every AssumeRole it sends (role ARN, session, identity),
    and lets a test deny AssumeRole for chosen role ARNs (AccessDenied, as STS answers)."""
    seen: dict[str, Any] = {"assume": [], "deny": set(), "deny_list": False}
    original = access.new_session

    def watched_session() -> Any:
        session = original()

        def on_assume(params: dict[str, Any], **_: Any) -> None:
            seen["assume"].append(params)
            if params["RoleArn"] in seen["deny"]:
                raise ClientError(
                    {
                        "Error": {
                            "Code": "AccessDenied",
                            "Message": "not authorized to perform sts:AssumeRole",
                        }
                    },
                    "AssumeRole",
                )

        session.events.register("provide-client-params.sts.AssumeRole", on_assume)

        def on_list(**_: Any) -> None:
            if seen["deny_list"]:
                raise ClientError(
                    {"Error": {"Code": "AccessDeniedException", "Message": "not a delegated administrator"}},
                    "ListAccounts",
                )

        session.events.register("provide-client-params.organizations.ListAccounts", on_list)
        return session

    monkeypatch.setattr(access, "new_session", watched_session)  # the CLI imports it from here when it runs
    return seen
