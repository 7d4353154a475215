"""The notification store: the portal inbox (every notification), each message a channel
was given and what became of it (`notification_messages`), the residents' letter
preferences, and the residents known to have died (never addressed again, whatever a
notification says).

It holds contact details and addresses, so nothing here logs, and the engine hides statement
parameters from log lines and exception texts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    insert,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from contracts.addresses import UkAddress
from contracts.notifications import InboxMessage, Notification
from services.common.council import ActionKey, CouncilStore, action_table
from services.common.journal import journal_table
from services.common.migrations import Migrations
from services.notifications.templates import Message

__all__ = [
    "Delivery",
    "MessageStatus",
    "NotificationStore",
    "SentMessage",
    "deceased",
    "inbox",
    "messages",
    "metadata",
    "preferences",
]

MessageStatus = Literal["queued", "sent", "delivered", "failed"]


@dataclass(frozen=True)
class Delivery:
    """One channel's part in delivering a notification, as the activities read it."""

    reference: str
    channel: str
    position: int
    recipient: str
    status: MessageStatus
    attempts: int
    last_error: str | None


@dataclass(frozen=True)
class SentMessage:
    """A message as the resident's portal shows it: which channel, what became of it, when
    (no recipient: the portal shows the resident their own details elsewhere)."""

    reference: str
    template: str
    channel: str
    status: MessageStatus
    attempts: int
    last_error: str | None
    created_at: datetime
    updated_at: datetime


metadata = MetaData()

inbox = Table(
    "notification_inbox",
    metadata,
    Column("reference", String(20), primary_key=True),
    Column("resident", String(72), nullable=False),
    Column("template", String(64), nullable=False),
    Column("subject", Text, nullable=False),
    Column("body", Text, nullable=False),
    Column("workflow_id", String(255), nullable=False),
    Column("step", String(100), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index("ix_notification_inbox_resident", "resident", "created_at"),
)

# One row per channel a notification was given to (its first choice, then each fallback),
# keyed on the notification's reference and the channel: a notification tries each channel
# once. `status`: queued → sent (the channel took it) → delivered (the channel says it
# arrived), or failed (`last_error`: the channel's answer code, never its text).
# `recipient` is the e-mail address, phone number or postal address (JSON) it went to.
messages = Table(
    "notification_messages",
    metadata,
    Column("reference", String(20), primary_key=True),
    Column("channel", String(8), primary_key=True),  # email | sms | letter
    Column("position", Integer, nullable=False),  # 0 first choice, 1 first fallback, ...
    Column("resident", String(72), nullable=False),
    Column("template", String(64), nullable=False),
    Column("recipient", Text, nullable=False),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("last_error", String(64), nullable=True),
    Column("receipt", String(255), nullable=True),  # Message-ID, provider id, PDF file name
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Index("ix_notification_messages_resident", "resident", "created_at"),
)

# What a resident chose about their letters. No contract carries it yet (see README).
preferences = Table(
    "notification_preferences",
    metadata,
    Column("resident", String(72), primary_key=True),
    Column("large_print", Boolean, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

# Residents who died, from notifications.record_death: the key only (no date, no name), and
# the step that recorded it. Every send looks its resident up here (the primary key).
deceased = Table(
    "notification_deceased",
    metadata,
    Column("resident", String(72), primary_key=True),
    Column("workflow_id", String(255), nullable=False),
    Column("step", String(100), nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
)

actions = action_table(metadata, "notification")
journal = journal_table(metadata, "notification")


class NotificationStore(CouncilStore):
    metadata = metadata
    migrations = Migrations.beside(__file__, "notifications", metadata)
    actions = actions
    journal = journal

    @property
    def journaled(self) -> tuple[Table, ...]:
        """Every table a step writes but the messages: what a channel took cannot be taken
        back, so undoing a step takes its message out of the inbox and leaves the record of
        what was sent (its status changes after the step, outside it, in any case)."""
        return tuple(table for table in super().journaled if table is not messages)

    async def death_steps(self, workflow_id: str, codes: tuple[str, ...]) -> list[ActionKey]:
        """The steps of `workflow_id` whose recorded outcome is one of `codes`
        (`record_death`'s), one per resident, in resident order."""
        c = actions.c
        async with self.engine.connect() as conn:
            rows = await conn.execute(
                select(c.workflow_id, c.step, c.subject)
                .where(c.workflow_id == workflow_id, c.code.in_(codes))
                .order_by(c.subject, c.step)
            )
            return [ActionKey(*row) for row in rows]

    @staticmethod
    async def is_deceased(conn: AsyncConnection, resident: str) -> bool:
        found = await conn.scalar(
            select(deceased.c.resident).where(deceased.c.resident == resident)
        )
        return found is not None

    async def deceased_now(self, resident: str) -> bool:
        async with self.engine.connect() as conn:
            return await self.is_deceased(conn, resident)

    @staticmethod
    async def record_deceased(
        conn: AsyncConnection, resident: str, workflow_id: str, step: str
    ) -> bool:
        """Record the resident as deceased; False if they already were (the first stands)."""
        if await NotificationStore.is_deceased(conn, resident):
            return False
        await conn.execute(
            insert(deceased).values(
                resident=resident,
                workflow_id=workflow_id,
                step=step,
                recorded_at=datetime.now(UTC),
            )
        )
        return True

    @staticmethod
    async def to_inbox(
        conn: AsyncConnection, reference: str, notification: Notification, message: Message
    ) -> None:
        await conn.execute(
            insert(inbox).values(
                reference=reference,
                resident=notification.resident,
                template=notification.template,
                subject=message.subject,
                body=message.body,
                workflow_id=notification.workflow_id,
                step=notification.step,
                created_at=datetime.now(UTC),
            )
        )

    # -- messages: queued, then what the channel answered ------------------------------------

    @staticmethod
    async def queue(
        conn: AsyncConnection,
        reference: str,
        notification: Notification,
        channel: str,
        recipient: str,
        position: int,
    ) -> None:
        now = datetime.now(UTC)
        await conn.execute(
            insert(messages).values(
                reference=reference,
                channel=channel,
                position=position,
                resident=notification.resident,
                template=notification.template,
                recipient=recipient,
                status="queued",
                attempts=0,
                last_error=None,
                receipt=None,
                created_at=now,
                updated_at=now,
            )
        )

    async def queue_next(
        self,
        reference: str,
        notification: Notification,
        channel: str,
        recipient: str,
        position: int,
    ) -> None:
        """Queue the notification on its next channel, in a transaction of its own. Another
        attempt that queued it first wins: the row is there either way."""
        try:
            async with self._write_lock, self.engine.begin() as conn:
                await self.queue(conn, reference, notification, channel, recipient, position)
        except IntegrityError:
            pass

    async def deliveries(self, reference: str) -> list[Delivery]:
        """The notification's messages, first choice first."""
        c = messages.c
        async with self.engine.connect() as conn:
            rows = await conn.execute(
                select(
                    c.reference,
                    c.channel,
                    c.position,
                    c.recipient,
                    c.status,
                    c.attempts,
                    c.last_error,
                )
                .where(c.reference == reference)
                .order_by(c.position)
            )
            return [Delivery(**row._mapping) for row in rows]

    async def claim(self, delivery: Delivery) -> bool:
        """Count one more attempt at a queued message, if nobody else has since we read it
        (False: another attempt of the activity is on it)."""
        c = messages.c
        async with self._write_lock, self.engine.begin() as conn:
            result = await conn.execute(
                update(messages)
                .where(
                    c.reference == delivery.reference,
                    c.channel == delivery.channel,
                    c.status == "queued",
                    c.attempts == delivery.attempts,
                )
                .values(attempts=delivery.attempts + 1, updated_at=datetime.now(UTC))
            )
            return result.rowcount == 1

    async def mark(
        self,
        delivery: Delivery,
        status: MessageStatus,
        *,
        error: str | None = None,
        receipt: str | None = None,
    ) -> None:
        """What the channel answered: the message's new status, and its code or receipt."""
        c = messages.c
        values: dict[str, object] = {
            "status": status,
            "last_error": error,
            "updated_at": datetime.now(UTC),
        }
        if receipt is not None:
            values["receipt"] = receipt
        async with self._write_lock, self.engine.begin() as conn:
            await conn.execute(
                update(messages)
                .where(c.reference == delivery.reference, c.channel == delivery.channel)
                .values(values)
            )

    # -- preferences ----------------------------------------------------------------------------

    async def set_large_print(self, resident: str, large_print: bool) -> None:
        """The resident's choice of large print for their letters."""
        async with self._write_lock, self.engine.begin() as conn:
            changed = await conn.execute(
                update(preferences)
                .where(preferences.c.resident == resident)
                .values(large_print=large_print, updated_at=datetime.now(UTC))
            )
            if changed.rowcount == 0:
                await conn.execute(
                    insert(preferences).values(
                        resident=resident, large_print=large_print, updated_at=datetime.now(UTC)
                    )
                )

    async def large_print(self, resident: str) -> bool:
        async with self.engine.connect() as conn:
            found = await conn.scalar(
                select(preferences.c.large_print).where(preferences.c.resident == resident)
            )
        return bool(found)

    # -- reads ----------------------------------------------------------------------------------

    async def inbox(self, resident: str) -> list[InboxMessage]:
        """A resident's inbox, oldest first (for the portal and tests)."""
        async with self.engine.connect() as conn:
            rows = await conn.execute(
                select(
                    inbox.c.reference,
                    inbox.c.template,
                    inbox.c.subject,
                    inbox.c.body,
                    inbox.c.workflow_id,
                    inbox.c.step,
                    inbox.c.created_at,
                )
                .where(inbox.c.resident == resident)
                .order_by(inbox.c.created_at, inbox.c.reference)
            )
            return [InboxMessage(**row._mapping) for row in rows]

    async def messages(self, resident: str) -> list[SentMessage]:
        """Every message sent to a resident on a channel (e-mail, SMS, letter) with its
        status, newest first (for the portal: "we wrote to you on ..., posted")."""
        c = messages.c
        async with self.engine.connect() as conn:
            rows = await conn.execute(
                select(
                    c.reference,
                    c.template,
                    c.channel,
                    c.status,
                    c.attempts,
                    c.last_error,
                    c.created_at,
                    c.updated_at,
                )
                .where(c.resident == resident)
                .order_by(c.created_at.desc(), c.reference.desc(), c.position.desc())
            )
            return [SentMessage(**row._mapping) for row in rows]

    async def outbox(self) -> list[tuple[str, str, str]]:
        """(channel, recipient, reference) of every e-mail and SMS, whatever its status, for
        tests and ops (`messages` has the statuses)."""
        c = messages.c
        async with self.engine.connect() as conn:
            rows = await conn.execute(
                select(c.channel, c.recipient, c.reference)
                .where(c.channel.in_(("email", "sms")))
                .order_by(c.created_at, c.reference, c.position)
            )
            return [(row.channel, row.recipient, row.reference) for row in rows]

    async def letters(self) -> list[tuple[str, UkAddress]]:
        """(reference, address) of every letter, whatever its status."""
        c = messages.c
        async with self.engine.connect() as conn:
            rows = await conn.execute(
                select(c.reference, c.recipient)
                .where(c.channel == "letter")
                .order_by(c.created_at, c.reference)
            )
            return [(r, UkAddress.model_validate_json(a)) for r, a in rows]
