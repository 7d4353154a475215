"""The benefits store: housing benefit and council tax reduction claims, keyed by resident,
and the changes of circumstances recorded on them.

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
    String,
    Table,
    Text,
    insert,
    select,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from contracts.addresses import UkAddress
from services.common.council import CouncilStore, action_table, address_json

__all__ = ["BenefitStore", "ChangeRecord", "Claim", "ClaimKind", "changes", "claims", "metadata"]

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
    Column("kind", String(32), nullable=False),  # change_of_address | moved_out_of_area
    Column("effective_from", Date, nullable=False),
    Column("new_address", Text, nullable=True),
    Column("household_members", Integer, nullable=False),
    Column("adults", Integer, nullable=False),
)

actions = action_table(metadata, "benefit")


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


class BenefitStore(CouncilStore):
    metadata = metadata
    actions = actions

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

    async def all_changes(self) -> list[ChangeRecord]:
        async with self.engine.connect() as conn:
            rows = await conn.execute(
                select(changes.c.claim, changes.c.kind, changes.c.effective_from).order_by(
                    changes.c.claim
                )
            )
            return [ChangeRecord(**row._mapping) for row in rows]
