"""The council registers' store: blue badges, library cards, resident parking permits and
assisted bin collections, each keyed by resident key (and the last two by property too),
and what a death did to each; and the junior library cards a birth issued, with the adult
responsible for each (`reg_junior_cards`, a table of its own, so a store made before it
keeps working: tables are created when missing).

It holds no names or addresses: residents by key, dwellings by `property_key`. Nothing here
logs all the same, and the engine hides statement parameters from log lines and exception
texts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Literal

from sqlalchemy import (
    Boolean,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    insert,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from services.common.council import CouncilStore, action_table, new_reference
from services.common.journal import journal_table
from services.common.migrations import Migrations

__all__ = [
    "AssistedCollection",
    "BlueBadge",
    "CollectionStatus",
    "Entry",
    "JuniorCard",
    "LibraryCard",
    "ParkingPermit",
    "PermitStatus",
    "RegistersStore",
    "assisted_collections",
    "blue_badges",
    "junior_cards",
    "library_cards",
    "metadata",
    "parking_permits",
]

PermitStatus = Literal["active", "cancelled"]
CollectionStatus = Literal["active", "under_review", "stopped"]

metadata = MetaData()

blue_badges = Table(
    "reg_blue_badges",
    metadata,
    Column("reference", String(20), primary_key=True),
    Column("resident", String(72), nullable=False),
    Column("expires_on", Date, nullable=False),
    # NULL while the badge is valid.
    Column("cancelled_on", Date, nullable=True),
    Column("return_requested", Boolean, nullable=False, default=False),
    Index("ix_reg_blue_badges_resident", "resident", "cancelled_on"),
)

library_cards = Table(
    "reg_library_cards",
    metadata,
    Column("reference", String(20), primary_key=True),
    Column("resident", String(72), nullable=False),
    # Outstanding charges (late returns, lost items), in pence.
    Column("charges_pence", Integer, nullable=False, default=0),
    # NULL while the membership is open.
    Column("closed_on", Date, nullable=True),
    Column("waived_pence", Integer, nullable=False, default=0),
    Index("ix_reg_library_cards_resident", "resident", "closed_on"),
)

# A library card issued to a child (its membership is the `reg_library_cards` row of the
# same reference): the adult responsible for it, and the step that issued it.
junior_cards = Table(
    "reg_junior_cards",
    metadata,
    Column("card", String(20), ForeignKey("reg_library_cards.reference"), primary_key=True),
    # NULL when no parent's data was shared: the library asks at the first visit.
    Column("responsible_adult", String(72), nullable=True),
    Column("workflow_id", String(255), nullable=False),
    Column("step", String(100), nullable=False),
)

parking_permits = Table(
    "reg_parking_permits",
    metadata,
    Column("reference", String(20), primary_key=True),
    Column("holder", String(72), nullable=False),
    Column("property_key", String(400), nullable=False),
    Column("status", String(16), nullable=False),  # PermitStatus
    Column("cancelled_on", Date, nullable=True),
    # The holder before the last transfer, and when it was transferred.
    Column("transferred_from", String(72), nullable=True),
    Column("transferred_on", Date, nullable=True),
    Index("ix_reg_parking_permits_holder", "holder", "property_key", "status"),
)

assisted_collections = Table(
    "reg_assisted_collections",
    metadata,
    Column("reference", String(20), primary_key=True),
    # Whom the assistance was registered for.
    Column("resident", String(72), nullable=False),
    Column("property_key", String(400), nullable=False),
    Column("status", String(16), nullable=False),  # CollectionStatus
    # Under review from this day (for the household that remains), or stopped from it.
    Column("changed_on", Date, nullable=True),
    Index("ix_reg_assisted_collections_resident", "resident", "property_key", "status"),
)

actions = action_table(metadata, "reg")
journal = journal_table(metadata, "reg")


# --- what tests, seeds and ops read and write -------------------------------------------------


@dataclass(frozen=True)
class BlueBadge:
    reference: str
    resident: str
    expires_on: date
    cancelled_on: date | None = None
    return_requested: bool = False


@dataclass(frozen=True)
class LibraryCard:
    reference: str
    resident: str
    charges_pence: int = 0
    closed_on: date | None = None
    waived_pence: int = 0


@dataclass(frozen=True)
class JuniorCard:
    """A child's library card, with the adult responsible for it."""

    card: str
    child: str
    responsible_adult: str | None


@dataclass(frozen=True)
class ParkingPermit:
    reference: str
    holder: str
    property_key: str
    status: PermitStatus = "active"
    cancelled_on: date | None = None
    transferred_from: str | None = None
    transferred_on: date | None = None


@dataclass(frozen=True)
class AssistedCollection:
    reference: str
    resident: str
    property_key: str
    status: CollectionStatus = "active"
    changed_on: date | None = None


Entry = BlueBadge | LibraryCard | ParkingPermit | AssistedCollection

_TABLES: dict[type[Entry], Table] = {
    BlueBadge: blue_badges,
    LibraryCard: library_cards,
    ParkingPermit: parking_permits,
    AssistedCollection: assisted_collections,
}


class RegistersStore(CouncilStore):
    metadata = metadata
    migrations = Migrations.beside(__file__, "registers", metadata)
    actions = actions
    journal = journal

    # --- blue badges

    @staticmethod
    async def valid_badges(conn: AsyncConnection, resident: str, on: date) -> list[str]:
        """The resident's badges not cancelled and not expired before `on`."""
        found = await conn.scalars(
            select(blue_badges.c.reference)
            .where(
                blue_badges.c.resident == resident,
                blue_badges.c.cancelled_on.is_(None),
                blue_badges.c.expires_on >= on,
            )
            .order_by(blue_badges.c.reference)
        )
        return list(found)

    @staticmethod
    async def cancel_badges(conn: AsyncConnection, references: list[str], on: date) -> None:
        await conn.execute(
            update(blue_badges)
            .where(blue_badges.c.reference.in_(references))
            .values(cancelled_on=on, return_requested=True)
        )

    # --- library cards

    @staticmethod
    async def open_cards(conn: AsyncConnection, resident: str) -> list[tuple[str, int]]:
        """(card, outstanding charges in pence) for each open membership of the resident."""
        rows = await conn.execute(
            select(library_cards.c.reference, library_cards.c.charges_pence)
            .where(library_cards.c.resident == resident, library_cards.c.closed_on.is_(None))
            .order_by(library_cards.c.reference)
        )
        return [(row.reference, row.charges_pence) for row in rows]

    @staticmethod
    async def close_cards(conn: AsyncConnection, references: list[str], on: date) -> None:
        """Close the memberships and waive what they owe."""
        await conn.execute(
            update(library_cards)
            .where(library_cards.c.reference.in_(references))
            .values(
                closed_on=on,
                waived_pence=library_cards.c.charges_pence,
                charges_pence=0,
            )
        )

    @staticmethod
    async def issue_junior_card(
        conn: AsyncConnection, where: tuple[str, str], child: str, responsible_adult: str | None
    ) -> str:
        """Open a membership for `child`, its card recorded as a junior card in the care of
        `responsible_adult`; returns the card's reference."""
        workflow_id, step = where
        card = new_reference("LIB")
        await conn.execute(insert(library_cards).values(reference=card, resident=child))
        await conn.execute(
            insert(junior_cards).values(
                card=card, responsible_adult=responsible_adult, workflow_id=workflow_id, step=step
            )
        )
        return card

    async def all_junior_cards(self) -> list[JuniorCard]:
        async with self.engine.connect() as conn:
            rows = await conn.execute(
                select(
                    junior_cards.c.card,
                    library_cards.c.resident.label("child"),
                    junior_cards.c.responsible_adult,
                )
                .join(library_cards, library_cards.c.reference == junior_cards.c.card)
                .order_by(junior_cards.c.card)
            )
            return [JuniorCard(**row._mapping) for row in rows]

    # --- parking permits

    @staticmethod
    async def active_permits(conn: AsyncConnection, holder: str, property_key: str) -> list[str]:
        found = await conn.scalars(
            select(parking_permits.c.reference)
            .where(
                parking_permits.c.holder == holder,
                parking_permits.c.property_key == property_key,
                parking_permits.c.status == "active",
            )
            .order_by(parking_permits.c.reference)
        )
        return list(found)

    @staticmethod
    async def transfer_permits(
        conn: AsyncConnection, references: list[str], to: str, on: date
    ) -> None:
        await conn.execute(
            update(parking_permits)
            .where(parking_permits.c.reference.in_(references))
            .values(
                transferred_from=parking_permits.c.holder,
                holder=to,
                transferred_on=on,
            )
        )

    @staticmethod
    async def cancel_permits(conn: AsyncConnection, references: list[str], on: date) -> None:
        await conn.execute(
            update(parking_permits)
            .where(parking_permits.c.reference.in_(references))
            .values(status="cancelled", cancelled_on=on)
        )

    # --- assisted collections

    @staticmethod
    async def active_collections(
        conn: AsyncConnection, resident: str, property_key: str
    ) -> list[str]:
        found = await conn.scalars(
            select(assisted_collections.c.reference)
            .where(
                assisted_collections.c.resident == resident,
                assisted_collections.c.property_key == property_key,
                assisted_collections.c.status == "active",
            )
            .order_by(assisted_collections.c.reference)
        )
        return list(found)

    @staticmethod
    async def change_collections(
        conn: AsyncConnection, references: list[str], status: CollectionStatus, on: date
    ) -> None:
        await conn.execute(
            update(assisted_collections)
            .where(assisted_collections.c.reference.in_(references))
            .values(status=status, changed_on=on)
        )

    # --- entries in bulk

    async def add(self, entries: list[Entry]) -> int:
        """Entries not yet held (by reference, per register); returns how many were added."""
        added = 0
        async with self.engine.begin() as conn:
            for kind, table in _TABLES.items():
                rows = [vars(e) for e in entries if isinstance(e, kind)]
                if not rows:
                    continue
                held = set(
                    await conn.scalars(
                        select(table.c.reference).where(
                            table.c.reference.in_([r["reference"] for r in rows])
                        )
                    )
                )
                new = [r for r in rows if r["reference"] not in held]
                if new:
                    await conn.execute(insert(table), new)
                added += len(new)
        return added

    async def known(self, residents: list[str]) -> set[str]:
        """Those of `residents` with an entry in some register (held, or held before a
        transfer)."""
        found: set[str] = set()
        async with self.engine.connect() as conn:
            for table in _TABLES.values():
                subject = table.c.holder if table is parking_permits else table.c.resident
                found.update(await conn.scalars(select(subject).where(subject.in_(residents))))
            found.update(
                await conn.scalars(
                    select(parking_permits.c.transferred_from).where(
                        parking_permits.c.transferred_from.in_(residents)
                    )
                )
            )
        return found

    async def all_entries(self) -> list[Entry]:
        """Every entry of every register, register by register, by reference."""
        found: list[Entry] = []
        async with self.engine.connect() as conn:
            for kind, table in _TABLES.items():
                rows = await conn.execute(select(table).order_by(table.c.reference))
                found.extend(kind(**row._mapping) for row in rows)
        return found
