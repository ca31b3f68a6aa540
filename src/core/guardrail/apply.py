"""Applying a guardrail plan, and the repairs around it.

Create, attach, heal, restore a renamed group, move members, remove, migrate the legacy policy: each
step is planned by ``core.guardrail.state`` first, then applied here through the IAM gateway.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import suppress
from typing import Any

from core.aws.iam import IamGateway, permissions_of
from core.guardrail.state import Change, Step, plan_guardrail, read_state
from core.model.errors import ConflictError, NotFoundError
from core.model.naming import IAM_PATH, legacy_policy_arn, name_of_arn, same_iam_name
from core.model.settings import Settings
from core.policy.document import render_policy


def apply_plan(iam: IamGateway, steps: Sequence[Step]) -> list[Change]:
    """Make each write; a version a concurrent run deleted first is gone either way."""
    done: list[Change] = []
    for step in steps:
        operation: Callable[..., Any] = getattr(iam, step.operation)
        if step.operation == "delete_policy_version":
            with suppress(NotFoundError):
                operation(*step.arguments, **step.keywords)
        elif step.operation == "create_group":
            with suppress(ConflictError):  # EntityAlreadyExists: a concurrent run created it
                operation(*step.arguments, **step.keywords)
        else:
            operation(*step.arguments, **step.keywords)
        done.append(step.change)
    return done


# Concurrent runs (at-least-once delivery, parallel containers) can delete a version between our reads
# or win a create; each such loss is answered by looking again from the start.
_RACE_ATTEMPTS = 4


def ensure_guardrail(
    iam: IamGateway, settings: Settings, account_id: str, *, dry_run: bool = False, check_path: bool = False
) -> list[Change]:
    """Bring group, policy and attachment to the intended state; return what changed (or would)."""
    rendered = render_policy(settings)
    for attempt in range(_RACE_ATTEMPTS):
        try:
            steps = plan_guardrail(
                read_state(iam, settings, account_id, rendered, check_path=check_path),
                settings,
                account_id,
                rendered,
            )
            return [s.change for s in steps] if dry_run else apply_plan(iam, steps)
        except (NotFoundError, ConflictError):
            if attempt == _RACE_ATTEMPTS - 1:
                raise
    return []  # pragma: no cover - the loop returns or raises


def restore_renamed_group(
    iam: IamGateway,
    settings: Settings,
    account_id: str,
    new_name: str,
    new_path: str,
    *,
    dry_run: bool = False,
) -> list[Change]:
    """Undo ``UpdateGroup`` on the secured group (a new name and/or a new path).

    On IAM Guard's path (or under the configured name) the roles may rename it back: members and policy
    move with it. Renamed off the path it is out of their reach: the configured group is made again and
    every member of the renamed group joins it, so nobody keeps less protection than before; the renamed
    group itself is left for an administrator to delete (the alert says so). The same happens when the
    configured group was made again before this ran (the rename back would collide with it).
    """
    resource = f"group/{settings.group_name}"
    if same_iam_name(new_name, settings.group_name) or new_path == IAM_PATH:
        change = Change(
            resource, "group-renamed-back", f"{new_path}{new_name} -> {IAM_PATH}{settings.group_name}"
        )
        if not dry_run:
            rename = None if new_name == settings.group_name else settings.group_name
            try:
                iam.update_group(new_name, new_name=rename, new_path=IAM_PATH)
            except ConflictError:  # the configured group exists again (an enrolment recreated it)
                return ensure_guardrail(iam, settings, account_id, check_path=True) + _move_members(
                    iam, new_name, settings.group_name
                )
        return [change, *ensure_guardrail(iam, settings, account_id, dry_run=dry_run, check_path=True)]
    members = iam.list_group_members(new_name)
    changes = ensure_guardrail(iam, settings, account_id, dry_run=dry_run, check_path=True)
    return changes + _move_members(iam, new_name, settings.group_name, members=members, dry_run=dry_run)


def _move_members(
    iam: IamGateway,
    old_group: str,
    new_group: str,
    *,
    members: list[str] | None = None,
    dry_run: bool = False,
) -> list[Change]:
    """Members of ``old_group`` join ``new_group`` (idempotent), so they keep the guardrail."""
    if members is None:
        try:
            members = iam.list_group_members(old_group)
        except NotFoundError:
            return []
    if not dry_run:
        for member in members:
            iam.add_user_to_group(new_group, member)
    return [Change(f"group/{new_group}", "member-moved", f"{m} from {old_group}") for m in members]


def move_members(iam: IamGateway, old_group: str, new_group: str) -> list[Change]:
    """A group renamed through the stack keeps its members protected: they join the new group first."""
    return _move_members(iam, old_group, new_group)


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


def remove_policy(iam: IamGateway, arn: str) -> list[Change]:
    """Delete the policy and its old versions (also used when the policy is renamed or migrated)."""
    try:
        for version in iam.list_policy_versions(arn):
            if not version.is_default:
                iam.delete_policy_version(arn, version.version_id)
        iam.delete_policy(arn)
    except NotFoundError:
        return []
    return [Change(f"policy/{name_of_arn(arn)}", "policy-deleted", arn)]


def migrate_legacy_policy(iam: IamGateway, settings: Settings, account_id: str) -> list[Change]:
    """Version 0.1 created the policy on the path ``/``; a managed policy's path cannot change.

    Detach it from the group and delete it, so ``ensure_guardrail`` can create it under ``IAM_PATH`` with the
    same name (names are unique per account, whatever the path). The group is without the guardrail for
    the few calls in between; this runs once, during the upgrade's stack update.
    """
    legacy = legacy_policy_arn(account_id, settings.policy_name, settings.partition)
    try:
        iam.get_default_version_id(legacy)
    except NotFoundError:
        return []
    changes: list[Change] = []
    with suppress(NotFoundError):
        iam.detach_group_policy(settings.group_name, legacy)
        changes.append(Change(f"group/{settings.group_name}", "policy-detached", legacy))
    return changes + remove_policy(iam, legacy)


MIGRATE_PERMISSIONS: frozenset[str] = permissions_of(
    IamGateway.get_default_version_id, IamGateway.detach_group_policy
)
