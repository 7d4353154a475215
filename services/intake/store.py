"""The intake's own store: API keys, the events it accepted, and the dead-letter index.

No payloads and no personal data: an accepted event is remembered by (source, id, type) only,
so that a source system can ask what became of it before its workflow exists.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, DateTime, String, inspect, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.common.database import Store, make_sessionmaker
from services.common.migrations import Migrations

__all__ = [
    "AcceptedEvent",
    "AcceptedEventRow",
    "ApiKeyRow",
    "Base",
    "DeadLetter",
    "DeadLetterRow",
    "IntakeStore",
]


class Base(DeclarativeBase):
    pass


class ApiKeyRow(Base):
    """One source system's key. Only the SHA-256 of the key is kept; the key is shown once."""

    __tablename__ = "intake_api_keys"

    key_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    key_hash: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(256), index=True)
    event_types: Mapped[list[str]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)


class AcceptedEventRow(Base):
    """An event the intake durably wrote to Kafka (ids only, never the payload)."""

    __tablename__ = "intake_accepted_events"

    source: Mapped[str] = mapped_column(String(256), primary_key=True)
    event_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    event_type: Mapped[str] = mapped_column(String(128))
    accepted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class DeadLetterRow(Base):
    """An event the orchestrator dead-lettered, as read from the DLQ topic's headers."""

    __tablename__ = "intake_dead_letters"

    source: Mapped[str] = mapped_column(String(256), primary_key=True)
    event_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    reason: Mapped[str] = mapped_column(String(64))
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


@dataclass(frozen=True)
class AcceptedEvent:
    source: str
    event_id: str
    event_type: str
    accepted_at: datetime


@dataclass(frozen=True)
class DeadLetter:
    source: str
    event_id: str
    reason: str
    recorded_at: datetime


def utc(moment: datetime) -> datetime:
    # SQLite hands back naive datetimes even for timezone-aware columns; they were stored as UTC.
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def now() -> datetime:
    return datetime.now(UTC)


class IntakeStore(Store):
    """Data access for the intake; request handling lives in `api`, never here."""

    metadata = Base.metadata
    migrations = Migrations.beside(__file__, "intake", Base.metadata)

    def __init__(self, engine: AsyncEngine) -> None:
        if engine.dialect.name not in {"sqlite", "postgresql"}:
            raise ValueError("the intake store runs on SQLite or PostgreSQL")
        super().__init__(engine)
        self.sessions: async_sessionmaker[AsyncSession] = make_sessionmaker(engine)

    # --- API keys -------------------------------------------------------------------------

    async def add_key(self, row: ApiKeyRow) -> None:
        async with self.sessions.begin() as session:
            session.add(row)

    async def get_key(self, key_id: str) -> ApiKeyRow | None:
        async with self.sessions() as session:
            return await session.get(ApiKeyRow, key_id)

    async def list_keys(self) -> list[ApiKeyRow]:
        async with self.sessions() as session:
            rows = await session.scalars(select(ApiKeyRow).order_by(ApiKeyRow.created_at))
            return list(rows)

    async def revoke_key(self, key_id: str) -> bool:
        """Mark a key revoked; False if there is no such key or it was revoked already."""
        async with self.sessions.begin() as session:
            result = await session.execute(
                update(ApiKeyRow)
                .where(ApiKeyRow.key_id == key_id, ApiKeyRow.revoked_at.is_(None))
                .values(revoked_at=now())
            )
            return bool(getattr(result, "rowcount", 0))

    # --- accepted events and dead letters -------------------------------------------------

    async def record_accepted(self, events: Sequence[tuple[str, str, str]]) -> None:
        """Remember (source, id, type) of events written to Kafka; a repeat keeps the first."""
        if not events:
            return
        at = now()
        rows = [
            {"source": s, "event_id": i, "event_type": t, "accepted_at": at} for s, i, t in events
        ]
        await self._upsert(AcceptedEventRow, rows, update_columns=())

    async def record_dead_letters(self, letters: Sequence[tuple[str, str, str]]) -> None:
        """Index (source, id, reason) of dead letters; a later one for the same event wins."""
        if not letters:
            return
        at = now()
        latest = {(source, event_id): reason for source, event_id, reason in letters}
        rows = [
            {"source": s, "event_id": i, "reason": r, "recorded_at": at}
            for (s, i), r in latest.items()
        ]
        await self._upsert(DeadLetterRow, rows, update_columns=("reason", "recorded_at"))

    async def find_accepted(self, source: str, event_id: str) -> AcceptedEvent | None:
        async with self.sessions() as session:
            row = await session.get(AcceptedEventRow, (source, event_id))
        if row is None:
            return None
        return AcceptedEvent(row.source, row.event_id, row.event_type, utc(row.accepted_at))

    async def find_dead_letter(self, source: str, event_id: str) -> DeadLetter | None:
        async with self.sessions() as session:
            row = await session.get(DeadLetterRow, (source, event_id))
        if row is None:
            return None
        return DeadLetter(row.source, row.event_id, row.reason, utc(row.recorded_at))

    async def _upsert(
        self, table: type[Base], rows: list[dict[str, Any]], *, update_columns: Sequence[str]
    ) -> None:
        # Both supported databases speak INSERT ... ON CONFLICT, which is race-free.
        insert = postgresql.insert if self.engine.dialect.name == "postgresql" else sqlite.insert
        statement = insert(table)
        keys = [column.name for column in inspect(table).primary_key]
        if update_columns:
            statement = statement.on_conflict_do_update(
                index_elements=keys,
                set_={column: statement.excluded[column] for column in update_columns},
            )
        else:
            statement = statement.on_conflict_do_nothing(index_elements=keys)
        async with self.sessions.begin() as session:
            await session.execute(statement, rows)
