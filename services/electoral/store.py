"""The electoral services store: the register's entries (who is registered where, and
when an entry was removed), removals from the register at an old address, and invitations
to register at a new one.

It holds personal data (names, addresses), so nothing here logs, and the engine hides
statement parameters from log lines and exception texts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import (
    Column,
    Date,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from contracts.addresses import UkAddress
from contracts.people import PersonName
from services.common.council import CouncilStore, action_table, address_json, new_reference
from services.common.journal import journal_table
from services.common.migrations import Migrations

__all__ = ["ElectoralStore", "Entry", "invitations", "metadata", "register", "removals"]

metadata = MetaData()

removals = Table(
    "electoral_removals",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("workflow_id", String(255), nullable=False),
    Column("step", String(100), nullable=False),
    Column("resident", String(72), nullable=False),
    Column("name", Text, nullable=False),
    Column("address", Text, nullable=False),
    Column("effective", Date, nullable=False),
)

invitations = Table(
    "electoral_invitations",
    metadata,
    Column("reference", String(20), primary_key=True),
    Column("workflow_id", String(255), nullable=False),
    Column("step", String(100), nullable=False),
    Column("resident", String(72), nullable=False),
    Column("name", Text, nullable=False),
    Column("address", Text, nullable=False),
    Column("resident_since", Date, nullable=False),
)

# The register: one row per entry; a removed entry stays, with the day and the reason.
register = Table(
    "electoral_register",
    metadata,
    Column("reference", String(20), primary_key=True),
    Column("resident", String(72), nullable=False),
    Column("name", Text, nullable=False),
    Column("address", Text, nullable=False),
    # NULL: registered before this platform knew of the entry.
    Column("entered_on", Date, nullable=True),
    Column("removed_on", Date, nullable=True),
    Column("removal_reason", String(16), nullable=True),  # deceased
    Index("ix_electoral_register_resident", "resident", "removed_on"),
)

actions = action_table(metadata, "electoral")
journal = journal_table(metadata, "electoral")


@dataclass(frozen=True)
class Entry:
    """An entry on the register without its name and address: what tests and ops read."""

    reference: str
    resident: str
    entered_on: date | None
    removed_on: date | None
    removal_reason: str | None


_ENTRY_COLUMNS = (
    register.c.reference,
    register.c.resident,
    register.c.entered_on,
    register.c.removed_on,
    register.c.removal_reason,
)


class ElectoralStore(CouncilStore):
    metadata = metadata
    migrations = Migrations.beside(__file__, "electoral", metadata)
    actions = actions
    journal = journal

    @staticmethod
    async def remove(
        conn: AsyncConnection,
        where: tuple[str, str],
        people: list[tuple[str, PersonName]],
        address: UkAddress,
        effective: date,
    ) -> None:
        workflow_id, step = where
        await conn.execute(
            insert(removals),
            [
                {
                    "workflow_id": workflow_id,
                    "step": step,
                    "resident": resident,
                    "name": name.model_dump_json(),
                    "address": address_json(address),
                    "effective": effective,
                }
                for resident, name in people
            ],
        )

    @staticmethod
    async def invite(
        conn: AsyncConnection,
        where: tuple[str, str],
        people: list[tuple[str, PersonName]],
        address: UkAddress,
        since: date,
    ) -> list[str]:
        workflow_id, step = where
        references = [new_reference("ITR") for _ in people]
        await conn.execute(
            insert(invitations),
            [
                {
                    "reference": reference,
                    "workflow_id": workflow_id,
                    "step": step,
                    "resident": resident,
                    "name": name.model_dump_json(),
                    "address": address_json(address),
                    "resident_since": since,
                }
                for reference, (resident, name) in zip(references, people, strict=True)
            ],
        )
        return references

    async def add_entries(
        self, entries: list[tuple[str, str, PersonName, UkAddress, date | None]]
    ) -> int:
        """(reference, resident, name, address, entered on) for each entry not yet on the
        register (by reference); returns how many were added."""
        async with self.engine.begin() as conn:
            held = set(await conn.scalars(select(register.c.reference)))
            rows = [
                {
                    "reference": reference,
                    "resident": resident,
                    "name": name.model_dump_json(),
                    "address": address_json(address),
                    "entered_on": entered_on,
                }
                for reference, resident, name, address, entered_on in entries
                if reference not in held
            ]
            if rows:
                await conn.execute(insert(register), rows)
        return len(rows)

    @staticmethod
    async def remove_entries(
        conn: AsyncConnection, resident: str, removed_on: date, reason: str
    ) -> list[str]:
        """Every entry of the resident still on the register, marked removed; returns
        their references."""
        current = list(
            await conn.scalars(
                select(register.c.reference)
                .where(register.c.resident == resident, register.c.removed_on.is_(None))
                .order_by(register.c.reference)
            )
        )
        if current:
            await conn.execute(
                update(register)
                .where(register.c.reference.in_(current))
                .values(removed_on=removed_on, removal_reason=reason)
            )
        return current

    @staticmethod
    async def removed_for(conn: AsyncConnection, resident: str, reason: str) -> list[Entry]:
        rows = await conn.execute(
            select(*_ENTRY_COLUMNS)
            .where(register.c.resident == resident, register.c.removal_reason == reason)
            .order_by(register.c.reference)
        )
        return [Entry(**row._mapping) for row in rows]

    async def entries(self) -> list[Entry]:
        async with self.engine.connect() as conn:
            rows = await conn.execute(select(*_ENTRY_COLUMNS).order_by(register.c.reference))
            return [Entry(**row._mapping) for row in rows]

    async def counts(self) -> dict[str, int]:
        """Removals and invitations recorded, for tests and ops."""
        async with self.engine.connect() as conn:
            return {
                "removals": int(await conn.scalar(select(func.count()).select_from(removals)) or 0),
                "invitations": int(
                    await conn.scalar(select(func.count()).select_from(invitations)) or 0
                ),
            }

    async def invited(self) -> list[str]:
        async with self.engine.connect() as conn:
            return list(await conn.scalars(select(invitations.c.resident)))

    async def removed(self) -> list[str]:
        async with self.engine.connect() as conn:
            return list(await conn.scalars(select(removals.c.resident)))
