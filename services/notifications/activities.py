"""Notification activities, on task queue `notifications`.

| activity | input | result |
| --- | --- | --- |
| `notifications.send` | `Notification` | `ActionOutcome` |

One notification per (workflow_id, step, resident): a retry returns the first outcome and
sends nothing again. The message always goes to the resident's portal inbox, and is
delivered on the first channel of their preference that can be: `portal` (the inbox is the
delivery), `email` (to the outbox, if an e-mail address is given), `sms` (to the outbox, if
a phone number is given), `letter` (to print, if a postal address is given; residents who
are not online are still reached). A deceased resident is never addressed: `no_action`,
`deceased`, nothing recorded but that.

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

from contracts.actions import ActionOutcome
from contracts.notifications import Notification
from contracts.temporal import Activity, TaskQueue
from services.common.council import ActionKey, CouncilSettings, new_reference
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
        if notification.deceased:
            outcome = await self.store.once(key, _never_addressed)
        else:
            try:
                message = render(notification.template, notification.references)
            except UnknownTemplate:
                raise ApplicationError(
                    "unknown_template", type="NotificationRefused", non_retryable=True
                ) from None

            async def deliver(conn: AsyncConnection) -> ActionOutcome:
                return await self._deliver(conn, notification, message)

            outcome = await self.store.once(key, deliver)
        log.info(
            "notification.sent" if outcome.outcome == "done" else "notification.not_sent",
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

    @property
    def all(self) -> list[Callable[..., Any]]:
        return [self.send]


async def _never_addressed(_conn: AsyncConnection) -> ActionOutcome:
    return ActionOutcome(outcome="no_action", code="deceased")
