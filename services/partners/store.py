"""The partners store: the steps done (`partner_actions`, as every council service keeps
them) and the notices sent (`partner_notices`).

A notice row says which organisation was told what, by field name, under which reference and
on which topic: it holds no personal data (what was told went to the organisation, and the
register holds it).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Column, DateTime, MetaData, String, Table, Text, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from services.common.council import CouncilStore, action_table
from services.common.journal import journal_table
from services.common.migrations import Migrations

__all__ = ["NoticeRecord", "PartnerStore", "metadata", "notices"]

metadata = MetaData()

notices = Table(
    "partner_notices",
    metadata,
    Column("reference", String(24), primary_key=True),
    Column("workflow_id", String(255), nullable=False),
    Column("step", String(100), nullable=False),
    Column("organisation", String(64), nullable=False),
    Column("topic", String(249), nullable=False),
    Column("fields", Text, nullable=False),  # the field names told, comma-separated
    Column("told_at", DateTime(timezone=True), nullable=False),
)

actions = action_table(metadata, "partner")
journal = journal_table(metadata, "partner")


@dataclass(frozen=True)
class NoticeRecord:
    reference: str
    workflow_id: str
    step: str
    organisation: str
    topic: str
    fields: tuple[str, ...]
    told_at: datetime


class PartnerStore(CouncilStore):
    metadata = metadata
    migrations = Migrations.beside(__file__, "partners", metadata)
    actions = actions
    journal = journal

    @staticmethod
    async def record_notice(conn: AsyncConnection, notice: NoticeRecord) -> None:
        await conn.execute(
            insert(notices).values(
                reference=notice.reference,
                workflow_id=notice.workflow_id,
                step=notice.step,
                organisation=notice.organisation,
                topic=notice.topic,
                fields=",".join(notice.fields),
                told_at=notice.told_at,
            )
        )

    async def all_notices(self) -> list[NoticeRecord]:
        async with self.engine.connect() as conn:
            rows = await conn.execute(select(notices).order_by(notices.c.told_at))
            return [
                NoticeRecord(
                    reference=row.reference,
                    workflow_id=row.workflow_id,
                    step=row.step,
                    organisation=row.organisation,
                    topic=row.topic,
                    fields=tuple(row.fields.split(",")),
                    told_at=row.told_at,
                )
                for row in rows
            ]
