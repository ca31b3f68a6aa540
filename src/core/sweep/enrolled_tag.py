"""The enrolled tag: ``iam-guard:enrolled=true`` on exactly the secured group's members.

The optional ``IAMGuardDenyUnenrolled`` SCP (``core.policy.scp``) lets an IAM user of a member account do
nothing but its first MFA setup until it carries this principal tag. With ``Settings.tag_enrolled`` (set
for member accounts by ``core.org.spoke.member_settings``) the sweep tags every member that lacks it and
untags every user outside the group that still has it, from the account listing it already read: no
extra read, one ``TagUser`` / ``UntagUser`` per user to change (none in the steady state).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import NamedTuple

from aws_lambda_powertools import Logger

from core.aws.iam import IamGateway, permissions_of
from core.model.errors import AwsError
from core.model.findings import ENROLLED, NOT_IN_SECURED_GROUP, Finding, UserRecord
from core.model.naming import ENROLLED_TAG_KEY, ENROLLED_TAG_VALUE, same_iam_name
from core.model.settings import Settings

logger = Logger(child=True)

# Granted only where tag_enrolled is on: the spoke's IAMGuardEnforceRole (core.org.spoke.role_permissions),
# limited there to this one tag key (ForAllValues:StringEquals on aws:TagKeys).
PERMISSIONS = permissions_of(IamGateway.tag_user, IamGateway.untag_user)


class TagPlan(NamedTuple):
    """Which users get the enrolled tag, and which lose it."""

    tag: tuple[str, ...]  # members without iam-guard:enrolled=true
    untag: tuple[str, ...]  # users outside the group that carry the tag (any value)


def _carries(user: UserRecord) -> str | None:
    return next((v for k, v in user.tags.items() if k.casefold() == ENROLLED_TAG_KEY), None)


def plan_enrolled_tags(
    users: Iterable[UserRecord], group_name: str, newly_enrolled: Iterable[str] = ()
) -> TagPlan:
    """Pure: who to tag and untag, given the listing and the users the sweep has just enrolled."""
    added = {u.casefold() for u in newly_enrolled}
    tag: list[str] = []
    untag: list[str] = []
    for user in users:
        member = user.name.casefold() in added or any(same_iam_name(g, group_name) for g in user.groups)
        value = _carries(user)
        if member and value != ENROLLED_TAG_VALUE:
            tag.append(user.name)
        elif not member and value is not None:
            untag.append(user.name)
    return TagPlan(tuple(sorted(tag)), tuple(sorted(untag)))


def reconcile_enrolled_tags(
    iam: IamGateway, users: Sequence[UserRecord], findings: Sequence[Finding], settings: Settings
) -> tuple[str, ...]:
    """Apply the plan (or, in dry run, say what it would do); one line per user: ``tagged alice``,
    ``untagged bob``, ``would tag alice``, ``tag failed for alice: ...``. Never raises an AWS error."""
    if not settings.tag_enrolled:
        return ()
    enrolled = [f.user for f in findings if f.finding == NOT_IN_SECURED_GROUP and f.status == ENROLLED]
    plan = plan_enrolled_tags(users, settings.group_name, enrolled)
    done: list[str] = []
    for verb, names in (("tag", plan.tag), ("untag", plan.untag)):
        for name in names:
            if settings.dry_run:
                done.append(f"would {verb} {name}")
                continue
            try:
                if verb == "tag":
                    iam.tag_user(name, {ENROLLED_TAG_KEY: ENROLLED_TAG_VALUE})
                else:
                    iam.untag_user(name, [ENROLLED_TAG_KEY])
            except AwsError as exc:
                logger.warning("enrolled tag not changed", extra={"user": name, "error": str(exc)})
                done.append(f"{verb} failed for {name}: {exc}")
                continue
            done.append(f"{verb}ged {name}")
    return tuple(done)
