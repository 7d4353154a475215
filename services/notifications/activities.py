"""Notification activities, on task queue `notifications`.

| activity | input | result |
| --- | --- | --- |
| `notifications.send` | `Notification` | `ActionOutcome` |
| `notifications.record_death` | `DeathRecord` | `ActionOutcome` |
| `notifications.undo_death` | `UndoRequest` | `ActionOutcome` |

One notification per (workflow_id, step, resident): a retry returns the first outcome and
sends nothing again. The message always goes to the resident's portal inbox, and is
delivered on the first channel of their preference that can be: `portal` (the inbox is the
delivery), `email` (to the outbox, if an e-mail address is given), `sms` (to the outbox, if
a phone number is given), `letter` (to print, if a postal address is given; residents who
are not online are still reached). A deceased resident is never addressed: whether the
notification says `deceased` or the service has recorded the death itself
(`notifications.record_death`), the outcome is `no_action`, `deceased`, logged as
`notification.refused`, and nothing is recorded but that: no inbox message, no e-mail or SMS,
no letter. (A message already queued before the death was recorded is not recalled.)

`notifications.record_death` records the resident as deceased, once: `done`,
`deceased_recorded`; `no_action`, `already_recorded` when another step recorded it first; a
retry of the same step returns its first outcome.

`notifications.undo_death` takes back what `record_death` recorded for a workflow whose life
event was withdrawn (its steps, found in the record of steps, undone from the journal), so
the resident can be written to again: `done`, `undone` {restored}; `no_action`,
`already_undone` on a repeat, `nothing_to_undo` when the workflow recorded no death (or
another recorded it first), `changed_since` {tables} when the record changed since.

No share token: the notification carries the resident's own contact details, from the
resident index, and the step's references, which hold no personal data.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncConnection
from temporalio import activity
from temporalio.exceptions import ApplicationError

from contracts.actions import ActionOutcome, UndoRequest
from contracts.notifications import Notification
from contracts.residents import DeathRecord
from contracts.temporal import Activity, TaskQueue
from services.common.council import (
    ActionKey,
    CouncilSettings,
    new_reference,
    reversal_outcome,
)
from services.common.journal import Undone
from services.notifications.store import NotificationStore
from services.notifications.templates import Message, UnknownTemplate, render

__all__ = ["NotificationActivities"]

log = structlog.get_logger(__name__)


class NotificationActivities:
    task_queue = TaskQueue.NOTIFICATIONS

    def __init__(self, store: NotificationStore) -> None:
        self.store = store

    @classmethod
    def serving(
        cls, store: NotificationStore, _settings: CouncilSettings
    ) -> NotificationActivities:
        return cls(store)

    @activity.defn(name=Activity.NOTIFICATIONS_SEND)
    async def send(self, notification: Notification) -> ActionOutcome:
        key = ActionKey(notification.workflow_id, notification.step, notification.resident)

        async def deliver(conn: AsyncConnection) -> ActionOutcome:
            # Our own record too, in the transaction: a death recorded before this send
            # commits is never addressed, whatever the notification says.
            if notification.deceased or await self.store.is_deceased(conn, notification.resident):
                return _NEVER_ADDRESSED
            message = render(notification.template, notification.references)
            return await self._deliver(conn, notification, message)

        try:
            outcome = await self.store.once(key, deliver)
        except UnknownTemplate:
            raise ApplicationError(
                "unknown_template", type="NotificationRefused", non_retryable=True
            ) from None
        if outcome == _NEVER_ADDRESSED:
            event = "notification.refused"
        elif outcome.outcome == "done":
            event = "notification.sent"
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
        self, conn: AsyncConnection, notification: Notification, message: Message
    ) -> ActionOutcome:
        reference = new_reference("NTF")
        await self.store.to_inbox(conn, reference, notification, message)
        channel = "portal"
        for wanted in notification.channels:
            if wanted == "portal":
                break
            if wanted == "email" and notification.email is not None:
                await self.store.to_outbox(conn, reference, "email", notification.email, message)
            elif wanted == "sms" and notification.phone is not None:
                await self.store.to_outbox(conn, reference, "sms", notification.phone, message)
            elif wanted == "letter" and notification.address is not None:
                await self.store.to_print(conn, reference, notification.address, message)
            else:
                continue
            channel = wanted
            break
        return ActionOutcome(
            outcome="done",
            code=f"notified_by_{channel}",
            references={"notification": reference, "channel": channel},
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
