"""Sending the owners' notifications, each stage once: state table, SES e-mail, Slack direct messages.

For each (user, finding, stage) due (``core.sweep.notifications``) the stage is claimed in the state
table (``core.aws.notification_state``); a stage already claimed is ``already-sent``. Then every contact
of the owner gets it: e-mail through SES from ``OwnerEmailSender``, Slack through the bot token. A stage
none of whose contacts could be reached is released, so the next sweep tries again (once per sweep,
never in a loop). What was not sent says why:

- e-mail with no sender configured, Slack with no bot token: that channel is off;
- the SES sandbox (``GetAccount``: no production access) and a recipient that is not a verified
  identity: "SES sandbox: request production access" (SES would refuse it);
- a channel that failed: its one-line error (never a URL, a token or a key).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from aws_lambda_powertools import Logger

from core.aws.iam import permissions_of
from core.aws.notification_state import NotificationStateGateway
from core.aws.ses import SesGateway
from core.model.errors import DeliveryError, IamGuardError
from core.model.settings import Settings
from core.report.slack_bot import SlackBotSender
from core.sweep.notifications import Notification

logger = Logger(child=True)

# What sending needs: the state table (claim, release), SES (sandbox, recipients, send) and the Slack
# bot's secret. The template grants each on the table, the sender identity and the secret only.
REQUIRED_PERMISSIONS = permissions_of(
    NotificationStateGateway.claim,
    NotificationStateGateway.release,
    SesGateway.production_access,
    SesGateway.is_verified,
    SesGateway.send_email,
) | frozenset({"secretsmanager:GetSecretValue"})

DeliveryStatus = Literal["sent", "already-sent", "not-sent"]
SANDBOX = "SES sandbox: request production access (the recipient is not a verified identity)"
STATE_TTL_DAYS = 400  # a stage is remembered for a year and a bit: longer than any grace or exemption
SANDBOX_SEND_INTERVAL = 1.0  # the sandbox allows 1 message a second


@dataclass(frozen=True)
class Delivery:
    """What happened to one owner notification: sent, not sent (why), or already sent."""

    notification: Notification
    status: DeliveryStatus
    reason: str = ""
    failed: bool = False  # the channel failed (an error), as opposed to being off or in the sandbox

    def as_dict(self) -> dict[str, str]:
        return {"status": self.status, "reason": self.reason} if self.reason else {"status": self.status}


@dataclass
class OwnerChannels:
    """What can reach owners: each None when its setting is empty (the channel is off)."""

    email_sender: str | None = None
    ses: SesGateway | None = None
    slack: SlackBotSender | None = None
    sleep: Callable[[float], None] = time.sleep
    _production: bool | None = None

    def production_access(self) -> bool:
        """GetAccount's ProductionAccessEnabled, read once; unreadable counts as the sandbox (the safe side:
        only verified recipients are mailed)."""
        if self._production is None:
            try:
                self._production = self.ses.production_access() if self.ses else False
            except IamGuardError as exc:
                logger.warning("SES account not readable: treated as the sandbox", extra={"error": str(exc)})
                self._production = False
        return self._production


class UnreadableSlackBot(SlackBotSender):
    """The bot's secret could not be read: every Slack message fails with that one line (the other
    channels go on, and the stage is tried again next sweep when no contact got it)."""

    def __init__(self, reason: str) -> None:
        self.reason = reason

    def __repr__(self) -> str:
        return "UnreadableSlackBot()"

    def send(self, member_id: str, text: str) -> None:
        raise DeliveryError(self.reason)


OwnerSender = Callable[[Sequence[Notification], str, datetime], tuple["Delivery", ...]]


def owner_sender(
    settings: Settings,
    *,
    slack_api_url: str | None = None,
    fetch_secret: Callable[[str, int], object] | None = None,
) -> OwnerSender | None:
    """What sends the owners' notifications with these settings (the sweep function's and
    ``iam-guard audit --send-notifications``'s), or None without a state table: without one no stage
    could be sent only once. Each channel is on when its setting is (``OwnerEmailSender``,
    ``SlackBotTokenSecretArn``); a bot secret that cannot be read fails the Slack messages only."""
    if not settings.notifications_table:
        return None
    slack: SlackBotSender | None = None
    if settings.slack_bot_token_secret_arn:
        from core.model.errors import SettingsError
        from core.report.webhook import secret_fields

        try:
            fields = secret_fields(
                settings.slack_bot_token_secret_arn, ("token",), "a Slack bot token", fetch=fetch_secret
            )
            slack = SlackBotSender(fields["token"], base_url=slack_api_url)
        except (DeliveryError, SettingsError) as exc:
            logger.warning("Slack bot secret not readable", extra={"error": str(exc)})
            slack = UnreadableSlackBot(str(exc))
    channels = OwnerChannels(
        email_sender=settings.owner_email_sender,
        ses=SesGateway() if settings.owner_email_sender else None,
        slack=slack,
    )
    state = NotificationStateGateway(settings.notifications_table)

    def send(notes: Sequence[Notification], account_id: str, now: datetime) -> tuple[Delivery, ...]:
        return send_notifications(notes, state, channels, account_id=account_id, now=now)

    return send


def state_key(account_id: str, note: Notification) -> tuple[str, str]:
    return f"{account_id}#{note.user}#{note.finding}", note.stage_key


def send_notifications(
    notes: Sequence[Notification],
    state: NotificationStateGateway,
    channels: OwnerChannels,
    *,
    account_id: str,
    now: datetime,
) -> tuple[Delivery, ...]:
    """Claim each stage, send it to every contact of the owner, report each notification's fate."""
    stages: dict[tuple[str, str], list[Notification]] = {}
    for note in notes:
        stages.setdefault(state_key(account_id, note), []).append(note)
    ttl = int((now + timedelta(days=STATE_TTL_DAYS)).timestamp())
    deliveries: list[Delivery] = []
    for (pk, sk), contacts in stages.items():
        try:
            sendable = [(n, _why_not(n, channels)) for n in contacts]
            claimed = None if all(reason for _, reason in sendable) else _claim(state, pk, sk, ttl, contacts)
        except IamGuardError as exc:  # the state table or SES unreadable: reported, the sweep goes on
            logger.warning("owner notification not sent", extra={"error": str(exc)})
            deliveries += [Delivery(n, "not-sent", str(exc), failed=True) for n in contacts]
            continue
        if claimed is None:
            deliveries += [Delivery(n, "not-sent", reason or "") for n, reason in sendable]
            continue
        if not claimed:
            deliveries += [Delivery(n, "already-sent") for n in contacts]
            continue
        sent_any = False
        for note, reason in sendable:
            if reason:
                deliveries.append(Delivery(note, "not-sent", reason))
                continue
            failure = _send(note, channels)
            sent_any = sent_any or failure is None
            if failure:
                deliveries.append(Delivery(note, "not-sent", failure, failed=True))
            else:
                deliveries.append(Delivery(note, "sent"))
        if not sent_any:
            try:
                state.release(pk, sk)
            except IamGuardError as exc:
                logger.warning("notification claim not released", extra={"error": str(exc)})
    return tuple(deliveries)


def _claim(
    state: NotificationStateGateway, pk: str, sk: str, ttl: int, contacts: Sequence[Notification]
) -> bool:
    owners = " ".join(n.owner for n in contacts)
    return state.claim(pk, sk, ttl=ttl, owner=owners, channel=" ".join(n.channel for n in contacts))


def _why_not(note: Notification, channels: OwnerChannels) -> str | None:
    if note.channel == "email":
        if not channels.email_sender or channels.ses is None:
            return "owner e-mail is off (no OwnerEmailSender)"
        if not channels.production_access() and not channels.ses.recipient_verified(note.owner):
            return SANDBOX
        return None
    if channels.slack is None:
        return "Slack direct messages are off (no SlackBotTokenSecretArn)"
    return None


def _send(note: Notification, channels: OwnerChannels) -> str | None:
    """None when sent; else the one-line reason."""
    try:
        if note.channel == "email":
            if channels.ses is None or not channels.email_sender:
                return "owner e-mail is off (no OwnerEmailSender)"
            if not channels.production_access():
                channels.sleep(SANDBOX_SEND_INTERVAL)
            channels.ses.send_email(channels.email_sender, note.owner, note.subject, note.body)
        else:
            if channels.slack is None:
                return "Slack direct messages are off (no SlackBotTokenSecretArn)"
            channels.slack.send(note.owner, f"*{note.subject}*\n{note.body}")
    except IamGuardError as exc:
        logger.warning("owner notification not sent", extra={"channel": note.channel, "error": str(exc)})
        return str(exc)
    logger.info("owner notification sent", extra={"channel": note.channel, "user": note.user})
    return None


def deliveries_line(deliveries: Sequence[Delivery], limit: int = 10) -> str:
    """For the administrators' digest: what was sent to whom, what was not and why."""
    sent = [d for d in deliveries if d.status == "sent"]
    unsent = [d for d in deliveries if d.status == "not-sent"]
    again = len(deliveries) - len(sent) - len(unsent)
    parts = [f"{len(sent)} sent, {len(unsent)} not sent, {again} already sent before"]
    parts += [f"sent to {_who(d)}" for d in sent[:limit]]
    parts += [f"NOT sent to {_who(d)}: {d.reason}" for d in unsent[:limit]]
    return "; ".join(parts)


def _who(d: Delivery) -> str:
    n = d.notification
    return f"{n.owner} ({n.channel}): {n.user} {n.finding} {n.stage_key}"
