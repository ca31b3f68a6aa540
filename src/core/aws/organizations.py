"""The organisation's accounts: the Organizations adapter, which accounts a run covers, StackSet targets.

Selection and StackSet targets are pure functions over what the adapter read, so they are tested without
AWS. StackSet targets are computed here rather than trusted from the emulator: moto recurses one OU level
only and includes the management account, AWS recurses every level and never deploys to the management
account (``DeploymentTargets`` docs).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from core.aws.gateway import Gateway
from core.aws.iam import permissions_of, requires
from core.model.errors import InvalidInputError
from core.model.naming import ACCOUNT_ID

ORGANIZATION_ID = re.compile(r"^o-[a-z0-9]{10,32}$")
OU_ID = re.compile(r"^(r-[0-9a-z]{4,32}|ou-[0-9a-z]{4,32}-[a-z0-9]{8,32})$")
ACTIVE = "ACTIVE"


@dataclass(frozen=True)
class Account:
    """One account of the organisation (ListAccounts)."""

    account_id: str
    name: str = ""
    status: str = ACTIVE


@dataclass(frozen=True)
class Organization:
    """The organisation (DescribeOrganization): its ID and management account."""

    organization_id: str
    management_account_id: str


def default_organizations_client() -> Any:
    from core.aws.clients import client

    return client("organizations")


class OrganizationsGateway(Gateway):
    """Organizations reads, as the management account or a delegated administrator."""

    default_client_factory = staticmethod(default_organizations_client)

    def _pages(self, operation: str, key: str, **params: Any) -> Iterator[Any]:
        for page in self._paged(operation, **params):
            yield from page.get(key, [])

    @requires("organizations:DescribeOrganization")
    def describe_organization(self) -> Organization:
        org = self._call("DescribeOrganization")["Organization"]
        return Organization(str(org["Id"]), str(org["MasterAccountId"]))

    @requires("organizations:ListAccounts")
    def list_accounts(self) -> list[Account]:
        """Every account of the organisation, whatever its state (pages of at most 20 on AWS)."""
        return [_account(a) for a in self._pages("ListAccounts", "Accounts")]

    @requires("organizations:ListRoots")
    def list_root_ids(self) -> list[str]:
        return [str(r["Id"]) for r in self._pages("ListRoots", "Roots")]

    @requires("organizations:ListOrganizationalUnitsForParent")
    def list_child_ou_ids(self, parent_id: str) -> list[str]:
        return [
            str(ou["Id"])
            for ou in self._pages(
                "ListOrganizationalUnitsForParent",
                "OrganizationalUnits",
                ParentId=parent_id,
            )
        ]

    @requires("organizations:ListAccountsForParent")
    def list_accounts_for_parent(self, parent_id: str) -> list[Account]:
        return [_account(a) for a in self._pages("ListAccountsForParent", "Accounts", ParentId=parent_id)]


def _account(raw: dict[str, Any]) -> Account:
    # "State" replaces "Status" (deprecated in 2025); either says ACTIVE for a usable account.
    return Account(str(raw["Id"]), str(raw.get("Name", "")), str(raw.get("State") or raw.get("Status", "")))


# The Organizations actions of a sweep run (the hub's list function and the CLI's caller need them).
LIST_PERMISSIONS = permissions_of(
    OrganizationsGateway.describe_organization, OrganizationsGateway.list_accounts
)
TARGET_PERMISSIONS = permissions_of(
    OrganizationsGateway.list_root_ids,
    OrganizationsGateway.list_child_ou_ids,
    OrganizationsGateway.list_accounts_for_parent,
    OrganizationsGateway.describe_organization,
)


# --- which accounts a run covers (pure) -------------------------------------------------------------


@dataclass(frozen=True)
class Selection:
    """The accounts to sweep, and those left out with why."""

    accounts: tuple[Account, ...]  # to sweep, in account-ID order
    skipped: tuple[tuple[str, str], ...]  # (account ID, why), in account-ID order


def select_accounts(
    accounts: Iterable[Account],
    *,
    caller_account_id: str,
    management_account_id: str,
    include: Iterable[str] = (),
    exclude: Iterable[str] = (),
    excluded_by: str = "--exclude-account",
) -> Selection:
    """ACTIVE accounts, less the caller's and the management account (they run their own single-account
    stacks) unless ``include`` names them, less ``exclude``. An ``include`` or ``exclude`` naming no
    account of the organisation is a mistake worth one line, not a silent no-op. ``excluded_by`` names
    where the exclusion came from, in the skipped account's reason."""
    every = {a.account_id: a for a in accounts}
    include_set, exclude_set = set(include), set(exclude)
    both = include_set & exclude_set
    if both:
        raise InvalidInputError(f"account {min(both)} is both included and excluded")
    unknown = sorted((include_set | exclude_set) - set(every))
    if unknown:
        raise InvalidInputError(f"account {unknown[0]} is not in the organisation")
    chosen: list[Account] = []
    skipped: list[tuple[str, str]] = []
    for account_id in sorted(every):
        account = every[account_id]
        reason = _skip_reason(
            account, caller_account_id, management_account_id, include_set, exclude_set, excluded_by
        )
        if reason:
            skipped.append((account_id, reason))
        else:
            chosen.append(account)
    return Selection(tuple(chosen), tuple(skipped))


def _skip_reason(
    account: Account, caller: str, management: str, include: set[str], exclude: set[str], excluded_by: str
) -> str:
    if account.account_id in exclude:
        return f"excluded ({excluded_by})"
    if account.status != ACTIVE:
        if account.account_id in include:
            raise InvalidInputError(f"account {account.account_id} is {account.status}, not ACTIVE")
        return f"not ACTIVE ({account.status})"
    if account.account_id in include:
        return ""
    if account.account_id == management:
        return "management account (runs its own single-account stack)"
    if account.account_id == caller:
        return "the caller's own account (runs its own single-account stack)"
    return ""


# --- StackSet targets, computed by us (pure over the tree) ---------------------------------------------


def stackset_target_accounts(
    gateway: OrganizationsGateway, ou_ids: Iterable[str], management_account_id: str
) -> list[str]:
    """The accounts a SERVICE_MANAGED StackSet targeting ``ou_ids`` deploys to: every account below each
    OU at any depth, never the management account. ACTIVE accounts only."""
    found: set[str] = set()
    stack = list(dict.fromkeys(ou_ids))
    seen: set[str] = set()
    while stack:
        parent = stack.pop()
        if parent in seen:
            continue
        seen.add(parent)
        found.update(a.account_id for a in gateway.list_accounts_for_parent(parent) if a.status == ACTIVE)
        stack.extend(gateway.list_child_ou_ids(parent))
    found.discard(management_account_id)
    return sorted(found)


def parse_account_id(text: str) -> str:
    value = text.strip()
    if not ACCOUNT_ID.match(value):
        raise InvalidInputError(f"{text!r} is not an AWS account ID (12 digits)")
    return value


# --- what a run covers ----------------------------------------------------------------------------------


def plan(
    organizations: OrganizationsGateway,
    *,
    caller_account_id: str,
    include: Iterable[str] = (),
    exclude: Iterable[str] = (),
) -> tuple[Organization, Selection]:
    """The organisation and the accounts a run covers (two Organizations reads: one per 20 accounts)."""
    org = organizations.describe_organization()
    selection = select_accounts(
        organizations.list_accounts(),
        caller_account_id=caller_account_id,
        management_account_id=org.management_account_id,
        include=include,
        exclude=exclude,
    )
    return org, selection


def list_targets(
    organizations: OrganizationsGateway, *, caller_account_id: str, exclude: Iterable[str] = ()
) -> dict[str, Any]:
    """The hub workflow's first step: what its Distributed Map iterates over.

    ``exclude`` is the hub's ``OrgExcludeAccounts``. An ID that is no longer in the organisation (a closed
    account, long after the stack was configured) is listed under ``unknown_excluded`` rather than failing
    every scheduled sweep, as the same mistake on the command line does.
    """
    org = organizations.describe_organization()
    accounts = organizations.list_accounts()
    known = {a.account_id for a in accounts}
    selection = select_accounts(
        accounts,
        caller_account_id=caller_account_id,
        management_account_id=org.management_account_id,
        exclude=known.intersection(exclude),
        excluded_by="OrgExcludeAccounts",
    )
    return {
        "organization_id": org.organization_id,
        "accounts": [a.account_id for a in selection.accounts],
        "skipped": [{"account_id": i, "reason": r} for i, r in selection.skipped],
        "unknown_excluded": sorted(set(exclude) - known),
    }
