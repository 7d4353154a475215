"""The school admissions store: in-year admission applications, one per child per step.

It holds personal data (children's names and dates of birth), so nothing here logs, and the
engine hides statement parameters from log lines and exception texts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import Column, Date, Integer, MetaData, String, Table, Text, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from services.common.council import CouncilStore, action_table, new_reference

__all__ = ["Application", "SchoolStore", "applications", "metadata"]

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

actions = action_table(metadata, "school")


@dataclass(frozen=True)
class Application:
    """An application without the child's name and date of birth."""

    reference: str
    resident: str
    year_group: int
    school: str | None
    status: str


@dataclass(frozen=True)
class NewApplication:
    resident: str
    name_json: str
    date_of_birth: date
    year_group: int
    school: str | None


class SchoolStore(CouncilStore):
    metadata = metadata
    actions = actions

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
