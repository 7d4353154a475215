"""The consent service's own store: tables and data access, kept apart from request handling.

SQLite by default, PostgreSQL (asyncpg) from the same code. Functions take an open
`AsyncConnection` so that the gate can put a ledger append and the reads it depends on in
one transaction. Residents appear only as pseudonymous keys; data only as category codes
(and, for a resident who died, the date of death the register office gave).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    BigInteger,
    Boolean,
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
    bindparam,
    delete,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from contracts.consent import (
    ConsentEvent,
    ConsentMethod,
    ConsentRecord,
    ConsentStatus,
    LawfulBasis,
    Objection,
)
from contracts.shares import DataCategory
from services.common.database import Store, UtcDateTime
from services.common.migrations import Migrations

__all__ = [
    "GENESIS_HASH",
    "CaseworkerActionRow",
    "ConsentStore",
    "LedgerRow",
    "caseworker_actions",
    "consent_events",
    "consents",
    "death_withdrawals",
    "deaths",
    "grants",
    "informant_consents",
    "join_categories",
    "ledger",
    "ledger_head",
    "metadata",
    "objections",
    "outbox",
    "split_categories",
]

GENESIS_HASH = "0" * 64


metadata = MetaData()

consents = Table(
    "consents",
    metadata,
    Column("consent_id", String(40), primary_key=True),
    Column("resident", String(72), nullable=False),
    Column("controller", String(64), nullable=False),
    Column("recipient", String(64), nullable=False),
    Column("purpose", String(64), nullable=False),
    Column("categories", Text, nullable=False),
    Column("special_category", Boolean, nullable=False),
    Column("method", String(20), nullable=False),
    Column("given_at", UtcDateTime, nullable=False),
    Column("notice_version", String(64), nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("status", String(12), nullable=False),
    # The latest consent for (resident, purpose, recipient) decides; this index finds it.
    Index("ix_consents_lookup", "resident", "purpose", "recipient", "given_at"),
)

consent_events = Table(
    "consent_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("consent_id", String(40), ForeignKey("consents.consent_id"), nullable=False),
    Column("status", String(12), nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Index("ix_consent_events_consent", "consent_id"),
)

# The consent behind each recipient of an informant's agreement: one per workflow step and
# recipient, so that a repeated agreement records nothing new.
informant_consents = Table(
    "informant_consents",
    metadata,
    Column("workflow_id", String(255), nullable=False),
    Column("step", String(100), nullable=False),
    Column("recipient", String(64), nullable=False),
    Column("consent_id", String(40), ForeignKey("consents.consent_id"), nullable=False),
    PrimaryKeyConstraint("workflow_id", "step", "recipient", name="pk_informant_consents"),
)

# Residents the gate knows to have died: the first record stands. Every allowed decision
# looks its resident up here (the primary key) to stamp the share token `deceased`.
deaths = Table(
    "deaths",
    metadata,
    Column("resident", String(72), primary_key=True),
    Column("date_of_death", Date, nullable=False),
    Column("death_id", String(40), nullable=False),
    Column("workflow_id", String(255), nullable=False),
    Column("step", String(100), nullable=False),
    Column("recorded_at", UtcDateTime, nullable=False),
    Column("ledger_seq", BigInteger, nullable=False),
)

# Deaths the gate recorded and then forgot, because the life event that reported them was
# withdrawn (`undo_death`): which workflow recorded each, and the ledger entry that says it
# was withdrawn. No date of death: that went with the record of a death that did not happen.
death_withdrawals = Table(
    "death_withdrawals",
    metadata,
    Column("death_id", String(40), primary_key=True),
    Column("resident", String(72), nullable=False),
    Column("workflow_id", String(255), nullable=False),
    Column("step", String(100), nullable=False),
    Column("undone_by", String(255), nullable=False),
    Column("withdrawn_at", UtcDateTime, nullable=False),
    Column("ledger_seq", BigInteger, nullable=False),
    Index("ix_death_withdrawals_workflow", "workflow_id"),
)

objections = Table(
    "objections",
    metadata,
    Column("objection_id", String(40), primary_key=True),
    Column("resident", String(72), nullable=False),
    Column("purpose", String(64), nullable=False),
    Column("recorded_at", UtcDateTime, nullable=False),
    Column("withdrawn_at", UtcDateTime, nullable=True),
    Index("ix_objections_lookup", "resident", "purpose"),
)

# One row per allow decision (a share token was issued), completed when the share is
# recorded: makes record_share idempotent, and tells a withdrawal which recipients hold, or
# are about to receive, data under the consent.
grants = Table(
    "grants",
    metadata,
    Column("decision_id", String(40), primary_key=True),
    Column("consent_id", String(40), nullable=True),
    Column("resident", String(72), nullable=False),
    Column("recipient", String(64), nullable=False),
    Column("purpose", String(64), nullable=False),
    Column("issued_at", UtcDateTime, nullable=False),
    Column("decision_seq", BigInteger, nullable=False),
    Column("completed_at", UtcDateTime, nullable=True),
    Column("share_seq", BigInteger, nullable=True),
    Index("ix_grants_consent", "consent_id"),
)

# A caseworker's action on a life event's task (`record_caseworker_action`): which workflow
# and task, and the ledger entries it made, one per resident it concerns (consecutive, in
# the order the residents were named). Makes a repeat of the action idempotent, and keeps
# what the ledger's columns have no room for.
caseworker_actions = Table(
    "caseworker_actions",
    metadata,
    Column("action_id", String(40), primary_key=True),
    Column("caseworker", String(40), nullable=False),
    Column("action", String(16), nullable=False),
    Column("workflow_id", String(255), nullable=False),
    Column("task", String(200), nullable=False),
    Column("residents", Text, nullable=False),  # comma-joined, as named (duplicates dropped)
    Column("recorded_at", UtcDateTime, nullable=False),
    Column("first_seq", BigInteger, nullable=False),
    Index("ix_caseworker_actions_workflow", "workflow_id", "task"),
)

# The hash-chained ledger. `seq` is assigned by the appender under the chain-head lock.
ledger = Table(
    "ledger",
    metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("at", UtcDateTime, nullable=False),
    Column("kind", String(12), nullable=False),
    Column("resident", String(72), nullable=False),
    Column("purpose", String(64), nullable=False),
    Column("recipient", String(64), nullable=False),
    Column("categories", Text, nullable=False),
    Column("basis", String(20), nullable=True),
    Column("outcome", String(16), nullable=False),
    Column("reason", String(64), nullable=False),
    Column("ref", String(64), nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    Index("ix_ledger_resident", "resident", "seq"),
)

# One row: the last sequence number and hash. Appenders lock it (UPDATE … RETURNING), which
# serialises appends on SQLite and PostgreSQL alike, and it lets verify notice a removed tail.
ledger_head = Table(
    "ledger_head",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("seq", BigInteger, nullable=False),
    Column("hash", String(64), nullable=False),
)

# Kafka records written in the same transaction as the change they announce, published after
# commit and again by a relay until Kafka has them (transactional outbox).
outbox = Table(
    "outbox",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("topic", String(255), nullable=False),
    Column("key", String(255), nullable=False),
    Column("value", Text, nullable=False),
    Column("headers", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("published_at", UtcDateTime, nullable=True),
    Index("ix_outbox_pending", "published_at", "id"),
)


def join_categories(categories: list[DataCategory] | list[str]) -> str:
    return ",".join(sorted(str(c) for c in categories))


def split_categories(text: str) -> list[DataCategory]:
    return [DataCategory(c) for c in text.split(",")] if text else []


@dataclass(frozen=True, slots=True)
class LedgerRow:
    seq: int
    at: datetime
    kind: str
    resident: str
    purpose: str
    recipient: str
    categories: str
    basis: str | None
    outcome: str
    reason: str
    ref: str
    prev_hash: str
    hash: str


LEDGER_COLUMNS = [ledger.c[name] for name in LedgerRow.__slots__]


def ledger_row(row: Any) -> LedgerRow:
    return LedgerRow(*row)


@dataclass(frozen=True, slots=True)
class ConsentRow:
    consent_id: str
    resident: str
    controller: str
    recipient: str
    purpose: str
    categories: str
    special_category: bool
    method: str
    given_at: datetime
    notice_version: str
    expires_at: datetime
    status: str

    def effective_status(self, now: datetime) -> ConsentStatus:
        if self.status == ConsentStatus.GIVEN and self.expires_at <= now:
            return ConsentStatus.EXPIRED
        return ConsentStatus(self.status)


CONSENT_COLUMNS = [consents.c[name] for name in ConsentRow.__slots__]


@dataclass(frozen=True, slots=True)
class CaseworkerActionRow:
    action_id: str
    caseworker: str
    action: str
    workflow_id: str
    task: str
    residents: tuple[str, ...]
    first_seq: int

    @property
    def ledger_seqs(self) -> tuple[int, ...]:
        return tuple(range(self.first_seq, self.first_seq + len(self.residents)))


# The decision's hot path, built once (see ledger._LOCK_HEAD).
_LATEST_CONSENT = (
    select(*CONSENT_COLUMNS)
    .where(
        consents.c.resident == bindparam("resident"),
        consents.c.purpose == bindparam("purpose"),
        consents.c.recipient == bindparam("recipient"),
    )
    .order_by(consents.c.given_at.desc(), consents.c.consent_id.desc())
    .limit(1)
)
_ACTIVE_OBJECTION = (
    select(objections.c.objection_id)
    .where(
        objections.c.resident == bindparam("resident"),
        objections.c.purpose == bindparam("purpose"),
        objections.c.withdrawn_at.is_(None),
    )
    .limit(1)
)
_INSERT_GRANT = insert(grants)
_DECEASED = select(deaths.c.resident).where(deaths.c.resident == bindparam("resident"))


class ConsentStore(Store):
    """Data access for consents, objections, shares, the ledger and the outbox."""

    metadata = metadata
    migrations = Migrations.beside(__file__, "consent", metadata)
    # Without the pool's rollback on check-in: every connection the store uses ends its
    # transaction itself (commit, or rollback on close), so that second rollback would only
    # cost a round trip per decision.
    engine_options: ClassVar[Mapping[str, Any]] = {"pool_reset_on_return": None}

    def __init__(self, engine: AsyncEngine) -> None:
        super().__init__(engine)
        # Writers in this process queue here rather than in the database: SQLite's busy
        # handler sleeps in steps of up to 100 ms, an asyncio lock hands over at once.
        # Other processes are still serialised by the database (see ledger.lock_tail).
        self._write_lock = asyncio.Lock()

    async def prepare(self, conn: AsyncConnection) -> None:
        """The chain head."""
        head = await conn.scalar(select(ledger_head.c.id).where(ledger_head.c.id == 1))
        if head is None:
            await conn.execute(insert(ledger_head).values(id=1, seq=0, hash=GENESIS_HASH))

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncConnection]:
        async with self._write_lock, self.engine.begin() as conn:
            yield conn

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[AsyncConnection]:
        async with self.engine.connect() as conn:
            yield conn

    # --- consents ---------------------------------------------------------------------

    @staticmethod
    async def insert_consent(conn: AsyncConnection, record: ConsentRecord) -> None:
        await conn.execute(
            insert(consents).values(
                consent_id=record.consent_id,
                resident=record.resident,
                controller=record.controller,
                recipient=record.recipient,
                purpose=record.purpose,
                categories=join_categories(record.data_categories),
                special_category=record.special_category,
                method=record.method.value,
                given_at=record.given_at,
                notice_version=record.notice_version,
                expires_at=record.expires_at,
                status=record.status.value,
            )
        )
        await conn.execute(
            insert(consent_events),
            [
                {"consent_id": record.consent_id, "status": e.status.value, "at": e.at}
                for e in record.events
            ],
        )

    @staticmethod
    async def latest_consent(
        conn: AsyncConnection, resident: str, purpose: str, recipient: str
    ) -> ConsentRow | None:
        params = {"resident": resident, "purpose": purpose, "recipient": recipient}
        row = (await conn.execute(_LATEST_CONSENT, params)).first()
        return ConsentRow(*row) if row is not None else None

    @staticmethod
    async def consent_row(conn: AsyncConnection, consent_id: str) -> ConsentRow | None:
        row = (
            await conn.execute(select(*CONSENT_COLUMNS).where(consents.c.consent_id == consent_id))
        ).first()
        return ConsentRow(*row) if row is not None else None

    @staticmethod
    async def set_consent_status(
        conn: AsyncConnection, consent_id: str, status: ConsentStatus, at: datetime
    ) -> None:
        await conn.execute(
            update(consents).where(consents.c.consent_id == consent_id).values(status=status.value)
        )
        await conn.execute(
            insert(consent_events).values(consent_id=consent_id, status=status.value, at=at)
        )

    @staticmethod
    async def consent_record(
        conn: AsyncConnection, row: ConsentRow, now: datetime
    ) -> ConsentRecord:
        events = (
            await conn.execute(
                select(consent_events.c.status, consent_events.c.at)
                .where(consent_events.c.consent_id == row.consent_id)
                .order_by(consent_events.c.id)
            )
        ).all()
        return ConsentRecord.model_construct(
            consent_id=row.consent_id,
            resident=row.resident,
            controller=row.controller,
            recipient=row.recipient,
            purpose=row.purpose,
            data_categories=split_categories(row.categories),
            special_category=row.special_category,
            lawful_basis=LawfulBasis.CONSENT,
            method=ConsentMethod(row.method),
            given_at=row.given_at,
            notice_version=row.notice_version,
            expires_at=row.expires_at,
            status=row.effective_status(now),
            events=[ConsentEvent(status=ConsentStatus(s), at=at) for s, at in events],
        )

    @staticmethod
    async def resident_consents(conn: AsyncConnection, resident: str) -> list[ConsentRow]:
        rows = await conn.execute(
            select(*CONSENT_COLUMNS)
            .where(consents.c.resident == resident)
            .order_by(consents.c.given_at, consents.c.consent_id)
        )
        return [ConsentRow(*row) for row in rows]

    @staticmethod
    async def informant_consent_ids(
        conn: AsyncConnection, workflow_id: str, step: str
    ) -> dict[str, str]:
        """Recipient → consent ID, for the agreement recorded at this workflow step."""
        rows = await conn.execute(
            select(informant_consents.c.recipient, informant_consents.c.consent_id).where(
                informant_consents.c.workflow_id == workflow_id,
                informant_consents.c.step == step,
            )
        )
        return {recipient: consent_id for recipient, consent_id in rows}

    @staticmethod
    async def insert_informant_consent(
        conn: AsyncConnection, workflow_id: str, step: str, recipient: str, consent_id: str
    ) -> None:
        await conn.execute(
            insert(informant_consents).values(
                workflow_id=workflow_id, step=step, recipient=recipient, consent_id=consent_id
            )
        )

    # --- deaths -----------------------------------------------------------------------

    @staticmethod
    async def deceased(conn: AsyncConnection, resident: str) -> bool:
        """Whether the gate knows the resident died: one primary-key look-up."""
        found = await conn.scalar(_DECEASED, {"resident": resident})
        return found is not None

    @staticmethod
    async def death_seq(conn: AsyncConnection, resident: str) -> int | None:
        """The ledger entry of the resident's recorded death, if there is one."""
        seq: int | None = await conn.scalar(
            select(deaths.c.ledger_seq).where(deaths.c.resident == resident)
        )
        return seq

    @staticmethod
    async def insert_death(
        conn: AsyncConnection,
        *,
        resident: str,
        date_of_death: date,
        death_id: str,
        workflow_id: str,
        step: str,
        recorded_at: datetime,
        ledger_seq: int,
    ) -> None:
        await conn.execute(
            insert(deaths).values(
                resident=resident,
                date_of_death=date_of_death,
                death_id=death_id,
                workflow_id=workflow_id,
                step=step,
                recorded_at=recorded_at,
                ledger_seq=ledger_seq,
            )
        )

    @staticmethod
    async def deaths_recorded_by(conn: AsyncConnection, workflow_id: str) -> list[Any]:
        """The deaths `workflow_id` recorded and the gate still holds: rows of `resident`,
        `death_id`, `step`, in resident order."""
        rows = await conn.execute(
            select(deaths.c.resident, deaths.c.death_id, deaths.c.step)
            .where(deaths.c.workflow_id == workflow_id)
            .order_by(deaths.c.resident)
        )
        return list(rows)

    @staticmethod
    async def withdraw_death(
        conn: AsyncConnection,
        *,
        resident: str,
        death_id: str,
        workflow_id: str,
        step: str,
        undone_by: str,
        withdrawn_at: datetime,
        ledger_seq: int,
    ) -> None:
        """Forget the resident's recorded death, and keep that it was withdrawn."""
        await conn.execute(delete(deaths).where(deaths.c.death_id == death_id))
        await conn.execute(
            insert(death_withdrawals).values(
                death_id=death_id,
                resident=resident,
                workflow_id=workflow_id,
                step=step,
                undone_by=undone_by,
                withdrawn_at=withdrawn_at,
                ledger_seq=ledger_seq,
            )
        )

    @staticmethod
    async def death_withdrawals_of(conn: AsyncConnection, workflow_id: str) -> list[int]:
        """The ledger entries of the deaths `workflow_id` recorded that were withdrawn."""
        rows = await conn.scalars(
            select(death_withdrawals.c.ledger_seq)
            .where(death_withdrawals.c.workflow_id == workflow_id)
            .order_by(death_withdrawals.c.ledger_seq)
        )
        return list(rows)

    # --- objections -------------------------------------------------------------------

    @staticmethod
    async def insert_objection(conn: AsyncConnection, objection: Objection) -> None:
        await conn.execute(
            insert(objections).values(
                objection_id=objection.objection_id,
                resident=objection.resident,
                purpose=objection.purpose,
                recorded_at=objection.recorded_at,
                withdrawn_at=None,
            )
        )

    @staticmethod
    async def active_objection(conn: AsyncConnection, resident: str, purpose: str) -> str | None:
        found: str | None = await conn.scalar(
            _ACTIVE_OBJECTION, {"resident": resident, "purpose": purpose}
        )
        return found

    @staticmethod
    async def withdraw_objection(conn: AsyncConnection, objection_id: str, at: datetime) -> None:
        await conn.execute(
            update(objections)
            .where(objections.c.objection_id == objection_id)
            .values(withdrawn_at=at)
        )

    @staticmethod
    async def resident_objections(conn: AsyncConnection, resident: str) -> list[Objection]:
        rows = await conn.execute(
            select(
                objections.c.objection_id,
                objections.c.resident,
                objections.c.purpose,
                objections.c.recorded_at,
                objections.c.withdrawn_at,
            )
            .where(objections.c.resident == resident)
            .order_by(objections.c.recorded_at, objections.c.objection_id)
        )
        return [
            Objection(
                objection_id=r.objection_id,
                resident=r.resident,
                purpose=r.purpose,
                recorded_at=r.recorded_at,
                withdrawn_at=r.withdrawn_at,
            )
            for r in rows
        ]

    # --- grants (allowed shares) -------------------------------------------------------

    @staticmethod
    async def insert_grant(
        conn: AsyncConnection,
        *,
        decision_id: str,
        consent_id: str | None,
        resident: str,
        recipient: str,
        purpose: str,
        issued_at: datetime,
        decision_seq: int,
    ) -> None:
        await conn.execute(
            _INSERT_GRANT,
            {
                "decision_seq": decision_seq,
                "decision_id": decision_id,
                "consent_id": consent_id,
                "resident": resident,
                "recipient": recipient,
                "purpose": purpose,
                "issued_at": issued_at,
                "completed_at": None,
                "share_seq": None,
            },
        )

    @staticmethod
    async def grant_state(conn: AsyncConnection, decision_id: str) -> tuple[bool, int | None]:
        """(known, share_seq): whether the gate allowed this decision, and its share entry."""
        row = (
            await conn.execute(
                select(grants.c.share_seq).where(grants.c.decision_id == decision_id)
            )
        ).first()
        return (False, None) if row is None else (True, row[0])

    @staticmethod
    async def complete_grant(
        conn: AsyncConnection, decision_id: str, at: datetime, share_seq: int
    ) -> None:
        await conn.execute(
            update(grants)
            .where(grants.c.decision_id == decision_id)
            .values(completed_at=at, share_seq=share_seq)
        )

    @staticmethod
    async def grants_under_consent(conn: AsyncConnection, consent_id: str) -> list[str]:
        rows = await conn.execute(
            select(grants.c.decision_id)
            .where(grants.c.consent_id == consent_id)
            .order_by(grants.c.decision_seq)
        )
        return [r[0] for r in rows]

    # --- caseworker actions ----------------------------------------------------------

    @staticmethod
    async def caseworker_action(
        conn: AsyncConnection, action_id: str
    ) -> CaseworkerActionRow | None:
        row = (
            await conn.execute(
                select(
                    caseworker_actions.c.action_id,
                    caseworker_actions.c.caseworker,
                    caseworker_actions.c.action,
                    caseworker_actions.c.workflow_id,
                    caseworker_actions.c.task,
                    caseworker_actions.c.residents,
                    caseworker_actions.c.first_seq,
                ).where(caseworker_actions.c.action_id == action_id)
            )
        ).first()
        if row is None:
            return None
        return CaseworkerActionRow(
            row.action_id,
            row.caseworker,
            row.action,
            row.workflow_id,
            row.task,
            tuple(row.residents.split(",")),
            int(row.first_seq),
        )

    @staticmethod
    async def insert_caseworker_action(
        conn: AsyncConnection, row: CaseworkerActionRow, recorded_at: datetime
    ) -> None:
        await conn.execute(
            insert(caseworker_actions).values(
                action_id=row.action_id,
                caseworker=row.caseworker,
                action=row.action,
                workflow_id=row.workflow_id,
                task=row.task,
                residents=",".join(row.residents),
                recorded_at=recorded_at,
                first_seq=row.first_seq,
            )
        )

    # --- ledger reads -----------------------------------------------------------------

    @staticmethod
    async def resident_ledger(conn: AsyncConnection, resident: str) -> list[LedgerRow]:
        rows = await conn.execute(
            select(*LEDGER_COLUMNS).where(ledger.c.resident == resident).order_by(ledger.c.seq)
        )
        return [ledger_row(r) for r in rows]

    async def ledger_size(self) -> int:
        async with self.reading() as conn:
            count: int = await conn.scalar(select(func.count()).select_from(ledger)) or 0
            return count

    # --- outbox -----------------------------------------------------------------------

    @staticmethod
    async def outbox_add(
        conn: AsyncConnection,
        *,
        topic: str,
        key: str,
        value: str,
        headers: dict[str, str],
        at: datetime,
    ) -> None:
        await conn.execute(
            insert(outbox).values(
                topic=topic, key=key, value=value, headers=json.dumps(headers), created_at=at
            )
        )

    async def outbox_pending(self, limit: int = 100) -> list[tuple[int, str, str, str, str]]:
        async with self.reading() as conn:
            rows = await conn.execute(
                select(outbox.c.id, outbox.c.topic, outbox.c.key, outbox.c.value, outbox.c.headers)
                .where(outbox.c.published_at.is_(None))
                .order_by(outbox.c.id)
                .limit(limit)
            )
            return [(r[0], r[1], r[2], r[3], r[4]) for r in rows]

    async def outbox_done(self, ids: list[int], at: datetime) -> None:
        if not ids:
            return
        async with self.transaction() as conn:
            await conn.execute(update(outbox).where(outbox.c.id.in_(ids)).values(published_at=at))
