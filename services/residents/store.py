"""The resident index's own store: tables and data access, nothing else.

SQLite by default, PostgreSQL (asyncpg) from the same code. The store holds personal data
(it *is* the index: names, dates of birth, identifiers, contact details, addresses), so
nothing here logs, and no exception raised here carries a value.

Writers are serialised: every write transaction first bumps the single row of `index_lock`.
On PostgreSQL that takes a row lock held until commit; on SQLite it takes the database's
write lock before the transaction reads anything. Matching reads the candidates and may then
create a resident, so two processes matching the same new person at the same time must not
both see "nobody" and both create: with the lock, the second one reads after the first one
committed and matches the resident it made. In one process, an asyncio lock queues writers
before they reach the database (SQLite's busy handler would sleep in steps instead).
The unique constraint on identifiers is a second guard. Matching is a low-volume operation
(one per person named in a life event), so one writer at a time costs nothing that matters.

Every write made on behalf of a workflow step is journaled (`services.common.journal`) in its
own transaction, keyed on (workflow_id, step, kind: the subject), by `journaled_step`, so
that a withdrawn life event's records can be taken back exactly (`ResidentIndex.
undo_workflow`). Every table is journaled but the lock (its row changes on every write),
the journal itself and `resident_change_journal`, which orders a workflow's journaled
changes (the journal numbers the rows of one change only). The writes here keep to what the
journal can record exactly: single-row or executemany INSERTs, UPDATEs and DELETEs by key,
no upsert, no primary key updated, no foreign key acting by itself.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import (
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
    UniqueConstraint,
    and_,
    delete,
    exists,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.sql.expression import ColumnElement

from contracts.addresses import UkAddress
from contracts.events.common import EventReference
from contracts.people import ContactDetails, PersonName
from contracts.residents import Channel, Flag, LifeEventReport
from contracts.shares import ADULT_AGE, age_on
from services.common.database import Store
from services.common.journal import journal_table, journaling
from services.common.migrations import Migrations
from services.residents.matching import Candidate, name_key
from services.residents.sameness import Earlier

__all__ = [
    "ResidentStore",
    "StepKey",
    "address_key",
    "contacts",
    "flags",
    "identifiers",
    "index_lock",
    "journal",
    "journal_changes",
    "match_requests",
    "metadata",
    "names",
    "reports",
    "residences",
    "residents",
    "step_residents",
    "steps",
]

metadata = MetaData()

KEY = String(72)

residents = Table(
    "residents",
    metadata,
    Column("key", KEY, primary_key=True),
    Column("date_of_birth", Date, nullable=True),
    # Matching's namesakes born on a day (`ResidentStore.candidates_for`).
    Index("ix_residents_date_of_birth", "date_of_birth"),
)

# Every name a resident was matched under, as written and folded for comparison.
names = Table(
    "resident_names",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("resident", KEY, ForeignKey("residents.key"), nullable=False),
    Column("given_names", Text, nullable=True),
    Column("family_name", Text, nullable=True),
    Column("given_key", Text, nullable=False),
    Column("family_key", Text, nullable=False),
    UniqueConstraint("resident", "given_key", "family_key", name="uq_resident_names"),
    # Matching's full-name look-up (it replaced a family-name index: migration 0002).
    Index("ix_resident_names_full", "family_key", "given_key"),
)

# One value of a kind per resident, one resident per value: an identifier is never shared
# and never overwritten.
identifiers = Table(
    "resident_identifiers",
    metadata,
    Column("kind", String(8), nullable=False),
    Column("value", String(16), nullable=False),
    Column("resident", KEY, ForeignKey("residents.key"), nullable=False),
    PrimaryKeyConstraint("kind", "value", name="pk_resident_identifiers"),
    UniqueConstraint("resident", "kind", name="uq_resident_identifier_kind"),
)

contacts = Table(
    "resident_contacts",
    metadata,
    Column("resident", KEY, ForeignKey("residents.key"), primary_key=True),
    Column("email", String(320), nullable=True),
    Column("phone", String(32), nullable=True),
    Column("portal_account", Boolean, nullable=False, default=False),
    # The resident's own order, comma-separated; NULL: the default order (models).
    Column("channels", String(64), nullable=True),
)

flags = Table(
    "resident_flags",
    metadata,
    Column("resident", KEY, ForeignKey("residents.key"), nullable=False),
    Column("flag", String(32), nullable=False),
    Column("since", Date, nullable=True),
    Column("reason", String(64), nullable=True),
    Column("workflow_id", String(255), nullable=False),
    Column("step", String(100), nullable=False),
    PrimaryKeyConstraint("resident", "flag", name="pk_resident_flags"),
)

# The current address; all columns but `since` NULL when the resident moved away to an
# address not known. Household = living residents with the same UPRN, or the same postcode
# and folded lines.
residences = Table(
    "resident_residences",
    metadata,
    Column("resident", KEY, ForeignKey("residents.key"), primary_key=True),
    Column("lines", Text, nullable=True),
    Column("town", String(100), nullable=True),
    Column("postcode", String(8), nullable=True),
    Column("uprn", String(12), nullable=True),
    Column("lines_key", Text, nullable=True),
    Column("since", Date, nullable=True),
    Index("ix_resident_residences_uprn", "uprn"),
    Index("ix_resident_residences_postcode", "postcode", "lines_key"),
)

# Idempotency for workflow steps: the first result of (workflow_id, step, kind) is kept and
# returned again to a retry.
steps = Table(
    "resident_steps",
    metadata,
    Column("workflow_id", String(255), nullable=False),
    Column("step", String(100), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("result", Text, nullable=False),
    PrimaryKeyConstraint("workflow_id", "step", "kind", name="pk_resident_steps"),
)

# Which residents each workflow step was about, written in the step's own transaction: the
# workflows that involve a resident (a move waiting on their confirmation, a support flag,
# the birth whose workflow holds a child's reminders) without reading the JSON of
# `resident_steps`. `id` orders the rows as they were written (writers are serialised), so
# the oldest step comes first.
step_residents = Table(
    "resident_step_residents",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("workflow_id", String(255), nullable=False),
    Column("step", String(100), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("resident", KEY, ForeignKey("residents.key"), nullable=False),
    UniqueConstraint("workflow_id", "step", "kind", "resident", name="uq_resident_step_residents"),
    Index("ix_resident_step_residents_resident", "resident", "id"),
)

# Idempotency for matching: the results of one activity (workflow run + activity id), so a
# retry after a commit answers exactly what the first attempt decided.
match_requests = Table(
    "resident_match_requests",
    metadata,
    Column("request", String(400), primary_key=True),
    Column("results", Text, nullable=False),
)

# Each report of a life event (one per workflow, `residents.claim_report`): what the
# sameness rule compares (`sameness.py`), and the first report it was found to be the same
# as (its own workflow when it was the first). Whom it is about is in `step_residents`
# (kind `claim_report`), in the order reports were made.
reports = Table(
    "resident_reports",
    metadata,
    Column("workflow_id", String(255), primary_key=True),
    Column("kind", String(8), nullable=False),
    Column("event_source", String(256), nullable=False),
    Column("event_id", String(128), nullable=False),
    Column("on_date", Date, nullable=False),
    Column("new_address", Text, nullable=True),  # UkAddress as JSON
    Column("first_workflow", String(255), nullable=False),
    Column("withdrawn", Boolean, nullable=False, default=False),
)

index_lock = Table(
    "resident_index_lock",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("version", Integer, nullable=False),
)

# Before and after of every row a workflow step wrote (services.common.journal).
journal = journal_table(metadata, "resident")

# Each journaled change, in the order it committed (writers are serialised, so `id` is that
# order): a workflow's changes are undone newest first.
journal_changes = Table(
    "resident_change_journal",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("workflow_id", String(255), nullable=False),
    Column("step", String(100), nullable=False),
    Column("subject", String(72), nullable=False),
    UniqueConstraint("workflow_id", "step", "subject", name="uq_resident_change_journal"),
    Index("ix_resident_change_journal_workflow", "workflow_id", "id"),
)

# Not journaled: the lock row changes on every write (every undo would see it changed), and
# the journal does not journal itself.
_UNJOURNALED = frozenset({index_lock.name, journal.name, journal_changes.name})


@dataclass(frozen=True)
class StepKey:
    """What one journaled change is keyed on (`services.common.journal.JournalKey`): the
    workflow, its step, and the kind of write as the subject (`record_move`…; `kind#2` for
    a second change under the same workflow, step and kind, so that keys never repeat)."""

    workflow_id: str
    step: str
    subject: str


def _fold_line(value: str) -> str:
    return " ".join(value.casefold().split())


def address_key(address: UkAddress) -> str:
    """Address lines folded for comparison (postcode and UPRN are compared as they are)."""
    return "|".join(_fold_line(line) for line in address.lines)


def _living_at(address: UkAddress) -> ColumnElement[bool]:
    """A residence row at `address` (same UPRN, or same postcode and folded lines) whose
    resident is not deceased."""
    same = and_(
        residences.c.postcode == address.postcode,
        residences.c.lines_key == address_key(address),
    )
    if address.uprn is not None:
        same = or_(same, residences.c.uprn == address.uprn)
    dead = exists().where(flags.c.resident == residences.c.resident, flags.c.flag == "deceased")
    return and_(same, ~dead)


def _address_of(row: Any) -> UkAddress | None:
    if row.lines is None:
        return None
    return UkAddress(
        lines=tuple(json.loads(row.lines)), town=row.town, postcode=row.postcode, uprn=row.uprn
    )


def _address_values(address: UkAddress | None) -> dict[str, Any]:
    if address is None:
        return {"lines": None, "town": None, "postcode": None, "uprn": None, "lines_key": None}
    return {
        "lines": json.dumps(list(address.lines), ensure_ascii=False),
        "town": address.town,
        "postcode": address.postcode,
        "uprn": address.uprn,
        "lines_key": address_key(address),
    }


class ResidentStore(Store):
    """Data access for residents, names, identifiers, contacts, flags and residences."""

    metadata = metadata
    migrations = Migrations.beside(__file__, "residents", metadata)

    def __init__(self, engine: AsyncEngine) -> None:
        super().__init__(engine)
        self._write_lock = asyncio.Lock()

    async def prepare(self, conn: AsyncConnection) -> None:
        """The lock row."""
        if await conn.scalar(select(index_lock.c.id).where(index_lock.c.id == 1)) is None:
            await conn.execute(insert(index_lock).values(id=1, version=0))

    @asynccontextmanager
    async def writing(self) -> AsyncIterator[AsyncConnection]:
        """One write transaction, serialised with every other writer (see module doc)."""
        async with self._write_lock, self.engine.begin() as conn:
            await conn.execute(
                update(index_lock)
                .where(index_lock.c.id == 1)
                .values(version=index_lock.c.version + 1)
            )
            yield conn

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[AsyncConnection]:
        async with self.engine.connect() as conn:
            yield conn

    # --- the journal --------------------------------------------------------------------

    @property
    def journaled(self) -> tuple[Table, ...]:
        """The tables a workflow's step may write, all journaled."""
        return tuple(t for t in metadata.sorted_tables if t.name not in _UNJOURNALED)

    @asynccontextmanager
    async def journaled_step(
        self, conn: AsyncConnection, workflow_id: str, step: str, kind: str
    ) -> AsyncIterator[None]:
        """Journal every write the block makes through `conn` (inside `writing()`) as one
        change of `workflow_id`'s `step`, keyed with `kind` as the subject; a change that
        wrote nothing leaves no trace. The key is new even when the same step is written
        twice (a repeat after an undo, a second workflow run reusing an activity ID): the
        journal's keys never repeat."""
        known = set(
            await conn.scalars(
                select(journal_changes.c.subject).where(
                    journal_changes.c.workflow_id == workflow_id, journal_changes.c.step == step
                )
            )
        )
        subject, number = kind, 1
        while subject in known:
            number += 1
            subject = f"{kind}#{number}"
        key = StepKey(workflow_id, step, subject)
        async with journaling(conn, journal, key, self.journaled):
            yield
        wrote = await conn.scalar(
            select(journal.c.seq)
            .where(
                journal.c.workflow_id == key.workflow_id,
                journal.c.step == key.step,
                journal.c.subject == key.subject,
            )
            .limit(1)
        )
        if wrote is not None:
            await conn.execute(
                insert(journal_changes).values(workflow_id=workflow_id, step=step, subject=subject)
            )

    @staticmethod
    async def journaled_changes(conn: AsyncConnection, workflow_id: str) -> list[StepKey]:
        """The workflow's journaled changes, newest first."""
        rows = await conn.execute(
            select(journal_changes.c.step, journal_changes.c.subject)
            .where(journal_changes.c.workflow_id == workflow_id)
            .order_by(journal_changes.c.id.desc())
        )
        return [StepKey(workflow_id, step, subject) for step, subject in rows]

    @staticmethod
    async def journaled_tables(conn: AsyncConnection, workflow_id: str) -> list[str]:
        """The tables the workflow's journaled changes wrote, by name."""
        rows = await conn.scalars(
            select(journal.c.table_name)
            .where(journal.c.workflow_id == workflow_id)
            .distinct()
            .order_by(journal.c.table_name)
        )
        return list(rows)

    @staticmethod
    async def undone_already(conn: AsyncConnection, key: StepKey) -> bool:
        found = await conn.scalar(
            select(journal.c.undone)
            .where(
                journal.c.workflow_id == key.workflow_id,
                journal.c.step == key.step,
                journal.c.subject == key.subject,
            )
            .order_by(journal.c.seq)
            .limit(1)
        )
        return bool(found)

    async def referred_to_since(self, conn: AsyncConnection, keys: Sequence[StepKey]) -> list[str]:
        """The tables holding a row, not written by the changes `keys` (newest first), that
        refers by foreign key to a row undoing them would remove (a resident the workflow
        created, whom a later workflow's step is about): undoing them would break it, so
        those tables have changed since as much as a row the changes wrote.

        Rows are compared by primary key as the journal writes it (canonical JSON), which
        for this store's keys (integers and strings) is the value itself."""
        if not keys:
            return []
        entries = (
            await conn.execute(
                select(
                    journal.c.workflow_id,
                    journal.c.step,
                    journal.c.subject,
                    journal.c.table_name,
                    journal.c.row_key,
                    journal.c.before,
                    journal.c.after,
                ).where(
                    journal.c.workflow_id == keys[0].workflow_id,
                    journal.c.step.in_(sorted({k.step for k in keys})),
                    ~journal.c.undone,
                )
            )
        ).all()
        order = {(k.step, k.subject): n for n, k in enumerate(keys)}  # 0: the newest
        written: dict[tuple[str, str], list[tuple[int, str | None, str | None]]] = {}
        for entry in entries:
            rank = order.get((entry.step, entry.subject))
            if rank is not None:
                row = (entry.table_name, entry.row_key)
                written.setdefault(row, []).append((rank, entry.before, entry.after))
        # A row goes when the oldest change that wrote it made it (before-image None); its
        # values, to find what refers to it, are in any after-image.
        removed: dict[str, list[dict[str, Any]]] = {}
        for (table_name, _), changes in written.items():
            changes.sort(key=lambda change: change[0], reverse=True)
            after = next((a for _, _, a in changes if a is not None), None)
            if changes[0][1] is None and after is not None:
                removed.setdefault(table_name, []).append(json.loads(after))
        ours = set(written)
        found: list[str] = []
        for child in self.journaled:
            for foreign in child.foreign_keys:
                parent = foreign.column.table.name
                values = {image[foreign.column.name] for image in removed.get(parent, ())}
                if not values or child.name in found:
                    continue
                primary = list(child.primary_key.columns)
                rows = await conn.execute(
                    select(*primary).where(foreign.parent.in_(sorted(values)))
                )
                for found_row in rows:
                    row_key = json.dumps(
                        {c.name: v for c, v in zip(primary, found_row, strict=True)},
                        sort_keys=True,
                        separators=(",", ":"),
                    )
                    if (child.name, row_key) not in ours:
                        found.append(child.name)
                        break
        return found

    # --- residents, names, identifiers ------------------------------------------------

    @staticmethod
    async def exists(conn: AsyncConnection, key: str) -> bool:
        return await conn.scalar(select(residents.c.key).where(residents.c.key == key)) is not None

    @staticmethod
    async def count(conn: AsyncConnection) -> int:
        return int(await conn.scalar(select(func.count()).select_from(residents)) or 0)

    @staticmethod
    async def insert_resident(conn: AsyncConnection, key: str, date_of_birth: date | None) -> None:
        await conn.execute(insert(residents).values(key=key, date_of_birth=date_of_birth))

    @staticmethod
    async def set_date_of_birth_if_unknown(
        conn: AsyncConnection, key: str, date_of_birth: date
    ) -> None:
        await conn.execute(
            update(residents)
            .where(residents.c.key == key, residents.c.date_of_birth.is_(None))
            .values(date_of_birth=date_of_birth)
        )

    @staticmethod
    async def add_name(conn: AsyncConnection, key: str, name: PersonName) -> None:
        given_key, family_key = name_key(name)
        known = await conn.scalar(
            select(names.c.id).where(
                names.c.resident == key,
                names.c.given_key == given_key,
                names.c.family_key == family_key,
            )
        )
        if known is None:
            await conn.execute(
                insert(names).values(
                    resident=key,
                    given_names=name.given_names,
                    family_name=name.family_name,
                    given_key=given_key,
                    family_key=family_key,
                )
            )

    @staticmethod
    async def identifiers_of(conn: AsyncConnection, key: str) -> dict[str, str]:
        rows = await conn.execute(
            select(identifiers.c.kind, identifiers.c.value).where(identifiers.c.resident == key)
        )
        return {kind: value for kind, value in rows}

    @staticmethod
    async def holder_of(conn: AsyncConnection, kind: str, value: str) -> str | None:
        holder: str | None = await conn.scalar(
            select(identifiers.c.resident).where(
                identifiers.c.kind == kind, identifiers.c.value == value
            )
        )
        return holder

    @staticmethod
    async def add_identifier(conn: AsyncConnection, key: str, kind: str, value: str) -> None:
        await conn.execute(insert(identifiers).values(kind=kind, value=value, resident=key))

    @staticmethod
    async def candidates_for(
        conn: AsyncConnection,
        given: dict[str, str],
        name: tuple[str, str],
        date_of_birth: date | None,
    ) -> list[Candidate]:
        """The residents who can change what the matching rule decides about a person with
        the identifiers `given`, the folded `name` (given names, family name: `name_key`)
        and `date_of_birth`, sorted by key:

        - those holding one of `given` (rule 1);
        - with no date of birth: those with the same full name (rule 3);
        - with one: those born that day with the same family name (rule 2, and rule 3's
          partial name match), and those with the same full name whose date of birth is
          not known (rule 3).

        Nobody else can: a namesake born on another day is neither rule 2's nor rule 3's
        (`matching.decide`). So a look-up costs what these few cost, however common the
        family name, not one row per namesake."""
        given_key, family_key = name
        keys: set[str] = set()
        wanted = [
            and_(identifiers.c.kind == kind, identifiers.c.value == value)
            for kind, value in given.items()
        ]
        if wanted:
            keys.update(await conn.scalars(select(identifiers.c.resident).where(or_(*wanted))))
        full_name = select(names.c.resident).where(
            names.c.family_key == family_key, names.c.given_key == given_key
        )
        if date_of_birth is None:
            keys.update(await conn.scalars(full_name))
            return await ResidentStore._candidates(conn, sorted(keys))
        keys.update(
            await conn.scalars(
                full_name.join(residents, residents.c.key == names.c.resident).where(
                    residents.c.date_of_birth.is_(None)
                )
            )
        )
        # Those born that day are found by the date alone (an index search that does not
        # depend on the family name) and kept when one of their names has the family name:
        # filtering by family in SQL could lead the planner to visit every namesake.
        born = set(
            await conn.scalars(
                select(residents.c.key).where(residents.c.date_of_birth == date_of_birth)
            )
        )
        found = await ResidentStore._candidates(conn, sorted(keys | born))
        return [
            c for c in found if c.key in keys or any(family == family_key for _, family in c.names)
        ]

    @staticmethod
    async def _candidates(conn: AsyncConnection, keys: Sequence[str]) -> list[Candidate]:
        if not keys:
            return []
        births: dict[str, date | None] = {
            key: born
            for key, born in await conn.execute(
                select(residents.c.key, residents.c.date_of_birth).where(residents.c.key.in_(keys))
            )
        }
        held: dict[str, dict[str, str]] = {key: {} for key in keys}
        for resident, kind, value in await conn.execute(
            select(identifiers.c.resident, identifiers.c.kind, identifiers.c.value).where(
                identifiers.c.resident.in_(keys)
            )
        ):
            held[resident][kind] = value
        known: dict[str, set[tuple[str, str]]] = {key: set() for key in keys}
        for resident, given_key, family_key in await conn.execute(
            select(names.c.resident, names.c.given_key, names.c.family_key).where(
                names.c.resident.in_(keys)
            )
        ):
            known[resident].add((given_key, family_key))
        return [Candidate(key, births.get(key), held[key], frozenset(known[key])) for key in keys]

    # --- contact and preferences -----------------------------------------------------

    @staticmethod
    async def contact_row(conn: AsyncConnection, key: str) -> Any:
        return (await conn.execute(select(contacts).where(contacts.c.resident == key))).first()

    @staticmethod
    async def add_contact_if_unknown(
        conn: AsyncConnection, key: str, contact: ContactDetails | None
    ) -> None:
        """Fill in e-mail or phone where none is known; a known value is never replaced."""
        row = await ResidentStore.contact_row(conn, key)
        email = contact.email if contact is not None else None
        phone = contact.phone if contact is not None else None
        if row is None:
            await conn.execute(
                insert(contacts).values(
                    resident=key, email=email, phone=phone, portal_account=False, channels=None
                )
            )
            return
        values: dict[str, Any] = {}
        if row.email is None and email is not None:
            values["email"] = email
        if row.phone is None and phone is not None:
            values["phone"] = phone
        if values:
            await conn.execute(update(contacts).where(contacts.c.resident == key).values(**values))

    @staticmethod
    async def living_with_email(conn: AsyncConnection, email: str) -> list[str]:
        """The living residents whose e-mail address is exactly `email` (as stored: the
        contract's normalised form), sorted by key. For signing in: several is no one."""
        return await ResidentStore._living_with(conn, contacts.c.email, email)

    @staticmethod
    async def living_with_phone(conn: AsyncConnection, phone: str) -> list[str]:
        """As `living_with_email`, by phone number (stored in E.164)."""
        return await ResidentStore._living_with(conn, contacts.c.phone, phone)

    @staticmethod
    async def _living_with(conn: AsyncConnection, column: Any, value: str) -> list[str]:
        dead = exists().where(flags.c.resident == contacts.c.resident, flags.c.flag == "deceased")
        rows = await conn.scalars(
            select(contacts.c.resident).where(column == value, ~dead).order_by(contacts.c.resident)
        )
        return list(rows)

    @staticmethod
    async def set_preferences(
        conn: AsyncConnection,
        key: str,
        channels: Sequence[Channel] | None,
        portal_account: bool | None,
    ) -> None:
        values: dict[str, Any] = {"channels": ",".join(channels) if channels else None}
        if portal_account is not None:
            values["portal_account"] = portal_account
        await conn.execute(update(contacts).where(contacts.c.resident == key).values(**values))

    # --- flags -----------------------------------------------------------------------

    @staticmethod
    async def flags_of(conn: AsyncConnection, key: str) -> list[Flag]:
        present = set(await conn.scalars(select(flags.c.flag).where(flags.c.resident == key)))
        found: list[Flag] = [flag for flag in ("deceased", "may_need_support") if flag in present]
        return found

    @staticmethod
    async def set_flag(
        conn: AsyncConnection,
        key: str,
        flag: Flag,
        *,
        since: date | None,
        reason: str | None,
        workflow_id: str,
        step: str,
    ) -> bool:
        """Set `flag` unless it is set already (the first setting is kept). True if set now."""
        present = await conn.scalar(
            select(flags.c.flag).where(flags.c.resident == key, flags.c.flag == flag)
        )
        if present is not None:
            return False
        await conn.execute(
            insert(flags).values(
                resident=key,
                flag=flag,
                since=since,
                reason=reason,
                workflow_id=workflow_id,
                step=step,
            )
        )
        return True

    # --- residences and households -----------------------------------------------------

    @staticmethod
    async def residence_row(conn: AsyncConnection, key: str) -> Any:
        return (await conn.execute(select(residences).where(residences.c.resident == key))).first()

    @staticmethod
    async def address_of(conn: AsyncConnection, key: str) -> UkAddress | None:
        row = await ResidentStore.residence_row(conn, key)
        return None if row is None else _address_of(row)

    @staticmethod
    async def set_residence(
        conn: AsyncConnection, key: str, address: UkAddress | None, since: date | None
    ) -> None:
        await conn.execute(delete(residences).where(residences.c.resident == key))
        await conn.execute(
            insert(residences).values(resident=key, since=since, **_address_values(address))
        )

    @staticmethod
    async def living_at(conn: AsyncConnection, address: UkAddress) -> list[str]:
        """Keys of the living residents whose current address is `address`, sorted."""
        rows = await conn.scalars(
            select(residences.c.resident).where(_living_at(address)).order_by(residences.c.resident)
        )
        return list(rows)

    @staticmethod
    async def survivors_at(conn: AsyncConnection, address: UkAddress, deceased: str) -> list[Any]:
        """The living residents at `address` but `deceased`, sorted by key, one row each:
        `resident`, `date_of_birth`, the first name the index recorded for them
        (`given_names`, `family_name`; both NULL if it has none) and `may_need_support`."""
        named = names.alias("named")
        first_name = (
            select(func.min(named.c.id)).where(named.c.resident == residences.c.resident)
        ).scalar_subquery()
        support = (
            exists()
            .where(flags.c.resident == residences.c.resident, flags.c.flag == "may_need_support")
            .label("may_need_support")
        )
        rows = await conn.execute(
            select(
                residences.c.resident,
                residents.c.date_of_birth,
                names.c.given_names,
                names.c.family_name,
                support,
            )
            .join(residents, residents.c.key == residences.c.resident)
            .outerjoin(names, names.c.id == first_name)
            .where(_living_at(address), residences.c.resident != deceased)
            .order_by(residences.c.resident)
        )
        return list(rows)

    @staticmethod
    async def adults_among(conn: AsyncConnection, keys: Sequence[str], on: date) -> int:
        """How many of `keys` are adults (18+) on `on`; an unknown date of birth counts as an
        adult, so no discount is ever given on a guess."""
        if not keys:
            return 0
        born = await conn.scalars(
            select(residents.c.date_of_birth).where(residents.c.key.in_(keys))
        )
        return sum(b is None or age_on(b, on) >= ADULT_AGE for b in born)

    # --- idempotency -------------------------------------------------------------------

    @staticmethod
    async def step_result(
        conn: AsyncConnection, workflow_id: str, step: str, kind: str
    ) -> str | None:
        result: str | None = await conn.scalar(
            select(steps.c.result).where(
                steps.c.workflow_id == workflow_id, steps.c.step == step, steps.c.kind == kind
            )
        )
        return result

    @staticmethod
    async def record_step(
        conn: AsyncConnection, workflow_id: str, step: str, kind: str, result: str
    ) -> None:
        await conn.execute(
            insert(steps).values(workflow_id=workflow_id, step=step, kind=kind, result=result)
        )

    @staticmethod
    async def record_step_residents(
        conn: AsyncConnection, workflow_id: str, step: str, kind: str, keys: Sequence[str]
    ) -> None:
        """Note that this step of `workflow_id` was about `keys` (each once, however often
        the step is repeated)."""
        wanted = list(dict.fromkeys(keys))
        if not wanted:
            return
        known = set(
            await conn.scalars(
                select(step_residents.c.resident).where(
                    step_residents.c.workflow_id == workflow_id,
                    step_residents.c.step == step,
                    step_residents.c.kind == kind,
                    step_residents.c.resident.in_(wanted),
                )
            )
        )
        rows = [
            {"workflow_id": workflow_id, "step": step, "kind": kind, "resident": key}
            for key in wanted
            if key not in known
        ]
        if rows:
            await conn.execute(insert(step_residents), rows)

    @staticmethod
    async def workflows_about(conn: AsyncConnection, key: str, excluding: str) -> list[str]:
        """The workflows but `excluding` that recorded a step about `key`, oldest first."""
        first = func.min(step_residents.c.id)
        rows = await conn.scalars(
            select(step_residents.c.workflow_id)
            .where(step_residents.c.resident == key, step_residents.c.workflow_id != excluding)
            .group_by(step_residents.c.workflow_id)
            .order_by(first)
        )
        return list(rows)

    @staticmethod
    async def first_workflows(conn: AsyncConnection, keys: Sequence[str], kind: str) -> list[str]:
        """For each of `keys`, the workflow whose `kind` step about it was recorded first;
        each workflow once, in the order those steps were recorded. Keys no such step was
        about (or no resident has) add nothing."""
        wanted = list(dict.fromkeys(keys))
        if not wanted:
            return []
        first = (
            select(func.min(step_residents.c.id))
            .where(step_residents.c.kind == kind, step_residents.c.resident.in_(wanted))
            .group_by(step_residents.c.resident)
        )
        rows = await conn.scalars(
            select(step_residents.c.workflow_id)
            .where(step_residents.c.id.in_(first))
            .order_by(step_residents.c.id)
        )
        return list(dict.fromkeys(rows))

    # --- reports of life events ---------------------------------------------------------

    @staticmethod
    async def record_report(
        conn: AsyncConnection, report: LifeEventReport, first_workflow: str
    ) -> None:
        await conn.execute(
            insert(reports).values(
                workflow_id=report.workflow_id,
                kind=report.kind,
                event_source=report.event.source,
                event_id=report.event.id,
                on_date=report.on,
                new_address=None
                if report.new_address is None
                else report.new_address.model_dump_json(),
                first_workflow=first_workflow,
                withdrawn=False,
            )
        )

    @staticmethod
    async def first_reports(conn: AsyncConnection, kind: str, keys: Sequence[str]) -> list[Earlier]:
        """The first reports of `kind` (not merged into another, not withdrawn) about any
        of `keys`, oldest first, each with every resident it is about."""
        about = (
            select(step_residents.c.workflow_id)
            .where(step_residents.c.kind == "claim_report", step_residents.c.resident.in_(keys))
            .scalar_subquery()
        )
        rows = (
            await conn.execute(
                select(reports, step_residents.c.resident, step_residents.c.id)
                .join(step_residents, step_residents.c.workflow_id == reports.c.workflow_id)
                .where(
                    step_residents.c.kind == "claim_report",
                    reports.c.kind == kind,
                    reports.c.first_workflow == reports.c.workflow_id,
                    ~reports.c.withdrawn,
                    reports.c.workflow_id.in_(about),
                )
                .order_by(step_residents.c.id)
            )
        ).all()
        found: dict[str, Earlier] = {}
        for row in rows:
            seen = found.get(row.workflow_id)
            if seen is not None:
                found[row.workflow_id] = Earlier(
                    seen.workflow_id,
                    seen.event,
                    (*seen.residents, row.resident),
                    seen.on,
                    seen.new_address,
                )
                continue
            found[row.workflow_id] = Earlier(
                workflow_id=row.workflow_id,
                event=EventReference(source=row.event_source, id=row.event_id),
                residents=(row.resident,),
                on=row.on_date,
                new_address=None
                if row.new_address is None
                else UkAddress.model_validate_json(row.new_address),
            )
        return list(found.values())

    @staticmethod
    async def match_request(conn: AsyncConnection, request: str) -> str | None:
        results: str | None = await conn.scalar(
            select(match_requests.c.results).where(match_requests.c.request == request)
        )
        return results

    @staticmethod
    async def record_match_request(conn: AsyncConnection, request: str, results: str) -> None:
        await conn.execute(insert(match_requests).values(request=request, results=results))

    @staticmethod
    async def keys(conn: AsyncConnection) -> list[str]:
        return list(await conn.scalars(select(residents.c.key).order_by(residents.c.key)))
