"""Make sure the secured group exists on IAM Guard's path, and the guardrail policy is current and attached.

Used by the enforcer on every run, by the sweep (from the account listing it already reads), by the
CloudFormation custom resource at deploy time, and by the demo. Three steps:

1. read the state: ``read_state`` asks IAM (3 calls in the steady state), ``state_from_details`` takes it
   from the sweep's GetAccountAuthorizationDetails (no extra call);
2. ``plan_guardrail`` decides the changes (pure);
3. ``apply_plan`` makes them. ``dry_run`` stops after step 2 and reports the plan.

Everything IAM Guard owns lives under ``naming.IAM_PATH``; IAM Guard's roles may write groups and
policies only there (and the configured names themselves, to move them back onto the path).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from types import MappingProxyType
from typing import Any, NamedTuple

from core.aws.iam import IamGateway, PolicyVersion, decode_document, permissions_of
from core.model.errors import NotFoundError
from core.model.naming import IAM_PATH, policy_arn, same_iam_name
from core.model.settings import Settings
from core.policy.compare import policies_equal

# The IAM actions each entry point needs; callers add their own to these (least privilege, see template).
READ_PERMISSIONS: frozenset[str] = permissions_of(
    IamGateway.get_default_version_id,
    IamGateway.get_policy_document,
    IamGateway.list_policy_versions,
    IamGateway.list_attached_group_policies,
)
WRITE_PERMISSIONS: frozenset[str] = permissions_of(
    IamGateway.create_policy,
    IamGateway.create_policy_version,
    IamGateway.delete_policy_version,
    IamGateway.set_default_policy_version,
    IamGateway.create_group,
    IamGateway.update_group,
    IamGateway.attach_group_policy,
)
ENSURE_PERMISSIONS: frozenset[str] = (
    READ_PERMISSIONS | WRITE_PERMISSIONS | permissions_of(IamGateway.get_group_path)
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


class Change(NamedTuple):
    """One change made (or, in a dry run, to be made) to the guardrail's own resources."""

    resource: str  # "group/NAME" or "policy/NAME"
    change: str  # group-created, group-moved, policy-created, policy-version-created,
    #              policy-version-restored, policy-version-deleted, policy-attached, ...
    detail: str = ""


# --- state ----------------------------------------------------------------------------------------


class VersionState(NamedTuple):
    """One version of the guardrail policy as read, its document when read."""

    version_id: str
    is_default: bool
    created: datetime | None = None
    document: Mapping[str, Any] | None = None  # None: not read (the reader stops at the first match)


class GuardrailState(NamedTuple):
    """What IAM holds now. ``group_path``: None when the group does not exist, "" when not read."""

    group_path: str | None
    attached: frozenset[str] = frozenset()  # ARNs of the policies attached to the group
    versions: tuple[VersionState, ...] | None = None  # None: no policy under IAM Guard's path
    # Groups other than the configured one that hold the guardrail policy: what is left of a rename.
    other_holders: tuple[str, ...] = ()

    @property
    def group_exists(self) -> bool:
        return self.group_path is not None

    @property
    def default(self) -> VersionState | None:
        return next((v for v in self.versions or () if v.is_default), None)


def read_state(
    iam: IamGateway, settings: Settings, account_id: str, rendered: Mapping[str, Any], *, check_path: bool
) -> GuardrailState:
    """Read what the plan needs, and no more: 3 calls when everything is current (4 with ``check_path``).

    A policy whose default version differs is read further: its versions, newest first, each document
    until one equals ``rendered`` (a tamper that only switched the default is undone by switching back).
    """
    try:
        attached = frozenset(iam.list_attached_group_policies(settings.group_name))
        group_path = iam.get_group_path(settings.group_name) if check_path else ""
    except NotFoundError:
        attached, group_path = frozenset(), None
    arn = policy_arn(account_id, settings.policy_name, settings.partition)
    try:
        default_id = iam.get_default_version_id(arn)
    except NotFoundError:
        return GuardrailState(group_path, attached, None)
    document = iam.get_policy_document(arn, default_id)
    if policies_equal(document, rendered):
        return GuardrailState(group_path, attached, (VersionState(default_id, True, None, document),))
    versions = [
        VersionState(
            v.version_id,
            v.version_id == default_id,
            v.created,
            document if v.version_id == default_id else None,
        )
        for v in iam.list_policy_versions(arn)
    ]
    for index, version in _newest_first_indexed(versions):
        if version.is_default:
            continue
        read = iam.get_policy_document(arn, version.version_id)
        versions[index] = VersionState(version.version_id, False, version.created, read)
        if policies_equal(read, rendered):
            break
    return GuardrailState(group_path, attached, tuple(versions))


def state_from_details(
    groups: Iterable[Mapping[str, Any]],
    policies: Iterable[Mapping[str, Any]],
    settings: Settings,
    account_id: str,
) -> GuardrailState:
    """The same state, from GetAccountAuthorizationDetails' GroupDetailList and Policies (every version)."""
    arn = policy_arn(account_id, settings.policy_name, settings.partition)
    group_path: str | None = None
    attached: frozenset[str] = frozenset()
    holders: list[str] = []
    for group in groups:
        policy_arns = frozenset(p["PolicyArn"] for p in group.get("AttachedManagedPolicies") or [])
        if same_iam_name(str(group["GroupName"]), settings.group_name):
            group_path, attached = str(group.get("Path", "/")), policy_arns
        elif arn in policy_arns:
            holders.append(f"{group.get('Path', '/')}{group['GroupName']}")
    versions: tuple[VersionState, ...] | None = None
    for policy in policies:
        if policy.get("Arn") == arn:
            versions = tuple(
                VersionState(
                    str(v["VersionId"]),
                    bool(v.get("IsDefaultVersion")),
                    v.get("CreateDate"),
                    decode_document(v["Document"]) if v.get("Document") is not None else None,
                )
                for v in policy.get("PolicyVersionList") or []
            )
    return GuardrailState(group_path, attached, versions, tuple(sorted(holders)))


# --- plan (pure) ----------------------------------------------------------------------------------


class Step(NamedTuple):
    """One IAM write and the change it reports."""

    operation: str  # the IamGateway method applying it
    arguments: tuple[Any, ...]
    change: Change
    keywords: Mapping[str, Any] = MappingProxyType({})  # read-only


def plan_guardrail(
    state: GuardrailState, settings: Settings, account_id: str, rendered: Mapping[str, Any]
) -> list[Step]:
    """The writes that bring the group, the policy and the attachment to the intended state."""
    return _plan_policy(state, settings, account_id, rendered) + _plan_group(state, settings, account_id)


def _plan_policy(
    state: GuardrailState, settings: Settings, account_id: str, rendered: Mapping[str, Any]
) -> list[Step]:
    resource = f"policy/{settings.policy_name}"
    arn = policy_arn(account_id, settings.policy_name, settings.partition)
    document = dict(rendered)
    if state.versions is None:
        return [
            Step(
                "create_policy",
                (settings.policy_name, document, POLICY_DESCRIPTION),
                Change(resource, "policy-created"),
            )
        ]
    default = state.default
    if default is not None and default.document is not None and policies_equal(default.document, rendered):
        return []
    default_id = default.version_id if default else "?"
    for _, version in _newest_first_indexed(list(state.versions)):
        if (
            not version.is_default
            and version.document is not None
            and policies_equal(version.document, rendered)
        ):
            change = Change(resource, "policy-version-restored", f"{default_id} -> {version.version_id}")
            return [Step("set_default_policy_version", (arn, version.version_id), change)]
    steps: list[Step] = []
    if len(state.versions) >= MAX_POLICY_VERSIONS:
        oldest = _oldest_non_default(state.versions)
        steps.append(
            Step(
                "delete_policy_version",
                (arn, oldest.version_id),
                Change(resource, "policy-version-deleted", oldest.version_id),
            )
        )
    steps.append(
        Step(
            "create_policy_version",
            (arn, document),
            Change(resource, "policy-version-created", f"replaces {default_id}"),
        )
    )
    return steps


def _plan_group(state: GuardrailState, settings: Settings, account_id: str) -> list[Step]:
    resource = f"group/{settings.group_name}"
    arn = policy_arn(account_id, settings.policy_name, settings.partition)
    steps: list[Step] = []
    if not state.group_exists:
        steps.append(
            Step("create_group", (settings.group_name,), Change(resource, "group-created", IAM_PATH))
        )
    elif state.group_path and state.group_path != IAM_PATH:
        steps.append(
            Step(
                "update_group",
                (settings.group_name,),
                Change(resource, "group-moved", f"{state.group_path} -> {IAM_PATH}"),
                {"new_path": IAM_PATH},
            )
        )
    if arn not in state.attached:
        steps.append(
            Step("attach_group_policy", (settings.group_name, arn), Change(resource, "policy-attached", arn))
        )
    return steps


# --- apply ----------------------------------------------------------------------------------------


# --- renames and removal ----------------------------------------------------------------------------


# --- version order ----------------------------------------------------------------------------------


def _newest_first_indexed(versions: list[VersionState]) -> list[tuple[int, VersionState]]:
    return sorted(enumerate(versions), key=lambda item: _version_key(item[1]), reverse=True)


def _oldest_non_default(versions: Iterable[VersionState]) -> VersionState:
    return min((v for v in versions if not v.is_default), key=_version_key)


def _version_key(version: VersionState | PolicyVersion) -> int:
    """IAM numbers versions v1, v2, ... v10: compare the numbers, never the strings ("v10" < "v9")."""
    return int(version.version_id.lstrip("v") or 0)
