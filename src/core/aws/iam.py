"""The IAM adapter: the only module that calls boto3 for IAM.

Every method declares the IAM actions it needs with ``@requires``; the least-privilege test holds each
function's role in ``template.yaml`` to exactly the union of the methods its job uses. Errors come out
translated (``core.aws.gateway.translate``); throttling and concurrent modification are retried with backoff.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, NamedTuple, ParamSpec, TypeVar

from core.aws.gateway import Gateway
from core.model.naming import IAM_PATH
from core.model.policy_text import policy_json

P = ParamSpec("P")
R = TypeVar("R")

GatewayMethod = Callable[..., Any]


def requires(*actions: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Declare the IAM actions a gateway method calls (read by ``permissions_of`` and the tests)."""

    def mark(fn: Callable[P, R]) -> Callable[P, R]:
        fn.__iam_actions__ = tuple(actions)  # type: ignore[attr-defined]
        return fn

    return mark


def permissions_of(*methods: GatewayMethod) -> frozenset[str]:
    """The IAM actions a set of gateway methods needs."""
    return frozenset(a for m in methods for a in getattr(m, "__iam_actions__", ()))


class PolicyVersion(NamedTuple):
    """One version of a managed policy (ListPolicyVersions), without its document."""

    version_id: str
    is_default: bool
    created: datetime | None


@dataclass
class AccountDetails:
    """GetAccountAuthorizationDetails, every page: the raw entries, in IAM's own shape."""

    users: list[dict[str, Any]] = field(default_factory=list)
    groups: list[dict[str, Any]] = field(default_factory=list)
    policies: list[dict[str, Any]] = field(default_factory=list)
    roles: list[dict[str, Any]] = field(default_factory=list)  # trust, inline, attached, boundary


class OrganizationFeatures(NamedTuple):
    """ListOrganizationsFeatures: the organisation and its centralized root access features enabled."""

    organization_id: str
    enabled: frozenset[str]  # RootCredentialsManagement, RootSessions


class CredentialReport(NamedTuple):
    """The account's credential report: when IAM generated it and its rows, as read."""

    generated_at: datetime
    rows: list[dict[str, str]]


def default_iam_client() -> Any:
    """A boto3 IAM client with botocore's own retries off: ``Retrier`` retries, so counts stay exact.

    Its timestamps are parsed with ``parse_iam_timestamp``: botocore's default (dateutil) took half of
    the sweep's wall time at 1,000 users, one CreateDate per user in GetAccountAuthorizationDetails.
    """
    from core.aws.clients import client

    # From the default session (core.aws.clients), so that anything observing it (the demo's call
    # counts) sees this client too; the factory gives every session the fast parser.
    return client("iam")


def decode_document(document: Any) -> dict[str, Any]:
    """A policy document as IAM returns it: boto3 decodes it; other transports send URL-encoded JSON."""
    if isinstance(document, str):
        import json
        from urllib.parse import unquote

        document = json.loads(unquote(document))
    return dict(document)


def parse_iam_timestamp(value: str) -> datetime:
    """IAM's ISO 8601 timestamps, fast; anything else through botocore's general parser. Always aware."""
    try:
        parsed = datetime.fromisoformat(value)
    except (TypeError, ValueError):
        from botocore.utils import parse_timestamp

        parsed = parse_timestamp(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


class IamGateway(Gateway):
    """Thin, typed wrapper over the IAM API. The client is injected or created lazily on first use."""

    default_client_factory = staticmethod(default_iam_client)

    def _pages(self, operation: str, result_key: str, **params: Any) -> Iterator[Any]:
        """The items of every page of an IAM listing (``Marker`` / ``IsTruncated``)."""
        for page in self._paged(operation, position_field="Marker", truncated="IsTruncated", **params):
            yield from page.get(result_key, [])

    # --- users ---------------------------------------------------------------------------------------

    @requires("iam:GetUser")
    def get_user(self, user_name: str) -> dict[str, Any]:
        """The user, with ``Tags`` (always a list). Raises ``NotFoundError`` if it does not exist."""
        user: dict[str, Any] = self._call("GetUser", UserName=user_name)["User"]
        user.setdefault("Tags", [])
        return user

    @requires("iam:ListGroupsForUser")
    def list_groups_for_user(self, user_name: str) -> list[str]:
        return [g["GroupName"] for g in self._pages("ListGroupsForUser", "Groups", UserName=user_name)]

    @requires("iam:GetLoginProfile")
    def has_login_profile(self, user_name: str) -> bool:
        from core.model.errors import NotFoundError

        try:
            self._call("GetLoginProfile", UserName=user_name)
        except NotFoundError:
            return False
        return True

    @requires("iam:ListAccessKeys")
    def list_access_keys(self, user_name: str) -> list[dict[str, Any]]:
        return list(self._pages("ListAccessKeys", "AccessKeyMetadata", UserName=user_name))

    @requires("iam:GetAccessKeyLastUsed")
    def access_key_last_used(self, access_key_id: str) -> datetime | None:
        """When the key last signed a request, live; ``None`` if never (or not since IAM began tracking)."""
        response = self._call("GetAccessKeyLastUsed", AccessKeyId=access_key_id)
        used = response.get("AccessKeyLastUsed", {}).get("LastUsedDate")
        return used if isinstance(used, datetime) else None

    @requires("iam:GetAccessKeyLastUsed")
    def access_key_user(self, access_key_id: str) -> tuple[str, str]:
        """Whose key this is and where it was last used: (user name, region; '' if never used).

        Raises ``NotFoundError`` when the account has no such key (deleted, or never existed).
        """
        response = self._call("GetAccessKeyLastUsed", AccessKeyId=access_key_id)
        used = response.get("AccessKeyLastUsed", {})
        region = used.get("Region", "")
        return str(response.get("UserName", "")), region if region and region != "N/A" else ""

    @requires("iam:ListAttachedUserPolicies")
    def list_attached_user_policies(self, user_name: str) -> list[str]:
        return [
            p["PolicyArn"]
            for p in self._pages("ListAttachedUserPolicies", "AttachedPolicies", UserName=user_name)
        ]

    @requires("iam:AttachUserPolicy")
    def attach_user_policy(self, user_name: str, policy_arn: str) -> None:
        self._call("AttachUserPolicy", UserName=user_name, PolicyArn=policy_arn)

    @requires("iam:PutUserPolicy")
    def put_user_policy(self, user_name: str, policy_name: str, document: dict[str, Any]) -> None:
        self._call(
            "PutUserPolicy", UserName=user_name, PolicyName=policy_name, PolicyDocument=policy_json(document)
        )

    @requires("iam:UpdateAccessKey")
    def deactivate_access_key(self, user_name: str, access_key_id: str) -> None:
        self._call("UpdateAccessKey", UserName=user_name, AccessKeyId=access_key_id, Status="Inactive")

    @requires("iam:ListMFADevices")
    def list_mfa_devices(self, user_name: str) -> list[dict[str, Any]]:
        return list(self._pages("ListMFADevices", "MFADevices", UserName=user_name))

    @requires("iam:DeactivateMFADevice")
    def deactivate_mfa_device(self, user_name: str, serial_number: str) -> None:
        self._call("DeactivateMFADevice", UserName=user_name, SerialNumber=serial_number)

    # --- the secured group ---------------------------------------------------------------------------

    @requires("iam:GetGroup")
    def list_group_members(self, group_name: str) -> list[str]:
        """Members of the group; raises ``NotFoundError`` if the group does not exist."""
        return [u["UserName"] for u in self._pages("GetGroup", "Users", GroupName=group_name)]

    @requires("iam:GetGroup")
    def get_group_path(self, group_name: str) -> str:
        """The group's IAM path (one call, whatever its size); ``NotFoundError`` if there is no such group."""
        return str(self._call("GetGroup", GroupName=group_name, MaxItems=1)["Group"]["Path"])

    @requires("iam:CreateGroup")
    def create_group(self, group_name: str, path: str = IAM_PATH) -> None:
        self._call("CreateGroup", GroupName=group_name, Path=path)

    @requires("iam:UpdateGroup")
    def update_group(
        self, group_name: str, *, new_name: str | None = None, new_path: str | None = None
    ) -> None:
        """Rename a group and/or move it to another path; members and attached policies stay with it."""
        changes = {"NewGroupName": new_name, "NewPath": new_path}
        self._call("UpdateGroup", GroupName=group_name, **{k: v for k, v in changes.items() if v})

    @requires("iam:DeleteGroup")
    def delete_group(self, group_name: str) -> None:
        self._call("DeleteGroup", GroupName=group_name)

    @requires("iam:AddUserToGroup")
    def add_user_to_group(self, group_name: str, user_name: str) -> None:
        """Idempotent: adding a member again succeeds without change."""
        self._call("AddUserToGroup", GroupName=group_name, UserName=user_name)

    @requires("iam:TagUser")
    def tag_user(self, user_name: str, tags: Mapping[str, str]) -> None:
        self._call("TagUser", UserName=user_name, Tags=[{"Key": k, "Value": v} for k, v in tags.items()])

    @requires("iam:UntagUser")
    def untag_user(self, user_name: str, keys: Sequence[str]) -> None:
        self._call("UntagUser", UserName=user_name, TagKeys=list(keys))

    @requires("iam:RemoveUserFromGroup")
    def remove_user_from_group(self, group_name: str, user_name: str) -> None:
        self._call("RemoveUserFromGroup", GroupName=group_name, UserName=user_name)

    @requires("iam:ListAttachedGroupPolicies")
    def list_attached_group_policies(self, group_name: str) -> list[str]:
        """ARNs of the managed policies attached; raises ``NotFoundError`` if the group does not exist."""
        return [
            p["PolicyArn"]
            for p in self._pages("ListAttachedGroupPolicies", "AttachedPolicies", GroupName=group_name)
        ]

    @requires("iam:AttachGroupPolicy")
    def attach_group_policy(self, group_name: str, policy_arn: str) -> None:
        self._call("AttachGroupPolicy", GroupName=group_name, PolicyArn=policy_arn)

    @requires("iam:DetachGroupPolicy")
    def detach_group_policy(self, group_name: str, policy_arn: str) -> None:
        self._call("DetachGroupPolicy", GroupName=group_name, PolicyArn=policy_arn)

    # --- the managed policy --------------------------------------------------------------------------

    @requires("iam:GetPolicy")
    def get_default_version_id(self, policy_arn: str) -> str:
        """The policy's default version ID; raises ``NotFoundError`` if the policy does not exist."""
        return str(self._call("GetPolicy", PolicyArn=policy_arn)["Policy"]["DefaultVersionId"])

    @requires("iam:GetPolicyVersion")
    def get_policy_document(self, policy_arn: str, version_id: str) -> dict[str, Any]:
        version = self._call("GetPolicyVersion", PolicyArn=policy_arn, VersionId=version_id)
        return decode_document(version["PolicyVersion"]["Document"])

    @requires("iam:CreatePolicy")
    def create_policy(
        self, policy_name: str, document: dict[str, Any], description: str, path: str = IAM_PATH
    ) -> str:
        response = self._call(
            "CreatePolicy",
            PolicyName=policy_name,
            Path=path,
            PolicyDocument=policy_json(document, indent=None),
            Description=description,
        )
        return str(response["Policy"]["Arn"])

    @requires("iam:DeletePolicy")
    def delete_policy(self, policy_arn: str) -> None:
        self._call("DeletePolicy", PolicyArn=policy_arn)

    @requires("iam:ListPolicyVersions")
    def list_policy_versions(self, policy_arn: str) -> list[PolicyVersion]:
        return [
            PolicyVersion(v["VersionId"], bool(v["IsDefaultVersion"]), v.get("CreateDate"))
            for v in self._pages("ListPolicyVersions", "Versions", PolicyArn=policy_arn)
        ]

    @requires("iam:CreatePolicyVersion")
    def create_policy_version(self, policy_arn: str, document: dict[str, Any]) -> str:
        """Create a new default version; raises ``ConflictError`` (LimitExceeded) at 5 versions."""
        response = self._call(
            "CreatePolicyVersion",
            PolicyArn=policy_arn,
            PolicyDocument=policy_json(document, indent=None),
            SetAsDefault=True,
        )
        return str(response["PolicyVersion"]["VersionId"])

    @requires("iam:DeletePolicyVersion")
    def delete_policy_version(self, policy_arn: str, version_id: str) -> None:
        self._call("DeletePolicyVersion", PolicyArn=policy_arn, VersionId=version_id)

    @requires("iam:SetDefaultPolicyVersion")
    def set_default_policy_version(self, policy_arn: str, version_id: str) -> None:
        self._call("SetDefaultPolicyVersion", PolicyArn=policy_arn, VersionId=version_id)

    # --- account-wide reads for the sweep ------------------------------------------------------------

    @requires("iam:GenerateCredentialReport")
    def generate_credential_report(self) -> str:
        """Ask IAM to (re)generate the report; returns STARTED, INPROGRESS or COMPLETE."""
        return str(self._call("GenerateCredentialReport")["State"])

    @requires("iam:GetCredentialReport")
    def get_credential_report(self) -> CredentialReport:
        response = self._call("GetCredentialReport")
        content = response["Content"]
        text = content.decode("utf-8") if isinstance(content, bytes) else str(content)
        return CredentialReport(response["GeneratedTime"], list(csv.DictReader(io.StringIO(text))))

    @requires("iam:GetAccountAuthorizationDetails")
    def iter_users_with_groups_and_tags(self) -> Iterator[dict[str, Any]]:
        """Every user with ``GroupList`` and ``Tags``, 1,000 per call (the sweep's account-wide listing)."""
        yield from self._pages(
            "GetAccountAuthorizationDetails", "UserDetailList", Filter=["User"], MaxItems=1000
        )

    @requires("iam:GetAccountAuthorizationDetails")
    def account_details(self) -> AccountDetails:
        """Users (groups, tags), groups (path, attached policies), roles (trust, policies) and customer
        managed policies (every version's document) in one paged listing: the sweep checks the guardrail
        and the guard-escape doors at no extra call (the roles' pages are the only extra ones)."""
        details = AccountDetails()
        for page in self._paged(
            "GetAccountAuthorizationDetails",
            position_field="Marker",
            truncated="IsTruncated",
            Filter=["User", "Group", "Role", "LocalManagedPolicy"],
            MaxItems=1000,
        ):
            details.users.extend(page.get("UserDetailList", []))
            details.groups.extend(page.get("GroupDetailList", []))
            details.policies.extend(page.get("Policies", []))
            details.roles.extend(page.get("RoleDetailList", []))
        return details

    @requires("iam:ListVirtualMFADevices")
    def users_with_assigned_virtual_mfa(self) -> set[str]:
        """User names holding an assigned virtual MFA device now (fresher than the credential report)."""
        return self.virtual_mfa_assignments()[0]

    @requires("iam:ListVirtualMFADevices")
    def virtual_mfa_assignments(self) -> tuple[set[str], bool]:
        """One listing: the users holding an assigned virtual MFA device now, and whether the root user
        holds one (its device's ``User.Arn`` is ``arn:<partition>:iam::<account>:root``; the serial
        ``mfa/root-account-mfa-device`` is only the legacy name, so the ARN decides)."""
        users: set[str] = set()
        root = False
        for device in self._pages(
            "ListVirtualMFADevices", "VirtualMFADevices", AssignmentStatus="Assigned", MaxItems=1000
        ):
            user = device.get("User") or {}
            if str(user.get("Arn", "")).endswith(":root"):
                root = True
                continue
            name = user.get("UserName")
            if name:
                users.add(name)
        return users, root

    @requires("iam:GetAccountSummary")
    def account_summary(self) -> dict[str, int]:
        """The account's ``SummaryMap``: the root user's ``AccountMFAEnabled``, ``AccountPasswordPresent``
        and ``AccountAccessKeysPresent`` (1 or 0), besides usage counts and quotas."""
        return {str(k): int(v) for k, v in self._call("GetAccountSummary")["SummaryMap"].items()}

    @requires("iam:ListServiceSpecificCredentials")
    def all_service_specific_credentials(self) -> list[dict[str, Any]]:
        """Every user's service-specific credentials (CodeCommit, Keyspaces, Bedrock and CloudWatch Logs
        API keys), account-wide with ``AllUsers``, 1,000 per page: one call for most accounts.

        IAM's metadata: ``UserName``, ``ServiceName``, ``ServiceSpecificCredentialId``, ``Status``
        (Active | Inactive | Expired), ``CreateDate``, ``ExpirationDate`` (API keys only); no last use.
        """
        return list(
            self._pages(
                "ListServiceSpecificCredentials", "ServiceSpecificCredentials", AllUsers=True, MaxItems=1000
            )
        )

    @requires("iam:ListServiceSpecificCredentials")
    def list_service_specific_credentials(self, user_name: str) -> list[dict[str, Any]]:
        """One user's service-specific credentials, live (the re-check before deactivating any)."""
        return list(
            self._pages("ListServiceSpecificCredentials", "ServiceSpecificCredentials", UserName=user_name)
        )

    @requires("iam:UpdateServiceSpecificCredential")
    def deactivate_service_specific_credential(self, user_name: str, credential_id: str) -> None:
        """Make one service-specific credential Inactive (never deleted: it can be reactivated)."""
        self._call(
            "UpdateServiceSpecificCredential",
            UserName=user_name,
            ServiceSpecificCredentialId=credential_id,
            Status="Inactive",
        )

    @requires("iam:ListSSHPublicKeys")
    def list_ssh_public_keys(self, user_name: str) -> list[dict[str, Any]]:
        """One user's SSH public keys (CodeCommit): ``SSHPublicKeyId``, ``Status``, ``UploadDate``.

        Per user only (IAM has no account-wide listing, and the credential report has no SSH columns)."""
        return list(self._pages("ListSSHPublicKeys", "SSHPublicKeys", UserName=user_name))

    @requires("iam:ListOrganizationsFeatures")
    def organizations_features(self) -> OrganizationFeatures:
        """The organisation's centralized root access features (one call, no paging), as the management
        account or IAM's delegated administrator sees them. Raises ``OrganizationSetupError`` when the
        organisation is missing, not in all-features mode, without IAM's trusted access, or the caller
        is neither of those accounts; ``AccessDeniedError`` when the caller may not call it."""
        response = self._call("ListOrganizationsFeatures")
        return OrganizationFeatures(
            str(response.get("OrganizationId", "")),
            frozenset(str(f) for f in response.get("EnabledFeatures") or ()),
        )

    @requires("iam:GetAccountPasswordPolicy")
    def account_password_policy(self) -> dict[str, Any] | None:
        """The account's ``PasswordPolicy``; ``None`` when the account has none (IAM: NoSuchEntity)."""
        from core.model.errors import NotFoundError

        try:
            return dict(self._call("GetAccountPasswordPolicy")["PasswordPolicy"])
        except NotFoundError:
            return None

    @requires("iam:UpdateAccountPasswordPolicy")
    def update_account_password_policy(self, policy: dict[str, Any]) -> None:
        """Set the account password policy; IAM resets every parameter not given to its default."""
        self._call("UpdateAccountPasswordPolicy", **policy)
