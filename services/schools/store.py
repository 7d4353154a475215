"""The school admissions store: in-year admission applications, one per child per step; the
council's early-years list (one entry per child: date of birth and postcode district, for
planning childcare places); and the funded early education offered (one per child and
entitlement). Facts added since the first release have tables of their own, so a store made
before them keeps working (tables are created when missing; no migrations yet).

It holds personal data (children's names and dates of birth), so nothing here logs, and the
engine hides statement parameters from log lines and exception texts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import (
    Column,
    Date,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    and_,
    insert,
    select,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from services.common.council import CouncilStore, action_table, new_reference
from services.common.journal import journal_table
from services.common.migrations import Migrations

__all__ = [
    "Application",
    "EarlyOffer",
    "EarlyYearsEntry",
    "SchoolStore",
    "applications",
    "early_offers",
    "early_years",
    "metadata",
]

metadata = MetaData()

applications = Table(
    "school_applications",
    metadata,
    Column("reference", String(20), primary_key=True),
    Column("workflow_id", String(255), nullable=False),
    Column("step", String(100), nullable=False),
    Column("resident", String(72), nullable=False),
    Column("name", Text, nullable=False),
    Column("date_of_birth", Date, nullable=False),
    Column("year_group", Integer, nullable=False),
    # NULL: no catchment school known for the address; the admissions team allocates one.
    Column("school", String(20), nullable=True),
    Column("requested_from", Date, nullable=False),
    Column("status", String(32), nullable=False),
)

# The early-years list (Childcare Act 2006 s.6: sufficient childcare), one row per child.
early_years = Table(
    "school_early_years",
    metadata,
    Column("resident", String(72), primary_key=True),
    Column("date_of_birth", Date, nullable=False),
    Column("district", String(8), nullable=False),
    Column("workflow_id", String(255), nullable=False),
    Column("step", String(100), nullable=False),
)

# Funded early education offered (Childcare Act 2006 s.7), once per child and entitlement.
early_offers = Table(
    "school_early_offers",
    metadata,
    Column("resident", String(72), nullable=False),
    Column("kind", String(16), nullable=False),  # two_year_old | three_year_old
    Column("from_date", Date, nullable=False),
    Column("hours", Integer, nullable=False),  # a week, term time
    Column("workflow_id", String(255), nullable=False),
    Column("step", String(100), nullable=False),
    PrimaryKeyConstraint("resident", "kind", name="pk_school_early_offers"),
)

actions = action_table(metadata, "school")
journal = journal_table(metadata, "school")


@dataclass(frozen=True)
class Application:
    """An application without the child's name and date of birth."""

    reference: str
    resident: str
    year_group: int
    school: str | None
    status: str


@dataclass(frozen=True)
class EarlyYearsEntry:
    resident: str
    date_of_birth: date
    district: str


@dataclass(frozen=True)
class EarlyOffer:
    resident: str
    kind: str
    from_date: date
    hours: int


@dataclass(frozen=True)
class NewApplication:
    resident: str
    name_json: str
    date_of_birth: date
    year_group: int
    school: str | None


class SchoolStore(CouncilStore):
    metadata = metadata
    migrations = Migrations.beside(__file__, "schools", metadata)
    actions = actions
    journal = journal

    @staticmethod
    async def apply(
        conn: AsyncConnection,
        where: tuple[str, str],
        children: list[NewApplication],
        requested_from: date,
    ) -> list[str]:
        workflow_id, step = where
        references = [new_reference("IYA") for _ in children]
        await conn.execute(
            insert(applications),
            [
                {
                    "reference": reference,
                    "workflow_id": workflow_id,
                    "step": step,
                    "resident": child.resident,
                    "name": child.name_json,
                    "date_of_birth": child.date_of_birth,
                    "year_group": child.year_group,
                    "school": child.school,
                    "requested_from": requested_from,
                    "status": "received" if child.school else "awaiting_allocation",
                }
                for reference, child in zip(references, children, strict=True)
            ],
        )
        return references

    @staticmethod
    async def add_to_early_years(
        conn: AsyncConnection, where: tuple[str, str], entry: EarlyYearsEntry
    ) -> bool:
        """Put the child on the early-years list; False when they are on it already."""
        held = await conn.scalar(
            select(early_years.c.resident).where(early_years.c.resident == entry.resident)
        )
        if held is not None:
            return False
        workflow_id, step = where
        await conn.execute(
            insert(early_years).values(
                resident=entry.resident,
                date_of_birth=entry.date_of_birth,
                district=entry.district,
                workflow_id=workflow_id,
                step=step,
            )
        )
        return True

    @staticmethod
    async def early_offer(conn: AsyncConnection, resident: str, kind: str) -> EarlyOffer | None:
        """The offer of that kind made to the child before, if any."""
        c = early_offers.c
        row = (
            await conn.execute(
                select(c.resident, c.kind, c.from_date, c.hours).where(
                    and_(c.resident == resident, c.kind == kind)
                )
            )
        ).first()
        return None if row is None else EarlyOffer(**row._mapping)

    @staticmethod
    async def offer_early_education(
        conn: AsyncConnection, where: tuple[str, str], offer: EarlyOffer
    ) -> None:
        workflow_id, step = where
        await conn.execute(
            insert(early_offers).values(
                resident=offer.resident,
                kind=offer.kind,
                from_date=offer.from_date,
                hours=offer.hours,
                workflow_id=workflow_id,
                step=step,
            )
        )

    async def all_early_years(self) -> list[EarlyYearsEntry]:
        async with self.engine.connect() as conn:
            rows = await conn.execute(
                select(
                    early_years.c.resident, early_years.c.date_of_birth, early_years.c.district
                ).order_by(early_years.c.resident)
            )
            return [EarlyYearsEntry(**row._mapping) for row in rows]

    async def all_early_offers(self) -> list[EarlyOffer]:
        async with self.engine.connect() as conn:
            rows = await conn.execute(
                select(
                    early_offers.c.resident,
                    early_offers.c.kind,
                    early_offers.c.from_date,
                    early_offers.c.hours,
                ).order_by(early_offers.c.resident, early_offers.c.from_date)
            )
            return [EarlyOffer(**row._mapping) for row in rows]

    async def all_applications(self) -> list[Application]:
        async with self.engine.connect() as conn:
            rows = await conn.execute(
                select(
                    applications.c.reference,
                    applications.c.resident,
                    applications.c.year_group,
                    applications.c.school,
                    applications.c.status,
                ).order_by(applications.c.year_group)
            )
            return [Application(**row._mapping) for row in rows]
