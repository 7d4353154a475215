"""Notification activities, on task queue `notifications`.

| activity | input | result |
| --- | --- | --- |
| `notifications.send` | `Notification` | `ActionOutcome` |
| `notifications.record_death` | `DeathRecord` | `ActionOutcome` |
| `notifications.undo_death` | `UndoRequest` | `ActionOutcome` |

`notifications.send`, in two parts:

1. Once per (workflow_id, step, resident), in one transaction (`CouncilStore.once`): the
   message goes into the resident's portal inbox, and is queued (`notification_messages`,
   status `queued`) on the first channel of their preference that can take it: `email` if
   an e-mail address is given, `sms` if a phone number is, `letter` if a postal address is
   (and the channel is wired in: `Channels`). `portal` first, or nothing deliverable: the
   inbox is the delivery, `done`, `notified_by_portal`.
2. Outside the transaction, the queued message is handed to its channel, and its row says
   what the channel answered: `sent` (SMTP 250 to DATA; the PDF in the print queue; an SMS
   provider took it), `delivered` (the SMS provider says so), or `failed` with the
   channel's code. A permanent refusal (SMTP 5xx to RCPT or DATA, the SMS provider refusing
   the number) queues the next channel of the resident's order, and when the order runs
   out, a letter if there is an address (a bounced e-mail becomes a letter); the portal,
   met in the order, ends the search (the inbox has it). A transient failure (no
   connection, a timeout, SMTP 4xx) leaves the message queued and raises a retryable
   `ApplicationError` (`DeliveryDeferred`, the message a code), so Temporal retries the
   activity with the workflow's backoff; once the message has had `max_attempts` tries it
   counts as failed, and the next channel is tried.

The outcome is read from the messages, so every attempt answers alike: `done`,
`notified_by_<channel that took it>` {notification, channel, status}; `notified_by_portal`
{…, status `delivered`} when no channel took it. A retry reads the status first and never
hands a channel again what it took. (Between a channel's acceptance and our record of it a
crash can still send twice: the e-mail's Message-ID is the reference, so it shows.)

A deceased resident is never addressed: whether the notification says `deceased` or the
service has recorded the death itself (`notifications.record_death`), the outcome is
`no_action`, `deceased`, logged as `notification.refused`, and nothing is recorded but
that: no inbox message, nothing queued. A message queued before the death was recorded and
not yet taken by its channel is not sent (`failed`, `resident_deceased`), and the outcome
is `deceased` too.

`notifications.record_death` records the resident as deceased, once: `done`,
`deceased_recorded`; `no_action`, `already_recorded` when another step recorded it first; a
retry of the same step returns its first outcome.

`notifications.undo_death` takes back what `record_death` recorded for a workflow whose life
event was withdrawn (its steps, found in the record of steps, undone from the journal), so
the resident can be written to again: `done`, `undone` {restored}; `no_action`,
`already_undone` on a repeat, `nothing_to_undo` when the workflow recorded no death (or
another recorded it first), `changed_since` {tables} when the record changed since.

No share token: the notification carries the resident's own contact details, from the
resident index, and the step's references, which hold no personal data. Logs name the
resident by key, the message by reference and channel, and what happened by code.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncConnection
from temporalio import activity
from temporalio.exceptions import ApplicationError

from contracts.actions import ActionOutcome, UndoRequest
from contracts.addresses import UkAddress
from contracts.notifications import Notification
from contracts.residents import DeathRecord
from contracts.temporal import Activity, TaskQueue
from services.common.council import (
    ActionKey,
    address_json,
    new_reference,
    reversal_outcome,
)
from services.common.journal import Undone
from services.common.metrics import MESSAGES_SENT
from services.notifications.channels import Accepted, Channels, Refused, Unavailable
from services.notifications.content import email_content, letter_content, sms_text
from services.notifications.settings import NotificationSettings
from services.notifications.store import Delivery, NotificationStore
from services.notifications.templates import Message, UnknownTemplate, render

__all__ = ["DEFAULT_MAX_ATTEMPTS", "NotificationActivities", "Route"]

log = structlog.get_logger(__name__)

DEFAULT_MAX_ATTEMPTS = 8

# What `once` records for a notification queued on a channel (its outcome is read from the
# messages after delivery, see the module doc).
_QUEUED = "queued"
# A queued message's last_error when the resident was recorded deceased before it went.
_RESIDENT_DECEASED = "resident_deceased"


class Route:
    """Which channels can take this notification, in the resident's order."""

    def __init__(self, notification: Notification, channels: Channels) -> None:
        self.notification = notification
        self.channels = channels

    def recipient(self, channel: str) -> str | None:
        """Where the channel would take it, or None when it cannot (no detail, not wired)."""
        n, wired = self.notification, self.channels
        if channel == "email" and wired.email is not None:
            return n.email
        if channel == "sms" and wired.sms is not None:
            return n.phone
        if channel == "letter" and wired.letters is not None:
            return None if n.address is None else address_json(n.address)
        return None

    def first(self) -> str | None:
        """The first deliverable channel of the resident's order; None for the portal."""
        for wanted in self.notification.channels:
            if wanted == "portal":
                return None
            if self.recipient(wanted) is not None:
                return wanted
        return None

    def after(self, tried: list[str]) -> str | None:
        """The channel to fall back to once every one in `tried` failed: the next of the
        resident's order after the last tried (the portal ends it: None), else a letter."""
        order: list[str] = list(self.notification.channels)
        last = tried[-1]
        start = order.index(last) + 1 if last in order else len(order)
        for wanted in order[start:]:
            if wanted == "portal":
                return None
            if wanted not in tried and self.recipient(wanted) is not None:
                return wanted
        if "letter" not in tried and self.recipient("letter") is not None:
            return "letter"
        return None


class NotificationActivities:
    task_queue = TaskQueue.NOTIFICATIONS

    def __init__(
        self,
        store: NotificationStore,
        channels: Channels | None = None,
        *,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    ) -> None:
        self.store = store
        self.channels = channels if channels is not None else Channels()
        self.max_attempts = max_attempts

    @classmethod
    def serving(
        cls, store: NotificationStore, settings: NotificationSettings, channels: Channels
    ) -> NotificationActivities:
        return cls(store, channels, max_attempts=settings.notifications_max_attempts)

    def _render(self, notification: Notification) -> Message:
        """The template filled from the step's references, and `portal_url` (the portal's
        address, without a trailing slash: a template adds the path) from ours."""
        references = dict(notification.references)
        portal = self.channels.letterhead.portal_url
        if portal is not None:
            references["portal_url"] = portal.rstrip("/")
        return render(notification.template, references)

    @activity.defn(name=Activity.NOTIFICATIONS_SEND)
    async def send(self, notification: Notification) -> ActionOutcome:
        key = ActionKey(notification.workflow_id, notification.step, notification.resident)
        route = Route(notification, self.channels)

        async def record(conn: AsyncConnection) -> ActionOutcome:
            # Our own record too, in the transaction: a death recorded before this send
            # commits is never addressed, whatever the notification says.
            if notification.deceased or await self.store.is_deceased(conn, notification.resident):
                return _NEVER_ADDRESSED
            message = self._render(notification)
            reference = new_reference("NTF")
            await self.store.to_inbox(conn, reference, notification, message)
            channel = route.first()
            recipient = None if channel is None else route.recipient(channel)
            if channel is None or recipient is None:
                return _by_portal(reference)
            await self.store.queue(conn, reference, notification, channel, recipient, 0)
            return ActionOutcome(
                outcome="done",
                code=_QUEUED,
                references={"notification": reference, "channel": channel},
            )

        try:
            recorded = await self.store.once(key, record)
            outcome = recorded
            if recorded.code == _QUEUED:
                message = self._render(notification)
                outcome = await self._deliver(
                    notification, route, message, recorded.references["notification"]
                )
        except UnknownTemplate:
            raise ApplicationError(
                "unknown_template", type="NotificationRefused", non_retryable=True
            ) from None
        if outcome.code == _NEVER_ADDRESSED.code:
            event = "notification.refused"
        elif outcome.outcome == "done":
            event = "notification.sent"
            MESSAGES_SENT.labels(channel=outcome.references.get("channel", "portal")).inc()
        else:
            event = "notification.not_sent"
        log.info(
            event,
            workflow_id=notification.workflow_id,
            step=notification.step,
            resident=notification.resident,
            template=notification.template,
            code=outcome.code,
        )
        return outcome

    async def _deliver(
        self, notification: Notification, route: Route, message: Message, reference: str
    ) -> ActionOutcome:
        """Hand the notification to its channels until one takes it or none is left; the
        outcome from what the messages say (module doc)."""
        while True:
            tried = await self.store.deliveries(reference)
            if not tried:  # nothing was queued after all: the inbox has it
                return _by_portal(reference)
            current = tried[-1]
            if current.status in ("sent", "delivered"):
                return _by(reference, current.channel, current.status)
            if current.status == "failed":
                if current.last_error == _RESIDENT_DECEASED:
                    return _NEVER_ADDRESSED
                following = route.after([d.channel for d in tried])
                recipient = None if following is None else route.recipient(following)
                if following is None or recipient is None:
                    return _by_portal(reference)
                await self.store.queue_next(
                    reference, notification, following, recipient, len(tried)
                )
                continue
            if await self.store.deceased_now(notification.resident):
                await self.store.mark(current, "failed", error=_RESIDENT_DECEASED)
                continue
            await self._try(notification, message, current)

    async def _try(self, notification: Notification, message: Message, current: Delivery) -> None:
        """One attempt at a queued message: its row updated with the channel's answer; a
        transient failure with tries left raises the retryable `DeliveryDeferred`."""
        if not await self.store.claim(current):
            # Another attempt of this activity is handing it over right now.
            raise ApplicationError("delivery_in_progress", type="DeliveryDeferred")
        attempt = current.attempts + 1
        try:
            try:
                accepted = await self._hand_over(notification, message, current)
            except (Refused, Unavailable):
                raise
            except Exception as error:
                # A fault of our own (a letter that will not lay out, say): retried as a
                # channel that is down, so that after its tries the next channel is tried
                # rather than retrying for ever. The code names the error's type only.
                raise Unavailable(f"{current.channel}_{type(error).__name__}"[:64]) from error
        except Refused as refused:
            await self.store.mark(current, "failed", error=refused.code)
            self._log(
                "notification.refused_by_channel", notification, current, attempt, refused.code
            )
            return
        except Unavailable as unavailable:
            if attempt >= self.max_attempts:
                await self.store.mark(current, "failed", error=unavailable.code)
                self._log("notification.gave_up", notification, current, attempt, unavailable.code)
                return
            await self.store.mark(current, "queued", error=unavailable.code)
            self._log("notification.deferred", notification, current, attempt, unavailable.code)
            raise ApplicationError(unavailable.code, type="DeliveryDeferred") from None
        await self.store.mark(current, accepted.status, receipt=accepted.receipt)
        self._log("notification.accepted", notification, current, attempt, accepted.status)

    async def _hand_over(
        self, notification: Notification, message: Message, current: Delivery
    ) -> Accepted:
        wired = self.channels
        reference = current.reference
        if current.channel == "email" and wired.email is not None:
            content = email_content(message, reference, wired.letterhead)
            return await wired.email.send(current.recipient, content, reference)
        if current.channel == "sms" and wired.sms is not None:
            text = sms_text(message, wired.letterhead)
            receipt = await wired.sms.send(current.recipient, text, reference)
            return Accepted(receipt.status, receipt.id)
        if current.channel == "letter" and wired.letters is not None:
            address = UkAddress.model_validate_json(current.recipient)
            large_print = await self.store.large_print(notification.resident)
            letter = letter_content(message, reference, wired.letterhead)
            return await wired.letters.print(reference, address, letter, large_print=large_print)
        # Queued on a channel this worker has not got (its settings changed since): the
        # next channel, as if this one had refused.
        raise Refused("channel_not_wired")

    def _log(
        self,
        event: str,
        notification: Notification,
        current: Delivery,
        attempt: int,
        code: str,
    ) -> None:
        """One attempt at a channel: what it answered, as a status or a code."""
        log.info(
            event,
            workflow_id=notification.workflow_id,
            step=notification.step,
            resident=notification.resident,
            notification=current.reference,
            channel=current.channel,
            attempt=attempt,
            code=code,
        )

    @activity.defn(name=Activity.NOTIFICATIONS_RECORD_DEATH)
    async def record_death(self, death: DeathRecord) -> ActionOutcome:
        """The resident died: no notification is addressed to them from now on. Once per
        resident (the first record stands); a retry of the step returns its first outcome."""
        key = ActionKey(death.workflow_id, death.step, death.resident)

        async def record(conn: AsyncConnection) -> ActionOutcome:
            if await self.store.record_deceased(
                conn, death.resident, death.workflow_id, death.step
            ):
                return ActionOutcome(outcome="done", code="deceased_recorded")
            return ActionOutcome(outcome="no_action", code="already_recorded")

        outcome = await self.store.once(key, record)
        log.info(
            "notification.death_recorded",
            workflow_id=death.workflow_id,
            step=death.step,
            resident=death.resident,
            code=outcome.code,
        )
        return outcome

    @activity.defn(name=Activity.NOTIFICATIONS_UNDO_DEATH)
    async def undo_death(self, request: UndoRequest) -> ActionOutcome:
        """The workflow's life event was withdrawn: each death its `record_death` steps
        recorded is forgotten (`CouncilStore.undo`), so the resident is written to again.
        The steps stay recorded: a late retry of one returns its first outcome and records
        nothing. Idempotent (`already_undone`); `nothing_to_undo` when the workflow
        recorded no death here (another step had recorded it first, or none ran)."""
        keys = await self.store.death_steps(request.workflow_id, _DEATH_CODES)
        undone = [await self.store.undo(key) for key in keys]
        outcome = reversal_outcome(_together(undone))
        log.info(
            "notification.death_undone",
            workflow_id=request.workflow_id,
            undone_by=request.undone_by,
            steps=len(keys),
            code=outcome.code,
        )
        return outcome

    @property
    def all(self) -> list[Callable[..., Any]]:
        return [self.send, self.record_death, self.undo_death]


# The codes only `record_death` answers with: its steps, among the record of steps.
_DEATH_CODES = ("deceased_recorded", "already_recorded")


def _together(undone: list[Undone]) -> Undone:
    """Several steps' undoing as one answer: any conflict names its tables; else the rows
    restored; else, when one was undone before, already undone (a step that recorded no
    death has nothing to undo, and says nothing either way)."""
    conflicts = tuple(dict.fromkeys(t for u in undone for t in u.conflicts))
    if conflicts:
        return Undone(restored=0, conflicts=conflicts)
    restored = sum(u.restored for u in undone)
    if restored == 0 and any(u.already_undone for u in undone):
        return Undone(restored=0, already_undone=True)
    return Undone(restored=restored)


_NEVER_ADDRESSED = ActionOutcome(outcome="no_action", code="deceased")


def _by(reference: str, channel: str, status: str) -> ActionOutcome:
    return ActionOutcome(
        outcome="done",
        code=f"notified_by_{channel}",
        references={"notification": reference, "channel": channel, "status": status},
    )


def _by_portal(reference: str) -> ActionOutcome:
    # The inbox is the portal's delivery: it has the message.
    return _by(reference, "portal", "delivered")
