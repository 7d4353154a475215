"""The benefits store: housing benefit and council tax reduction claims, keyed by resident,
the changes of circumstances recorded on them, when a claim ended (`benefit_claim_ends`:
the claimant died), the reviews opened for the people a death leaves (`benefit_reviews`),
and the children added to a claim as new dependants (`benefit_dependants`, one row per
claim and child). Facts added since the first release have tables of their own, so a store
made before them keeps working (tables are created when missing; no migrations yet).

The store does not know who was the partner on a claim: a death opens a review for every
adult who survives the claimant (see `services.benefits.activities`).

It holds personal data (addresses, household size), so nothing here logs, and the engine
hides statement parameters from log lines and exception texts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Literal

from sqlalchemy import (
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    insert,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from contracts.addresses import UkAddress
from services.common.council import CouncilStore, action_table, address_json, new_reference
from services.common.journal import journal_table
from services.common.migrations import Migrations

__all__ = [
    "BenefitStore",
    "ChangeRecord",
    "Claim",
    "ClaimEnd",
    "ClaimKind",
    "Dependant",
    "Review",
    "changes",
    "claim_ends",
    "claims",
    "dependants",
    "metadata",
    "reviews",
]

ClaimKind = Literal["housing_benefit", "council_tax_reduction"]

metadata = MetaData()

claims = Table(
    "benefit_claims",
    metadata,
    Column("reference", String(20), primary_key=True),
    Column("resident", String(72), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("status", String(16), nullable=False),  # active | ended
    Column("started_on", Date, nullable=False),
    Index("ix_benefit_claims_resident", "resident", "status"),
)

changes = Table(
    "benefit_changes",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("claim", String(20), ForeignKey("benefit_claims.reference"), nullable=False),
    Column("workflow_id", String(255), nullable=False),
    Column("step", String(100), nullable=False),
    # change_of_address | moved_out_of_area | new_dependant
    Column("kind", String(32), nullable=False),
    Column("effective_from", Date, nullable=False),
    Column("new_address", Text, nullable=True),
    Column("household_members", Integer, nullable=False),
    Column("adults", Integer, nullable=False),
)

claim_ends = Table(
    "benefit_claim_ends",
    metadata,
    Column("claim", String(20), ForeignKey("benefit_claims.reference"), primary_key=True),
    Column("ended_on", Date, nullable=False),  # the last day paid
    Column("reason", String(32), nullable=False),  # claimant_died
    Column("workflow_id", String(255), nullable=False),
    Column("step", String(100), nullable=False),
)

# A change-of-circumstances review for someone a death leaves: on their own claim (`claim`),
# or, with no claim of their own (NULL), as the possible partner on the deceased's claim.
reviews = Table(
    "benefit_reviews",
    metadata,
    Column("reference", String(20), primary_key=True),
    Column("resident", String(72), nullable=False),
    Column("claim", String(20), ForeignKey("benefit_claims.reference"), nullable=True),
    Column("reason", String(32), nullable=False),  # death_in_household
    Column("effective_from", Date, nullable=False),
    Column("workflow_id", String(255), nullable=False),
    Column("step", String(100), nullable=False),
    Index("ix_benefit_reviews_resident", "resident"),
)

# A child added to a claim as a new dependant (the `new_dependant` change recorded with it),
# so that the same birth told twice adds them once.
dependants = Table(
    "benefit_dependants",
    metadata,
    Column("claim", String(20), ForeignKey("benefit_claims.reference"), nullable=False),
    Column("resident", String(72), nullable=False),  # the child
    Column("effective_from", Date, nullable=False),
    Column("workflow_id", String(255), nullable=False),
    Column("step", String(100), nullable=False),
    PrimaryKeyConstraint("claim", "resident", name="pk_benefit_dependants"),
    Index("ix_benefit_dependants_resident", "resident"),
)

actions = action_table(metadata, "benefit")
journal = journal_table(metadata, "benefit")


@dataclass(frozen=True)
class Claim:
    reference: str
    resident: str
    kind: ClaimKind
    started_on: date


@dataclass(frozen=True)
class ChangeRecord:
    claim: str
    kind: str
    effective_from: date


@dataclass(frozen=True)
class ClaimEnd:
    claim: str
    status: str
    ended_on: date
    reason: str


@dataclass(frozen=True)
class Dependant:
    claim: str
    resident: str
    effective_from: date


@dataclass(frozen=True)
class Review:
    reference: str
    resident: str
    claim: str | None
    reason: str
    effective_from: date


class BenefitStore(CouncilStore):
    metadata = metadata
    migrations = Migrations.beside(__file__, "benefits", metadata)
    actions = actions
    journal = journal

    async def add_claims(self, new: list[Claim]) -> int:
        """Claims not yet held (by reference); returns how many were added."""
        async with self.engine.begin() as conn:
            held = set(await conn.scalars(select(claims.c.reference)))
            rows = [
                {
                    "reference": c.reference,
                    "resident": c.resident,
                    "kind": c.kind,
                    "status": "active",
                    "started_on": c.started_on,
                }
                for c in new
                if c.reference not in held
            ]
            if rows:
                await conn.execute(insert(claims), rows)
        return len(rows)

    @staticmethod
    async def active_claims(conn: AsyncConnection, residents: tuple[str, ...]) -> list[str]:
        found = await conn.scalars(
            select(claims.c.reference)
            .where(claims.c.resident.in_(residents), claims.c.status == "active")
            .order_by(claims.c.reference)
        )
        return list(found)

    async def claims_held(self, residents: tuple[str, ...]) -> list[str]:
        """The residents' active claims, read outside any action (nothing is recorded)."""
        async with self.engine.connect() as conn:
            return await self.active_claims(conn, residents)

    @staticmethod
    async def record_change(
        conn: AsyncConnection,
        where: tuple[str, str],
        claim_references: list[str],
        kind: str,
        effective_from: date,
        new_address: UkAddress | None,
        household: tuple[int, int],
    ) -> None:
        workflow_id, step = where
        members, adults = household
        await conn.execute(
            insert(changes),
            [
                {
                    "claim": claim,
                    "workflow_id": workflow_id,
                    "step": step,
                    "kind": kind,
                    "effective_from": effective_from,
                    "new_address": address_json(new_address),
                    "household_members": members,
                    "adults": adults,
                }
                for claim in claim_references
            ],
        )

    @staticmethod
    async def active_claims_by_resident(
        conn: AsyncConnection, residents: list[str]
    ) -> dict[str, list[str]]:
        """Each resident's active claims (residents without one are left out)."""
        found: dict[str, list[str]] = {}
        rows = await conn.execute(
            select(claims.c.resident, claims.c.reference)
            .where(claims.c.resident.in_(residents), claims.c.status == "active")
            .order_by(claims.c.reference)
        )
        for resident, reference in rows:
            found.setdefault(resident, []).append(reference)
        return found

    @staticmethod
    async def end_claims(
        conn: AsyncConnection,
        where: tuple[str, str],
        claim_references: list[str],
        ended_on: date,
        reason: str,
    ) -> None:
        workflow_id, step = where
        await conn.execute(
            update(claims).where(claims.c.reference.in_(claim_references)).values(status="ended")
        )
        await conn.execute(
            insert(claim_ends),
            [
                {
                    "claim": claim,
                    "ended_on": ended_on,
                    "reason": reason,
                    "workflow_id": workflow_id,
                    "step": step,
                }
                for claim in claim_references
            ],
        )

    @staticmethod
    async def open_reviews(
        conn: AsyncConnection,
        where: tuple[str, str],
        people: list[tuple[str, str | None]],
        reason: str,
        effective_from: date,
    ) -> list[str]:
        """A review for each (resident, their claim or None); returns their references."""
        workflow_id, step = where
        references = [new_reference("REV") for _ in people]
        if people:
            await conn.execute(
                insert(reviews),
                [
                    {
                        "reference": reference,
                        "resident": resident,
                        "claim": claim,
                        "reason": reason,
                        "effective_from": effective_from,
                        "workflow_id": workflow_id,
                        "step": step,
                    }
                    for reference, (resident, claim) in zip(references, people, strict=True)
                ],
            )
        return references

    @staticmethod
    async def dependant_on(conn: AsyncConnection, resident: str) -> list[Dependant]:
        """The claims the resident was added to as a new dependant, by claim."""
        rows = await conn.execute(
            select(dependants.c.claim, dependants.c.resident, dependants.c.effective_from)
            .where(dependants.c.resident == resident)
            .order_by(dependants.c.claim)
        )
        return [Dependant(**row._mapping) for row in rows]

    @staticmethod
    async def add_dependant(
        conn: AsyncConnection,
        where: tuple[str, str],
        claim_references: list[str],
        resident: str,
        effective_from: date,
    ) -> None:
        workflow_id, step = where
        await conn.execute(
            insert(dependants),
            [
                {
                    "claim": claim,
                    "resident": resident,
                    "effective_from": effective_from,
                    "workflow_id": workflow_id,
                    "step": step,
                }
                for claim in claim_references
            ],
        )

    @staticmethod
    async def ended_by(conn: AsyncConnection, resident: str, reason: str) -> list[ClaimEnd]:
        """The resident's claims that ended for `reason` (a workflow about the same death
        may have ended them already)."""
        rows = await conn.execute(
            select(claim_ends.c.claim, claims.c.status, claim_ends.c.ended_on, claim_ends.c.reason)
            .join(claims, claims.c.reference == claim_ends.c.claim)
            .where(claims.c.resident == resident, claim_ends.c.reason == reason)
            .order_by(claim_ends.c.claim)
        )
        return [ClaimEnd(**row._mapping) for row in rows]

    async def ended_claims(self) -> list[ClaimEnd]:
        async with self.engine.connect() as conn:
            rows = await conn.execute(
                select(
                    claim_ends.c.claim, claims.c.status, claim_ends.c.ended_on, claim_ends.c.reason
                )
                .join(claims, claims.c.reference == claim_ends.c.claim)
                .order_by(claim_ends.c.claim)
            )
            return [ClaimEnd(**row._mapping) for row in rows]

    async def all_reviews(self) -> list[Review]:
        async with self.engine.connect() as conn:
            rows = await conn.execute(
                select(
                    reviews.c.reference,
                    reviews.c.resident,
                    reviews.c.claim,
                    reviews.c.reason,
                    reviews.c.effective_from,
                ).order_by(reviews.c.resident, reviews.c.claim)
            )
            return [Review(**row._mapping) for row in rows]

    async def all_changes(self) -> list[ChangeRecord]:
        async with self.engine.connect() as conn:
            rows = await conn.execute(
                select(changes.c.claim, changes.c.kind, changes.c.effective_from).order_by(
                    changes.c.claim
                )
            )
            return [ChangeRecord(**row._mapping) for row in rows]
