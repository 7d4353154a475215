"""The notification store: the portal inbox (every notification), the outbox of e-mail and
SMS (recorded as sent: no mail server is wired in), the letters to print, and the residents
known to have died (never addressed again, whatever a notification says).

It holds contact details and addresses, so nothing here logs, and the engine hides statement
parameters from log lines and exception texts.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Column, DateTime, Index, MetaData, String, Table, Text, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from contracts.addresses import UkAddress
from contracts.notifications import InboxMessage, Notification
from services.common.council import ActionKey, CouncilStore, action_table, address_json
from services.common.journal import journal_table
from services.notifications.templates import Message

__all__ = ["NotificationStore", "deceased", "inbox", "letters", "metadata", "outbox"]

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

outbox = Table(
    "notification_outbox",
    metadata,
    Column("reference", String(20), primary_key=True),
    Column("channel", String(8), nullable=False),  # email | sms
    Column("recipient", String(320), nullable=False),
    Column("subject", Text, nullable=False),
    Column("body", Text, nullable=False),
    Column("status", String(16), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

letters = Table(
    "notification_letters",
    metadata,
    Column("reference", String(20), primary_key=True),
    Column("address", Text, nullable=False),
    Column("subject", Text, nullable=False),
    Column("body", Text, nullable=False),
    Column("status", String(16), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
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
    actions = actions
    journal = journal

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

    @staticmethod
    async def to_outbox(
        conn: AsyncConnection, reference: str, channel: str, recipient: str, message: Message
    ) -> None:
        await conn.execute(
            insert(outbox).values(
                reference=reference,
                channel=channel,
                recipient=recipient,
                subject=message.subject,
                body=message.body,
                status="sent",
                created_at=datetime.now(UTC),
            )
        )

    @staticmethod
    async def to_print(
        conn: AsyncConnection, reference: str, address: UkAddress, message: Message
    ) -> None:
        await conn.execute(
            insert(letters).values(
                reference=reference,
                address=address_json(address),
                subject=message.subject,
                body=message.body,
                status="to_print",
                created_at=datetime.now(UTC),
            )
        )

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

    async def outbox(self) -> list[tuple[str, str, str]]:
        """(channel, recipient, reference) of every e-mail and SMS, for tests and ops."""
        async with self.engine.connect() as conn:
            rows = await conn.execute(
                select(outbox.c.channel, outbox.c.recipient, outbox.c.reference)
            )
            return [tuple(row) for row in rows]

    async def letters(self) -> list[tuple[str, UkAddress]]:
        """(reference, address) of every letter to print."""
        async with self.engine.connect() as conn:
            rows = await conn.execute(select(letters.c.reference, letters.c.address))
            return [(r, UkAddress.model_validate_json(a)) for r, a in rows]
