"""The electoral services store: removals from the register at an old address, and
invitations to register at a new one.

It holds personal data (names, addresses), so nothing here logs, and the engine hides
statement parameters from log lines and exception texts.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import Column, Date, Integer, MetaData, String, Table, Text, func, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from contracts.addresses import UkAddress
from contracts.people import PersonName
from services.common.council import CouncilStore, action_table, address_json, new_reference

__all__ = ["ElectoralStore", "invitations", "metadata", "removals"]

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

actions = action_table(metadata, "electoral")


class ElectoralStore(CouncilStore):
    metadata = metadata
    actions = actions

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
