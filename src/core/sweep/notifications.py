"""What a user's owner is told about the sweep's findings: staged warnings and notices. Pure.

From the findings, each user's owner (``core.model.owners``), the settings and the sweep's clock, one
``Notification`` per owner contact (e-mail address, Slack member ID) and finding:

- a deadline with a **planned action** (``Remediate`` for the MFA findings of a user with active keys,
  ``RemediateUnusedKeys`` for ``access-key-unused``, ``RemediateServiceCredentials`` for
  ``service-credential-active``; never with ``DryRun``): a ``warning`` at each of
  ``warning_days`` before the deadline (only the nearest stage due: a sweep that missed day 7 sends the
  day-3 warning, not both), then one ``action`` when IAM Guard acted (status ``remediated``);
- otherwise (no planned action, or a dry run, worded "would"): one ``notice`` per finding.

Each notification says what will happen, when, to which credential, and the one thing to do. Its
``stage_key`` (``warning-7``, ``action``, ``notice``) is what a state table records, so that each stage
is sent once. Nothing here sends anything.

Only the user's own findings reach its owner; the administrators' digest is unchanged.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any, Literal, NamedTuple
from urllib.parse import quote

from core.model.findings import (
    ACCESS_KEY_OLD,
    ACCESS_KEY_UNUSED,
    ACCESS_KEY_WITHOUT_MFA,
    CONSOLE_UNUSED,
    CONSOLE_WITHOUT_MFA,
    GRACE,
    MFA_KINDS,
    REACTIVATE,
    REACTIVATE_SERVICE_CREDENTIAL,
    REMEDIATED,
    SERVICE_CREDENTIAL_ACTIVE,
    TWO_ACTIVE_KEYS,
    VIOLATION,
    WOULD_REMEDIATE,
    Finding,
)
from core.model.owners import Owner
from core.model.settings import Settings

Stage = Literal["warning", "action", "notice"]
Channel = Literal["email", "slack"]

CONSOLE = "https://us-east-1.console.aws.amazon.com/iam/home"  # IAM is global; its console lives here
# The findings an owner can act on. Root, guardrail, group membership and owner-tag findings are the
# administrators' (they are in the digest); an exemption needs nothing from the owner.
OWNER_KINDS = frozenset(
    {
        CONSOLE_WITHOUT_MFA,
        ACCESS_KEY_WITHOUT_MFA,
        CONSOLE_UNUSED,
        ACCESS_KEY_UNUSED,
        ACCESS_KEY_OLD,
        TWO_ACTIVE_KEYS,
        SERVICE_CREDENTIAL_ACTIVE,
    }
)
_NOTIFIED_STATUSES = frozenset({GRACE, VIOLATION, REMEDIATED, WOULD_REMEDIATE})
_WHAT_TO_DO = {
    CONSOLE_WITHOUT_MFA: "Set up MFA for {user}: {link}",
    ACCESS_KEY_WITHOUT_MFA: "Set up MFA for {user} ({link}), or move the workload to an IAM role.",
    CONSOLE_UNUSED: "Remove the unused console password of {user} ({link}), or sign in to keep it.",
    ACCESS_KEY_UNUSED: "Delete the unused access key of {user} ({link}), or tell your administrators "
    "it is still needed.",
    ACCESS_KEY_OLD: "Rotate the access key of {user}: create a new one, move the workload, delete the old "
    "one ({link}).",
    TWO_ACTIVE_KEYS: "Finish the key rotation of {user}: delete the key no longer in use ({link}).",
    SERVICE_CREDENTIAL_ACTIVE: "Delete the service-specific credentials of {user} that are no longer used "
    "({link}), or move the workload to an IAM role or short-term credentials.",
}
_CREDENTIAL = {
    CONSOLE_WITHOUT_MFA: "the console password",
    ACCESS_KEY_WITHOUT_MFA: "the access keys",
    CONSOLE_UNUSED: "the console password",
    ACCESS_KEY_UNUSED: "the unused access keys",
    ACCESS_KEY_OLD: "the old access key",
    TWO_ACTIVE_KEYS: "the access keys",
    SERVICE_CREDENTIAL_ACTIVE: "the active service-specific credentials",
}
# How to undo what IAM Guard did (it deactivates, never deletes): the access keys' command by default.
_REACTIVATE = {SERVICE_CREDENTIAL_ACTIVE: REACTIVATE_SERVICE_CREDENTIAL}
EXEMPTION_HINT = (
    "If {user} must stay as it is, ask the AWS administrators who run IAM Guard for an exemption "
    "(only they can grant one)."
)


class Notification(NamedTuple):
    """One notification due to an owner: to whom, how, about which user and finding, which stage."""

    owner: str  # the e-mail address or Slack member ID
    channel: Channel
    user: str
    finding: str
    stage: Stage
    days_before: int | None  # warnings only
    due: datetime | None  # the deadline (warnings, notices with one) or when IAM Guard acted
    owner_source: str  # "tag" or "default"
    subject: str
    body: str

    @property
    def stage_key(self) -> str:
        """The stage as a state table records it: ``warning-7``, ``action`` or ``notice``."""
        return f"warning-{self.days_before}" if self.stage == "warning" else self.stage

    def as_dict(self) -> dict[str, Any]:
        return {
            "owner": self.owner,
            "channel": self.channel,
            "user": self.user,
            "finding": self.finding,
            "stage": self.stage,
            "days_before": self.days_before,
            "due": self.due.isoformat(timespec="seconds") if self.due else None,
        }


def planned_action(finding: Finding, settings: Settings) -> str | None:
    """What IAM Guard will do at the deadline, or None (nothing planned, or a dry run)."""
    if settings.dry_run:
        return None
    if finding.finding in MFA_KINDS and settings.remediate and finding.active_keys > 0:
        return f"deactivate (not delete) its {_keys(finding.active_keys)}"
    if finding.finding == ACCESS_KEY_UNUSED and settings.remediate_unused_keys and settings.unused_days > 0:
        return f"deactivate (not delete) its unused {_keys(finding.active_keys)}"
    if finding.finding == SERVICE_CREDENTIAL_ACTIVE and settings.remediate_service_credentials:
        # The detail names each credential; the sweep re-reads them from IAM before acting.
        return "deactivate (not delete) its active service-specific credentials"
    return None


def would_act(finding: Finding, settings: Settings) -> str | None:
    """What IAM Guard would do were it not a dry run (for the "would" wording), or None."""
    if not settings.dry_run:
        return None
    return planned_action(finding, _not_dry(settings))


def plan_notifications(
    findings: Iterable[Finding], owners: Mapping[str, Owner | None], settings: Settings, now: datetime
) -> list[Notification]:
    """Every notification due at ``now``, one per owner contact and finding; sorted by owner, user."""
    planned: list[Notification] = []
    for finding in findings:
        owner = owners.get(finding.user)
        if owner is None or finding.finding not in OWNER_KINDS or finding.status not in _NOTIFIED_STATUSES:
            continue
        staged = _stage(finding, settings, now)
        if staged is None:
            continue
        stage, days, due, subject, body = staged
        for channel, address in owner.contacts:
            planned.append(
                Notification(
                    address,
                    channel,
                    finding.user,
                    finding.finding,
                    stage,
                    days,
                    due,
                    owner.source,
                    subject,
                    body,
                )
            )
    return sorted(planned, key=lambda n: (n.owner, n.user, n.finding, n.channel))


def _stage(
    finding: Finding, settings: Settings, now: datetime
) -> tuple[Stage, int | None, datetime | None, str, str] | None:
    user = finding.user
    what = _CREDENTIAL[finding.finding]
    todo = _todo(finding)
    if finding.status == REMEDIATED:
        subject = f"IAM Guard deactivated {what} of {user}"
        undo = _REACTIVATE.get(finding.finding, REACTIVATE).replace("USER", user)
        body = (
            f"IAM Guard deactivated {what} of IAM user {user} ({finding.finding}): {finding.detail}.\n"
            f"To fix it: {todo}\nThen reactivate it ({undo}).\n" + EXEMPTION_HINT.format(user=user)
        )
        return "action", None, now, subject, body
    action = planned_action(finding, settings)
    if action is not None and finding.status == GRACE and finding.deadline is not None:
        left = finding.deadline - now
        due = [d for d in settings.warning_days if left <= timedelta(days=d)]
        if not due:
            return None  # too early for the first warning
        days = min(due)
        when = _moment(finding.deadline)
        subject = f"IAM Guard will {action.split(' (')[0]} of {user} on {when[:10]}"
        body = (
            f"On {when} (in {_in(left)}) IAM Guard will {action} of IAM user {user}, because of "
            f"{finding.finding}: {finding.detail}.\nThe one thing to do: {todo}\n"
            + EXEMPTION_HINT.format(user=user)
        )
        return "warning", days, finding.deadline, subject, body
    would = would_act(finding, settings)
    if would is not None or finding.status == WOULD_REMEDIATE:
        fallback = (
            "deactivate its active service-specific credentials"
            if finding.finding == SERVICE_CREDENTIAL_ACTIVE
            else "deactivate its access keys"
        )
        consequence = f"IAM Guard would {would or fallback}, but it runs in dry run"
    else:
        consequence = "IAM Guard takes no action on it by itself; the administrators see it in their digest"
    deadline = f" (deadline {_moment(finding.deadline)})" if finding.deadline else ""
    subject = f"IAM Guard notice: {finding.finding} on {user}"
    body = (
        f"IAM user {user} has {finding.finding}{deadline}: {finding.detail}.\n{consequence}.\n"
        f"The one thing to do: {todo}\n" + EXEMPTION_HINT.format(user=user)
    )
    return "notice", None, finding.deadline, subject, body


def _todo(finding: Finding) -> str:
    link = f"{CONSOLE}#/users/details/{quote(finding.user)}?section=security_credentials"
    return _WHAT_TO_DO[finding.finding].format(user=finding.user, link=link)


def _keys(count: int) -> str:
    return "active access key" if count == 1 else f"{count} active access keys"


def _moment(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def _in(left: timedelta) -> str:
    hours = max(0, int(left.total_seconds() // 3600))
    return f"{hours // 24} days {hours % 24} hours" if hours >= 24 else f"{hours} hours"


def _not_dry(settings: Settings) -> Settings:
    return replace(settings, dry_run=False)
