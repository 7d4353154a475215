"""An exact undo journal for a store's changes: what every row a change wrote was before it
and became after it, so that the change can later be taken back whole.

A store keeps one journal table (`journal_table(metadata, prefix)`, named
`<prefix>_journal`). While a change runs inside `journaling(conn, journal, key, tables)`,
every INSERT, UPDATE and DELETE it executes on `conn` against one of `tables` is seen by
connection events on `conn.sync_connection`, so the code that writes needs no change:

- an UPDATE or DELETE: the rows its WHERE clause matches are read just before it runs (the
  before-images), locked (`FOR UPDATE` where the database has it);
- an INSERT: the keys it made are read from its result (an executemany INSERT is made to
  return them, as SQLAlchemy's `return_defaults()` does), and the rows did not exist before.

Only a row's first before-image in the change is kept; its after-image is read once, when
the change ends (the last state); a row the change left as it found it is not journaled.
The entries are written in the change's own transaction, one per journaled row, numbered
(`seq`) in the order the change first touched them; a change that wrote nothing has none.
`row_key`, `before` and `after` are JSON objects of column name to value, encoded by the
column's type (dates and datetimes ISO 8601, an aware datetime keeping its offset;
decimals as strings; bytes as base64); `before` NULL: the row did not exist; `after` NULL:
the row was deleted.

`undo(conn, journal, key, tables)` restores every journaled row to its before-image, in
reverse order, all or nothing: when any journaled row is no longer exactly its after-image
(something changed it since), nothing is restored and the tables are named in
`Undone.conflicts`. A change undone already is not undone again (`Undone.already_undone`);
a change with no entries has nothing to undo (`restored` 0) — which is also what a change
made before the store kept a journal looks like: the journal cannot tell them apart.

What cannot be journaled exactly is refused, `UnjournaledStatement`, which rolls the change
back rather than let it write what could not be undone: textual SQL other than a SELECT,
DDL, INSERT … SELECT, a multi-row VALUES insert, an upsert (ON CONFLICT), a prefixed
statement (INSERT OR REPLACE), an UPDATE of a primary key, an UPDATE or DELETE of a table a
foreign key acts on by itself (ON DELETE/UPDATE CASCADE or SET NULL), a DML target that is
not a table, and a column whose type has no exact encoding here. Writes the database makes
by itself (triggers) are not seen.

Row images hold whatever the store holds, personal data included, so they stay in the
store; nothing here logs, and no exception message carries a value, only table and column
names and codes.
"""

from __future__ import annotations

import base64
import enum
import json
import uuid
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, Protocol

from sqlalchemy import (
    Boolean,
    Column,
    ColumnElement,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    Row,
    String,
    Table,
    Text,
    and_,
    delete,
    event,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy import types as sqltypes
from sqlalchemy.engine import Connection, CursorResult
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql import visitors
from sqlalchemy.sql.ddl import ExecutableDDLElement
from sqlalchemy.sql.dml import Delete, Insert, Update, UpdateBase
from sqlalchemy.sql.elements import BindParameter, TextClause

__all__ = [
    "JournalError",
    "JournalKey",
    "Undone",
    "UnjournaledStatement",
    "journal_table",
    "journaling",
    "undo",
]

# Rows read per statement when looking rows up by key: far below any bound-parameter limit.
_CHUNK = 100


class JournalError(Exception):
    """The journal cannot do what was asked. The message is a code, with table and column
    names at most: never a value."""


class UnjournaledStatement(JournalError):
    """A change executed a statement whose effect could not be journaled exactly."""


class JournalKey(Protocol):
    """What a change is keyed on (`services.common.council.ActionKey` is one)."""

    @property
    def workflow_id(self) -> str: ...

    @property
    def step(self) -> str: ...

    @property
    def subject(self) -> str: ...


@dataclass(frozen=True)
class Undone:
    """What `undo` did: `restored` rows put back; or, when `conflicts` names tables whose
    journaled rows changed since, nothing at all; or nothing because `already_undone`."""

    restored: int
    conflicts: tuple[str, ...] = ()
    already_undone: bool = False


def journal_table(metadata: MetaData, prefix: str) -> Table:
    """Each store's journal of the rows its changes wrote (see the module doc)."""
    return Table(
        f"{prefix}_journal",
        metadata,
        Column("workflow_id", String(255), nullable=False),
        Column("step", String(100), nullable=False),
        Column("subject", String(72), nullable=False),
        Column("seq", Integer, nullable=False, autoincrement=False),
        Column("table_name", String(128), nullable=False),
        Column("row_key", Text, nullable=False),
        Column("before", Text, nullable=True),
        Column("after", Text, nullable=True),
        Column("undone", Boolean, nullable=False, default=False),
        PrimaryKeyConstraint("workflow_id", "step", "subject", "seq", name=f"pk_{prefix}_journal"),
    )


# --- values as JSON, by the column's type ----------------------------------------------------


@dataclass(frozen=True)
class _Codec:
    accepts: tuple[type, ...]
    encode: Callable[[Any], Any]
    decode: Callable[[Any], Any]


def _same(value: Any) -> Any:
    return value


def _codec(column: Column[Any]) -> _Codec:
    kind = column.type
    # Subclasses before their bases: Float is a Numeric, Enum a String, Interval a
    # TypeDecorator (the only one whose Python values are known here).
    if isinstance(kind, sqltypes.Boolean):
        return _Codec((bool,), bool, bool)
    if isinstance(kind, sqltypes.Integer):
        return _Codec((int,), int, int)
    if isinstance(kind, sqltypes.Numeric):
        if kind.asdecimal:
            return _Codec((Decimal,), str, Decimal)
        # repr() of a float, which JSON uses, reads back as the same float.
        return _Codec((float, int), float, float)
    if isinstance(kind, sqltypes.DateTime):
        return _Codec((datetime,), datetime.isoformat, datetime.fromisoformat)
    if isinstance(kind, sqltypes.Date):
        return _Codec((date,), date.isoformat, date.fromisoformat)
    if isinstance(kind, sqltypes.Time):
        return _Codec((time,), time.isoformat, time.fromisoformat)
    if isinstance(kind, sqltypes.Interval):
        return _Codec(
            (timedelta,),
            lambda d: [d.days, d.seconds, d.microseconds],
            lambda v: timedelta(days=v[0], seconds=v[1], microseconds=v[2]),
        )
    if isinstance(kind, sqltypes.LargeBinary):
        return _Codec(
            (bytes, bytearray, memoryview),
            lambda b: base64.b64encode(bytes(b)).decode("ascii"),
            base64.b64decode,
        )
    if isinstance(kind, sqltypes.JSON):
        return _Codec((object,), _same, _same)
    if isinstance(kind, sqltypes.Uuid):
        if kind.as_uuid:
            return _Codec((uuid.UUID,), str, uuid.UUID)
        return _Codec((str,), str, str)
    if isinstance(kind, sqltypes.Enum):
        members = kind.enum_class
        if members is not None:
            return _Codec((enum.Enum,), lambda m: m.name, lambda name: members[name])
        return _Codec((str,), str, str)
    if isinstance(kind, sqltypes.String):
        return _Codec((str,), str, str)
    raise JournalError(f"unsupported_column_type:{column.table.name}.{column.name}")


Image = dict[str, Any]


def _image(table: Table, row: Row[Any]) -> Image:
    """A row as JSON-ready values, by column name."""
    values = row._mapping
    found: Image = {}
    for column in table.columns:
        value = values[column]
        if value is None:
            found[column.name] = None
            continue
        codec = _codec(column)
        if not isinstance(value, codec.accepts):
            # SQLite stores what it is given: a value of another type would not read back
            # as itself.
            raise JournalError(f"unexpected_value_type:{table.name}.{column.name}")
        found[column.name] = codec.encode(value)
    return found


def _decoded(table: Table, image: Mapping[str, Any]) -> dict[Column[Any], Any]:
    columns = {column.name: column for column in table.columns}
    values: dict[Column[Any], Any] = {}
    for name, value in image.items():
        column = columns.get(name)
        if column is None:
            raise JournalError(f"journaled_column_missing:{table.name}")
        values[column] = None if value is None else _codec(column).decode(value)
    return values


def _dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def _loads(text: str | None) -> Any:
    return None if text is None else json.loads(text)


def _primary_key(table: Table) -> list[Column[Any]]:
    columns = list(table.primary_key.columns)
    if not columns:
        raise JournalError(f"no_primary_key:{table.name}")
    return columns


def _key_of(table: Table, image: Image) -> Image:
    return {column.name: image[column.name] for column in _primary_key(table)}


def _key_where(table: Table, key: Image) -> ColumnElement[bool]:
    return and_(*(column == value for column, value in _decoded(table, key).items()))


def _read(
    conn: Connection, table: Table, keys: Sequence[Image], *, lock: bool = False
) -> dict[str, Image]:
    """The rows of `table` with these keys as they are now, by their key's JSON."""
    found: dict[str, Image] = {}
    for start in range(0, len(keys), _CHUNK):
        chunk = keys[start : start + _CHUNK]
        query = select(table).where(or_(*(_key_where(table, key) for key in chunk)))
        if lock:
            query = query.with_for_update(of=table)
        for row in conn.execute(query):
            image = _image(table, row)
            found[_dumps(_key_of(table, image))] = image
    return found


# --- recording a change ----------------------------------------------------------------------


@dataclass
class _Touched:
    table: Table
    key: Image
    before: Image | None


def _acted_on(tables: Iterable[Table], action: str) -> set[str]:
    """Tables a foreign key changes by itself on `action` ("delete" or "update") of their
    rows: what the database did there would not be journaled."""
    acted: set[str] = set()
    for table in tables:
        for foreign in table.foreign_keys:
            rule = foreign.ondelete if action == "delete" else foreign.onupdate
            if rule is not None and rule.upper() not in ("NO ACTION", "RESTRICT"):
                acted.add(foreign.column.table.fullname)
    return acted


def _reads_only(sql: str) -> bool:
    words = sql.lstrip(" \t\r\n(").split(None, 1)
    return bool(words) and words[0].lower() == "select"


class _Recorder:
    """Sees every statement a change executes (connection events) and keeps the first
    before-image of each row the change writes."""

    def __init__(self, tables: Iterable[Table]) -> None:
        self.tables = {table.fullname: table for table in tables}
        for table in self.tables.values():
            _primary_key(table)
            for column in table.columns:
                _codec(column)  # an unsupported type fails every change, not just some
        self.on_delete = _acted_on(self.tables.values(), "delete")
        self.on_update = _acted_on(self.tables.values(), "update")
        self.touched: dict[tuple[str, str], _Touched] = {}

    def _target(self, statement: UpdateBase) -> Table | None:
        target = statement.table
        if not isinstance(target, Table):
            raise UnjournaledStatement("dml_target_not_a_table")
        return self.tables.get(target.fullname)

    def before_execute(
        self,
        conn: Connection,
        statement: Any,
        multiparams: list[dict[str, Any]],
        params: dict[str, Any],
        _options: Mapping[str, Any],
    ) -> tuple[Any, list[dict[str, Any]], dict[str, Any]]:
        if isinstance(statement, UpdateBase):
            table = self._target(statement)
            if table is not None:
                parameter_sets = multiparams or [params]
                if statement._prefixes:
                    raise UnjournaledStatement(f"prefixed_statement:{table.name}")
                if isinstance(statement, Insert):
                    statement = self._insert(statement, table, parameter_sets)
                elif isinstance(statement, Update | Delete):
                    self._before_images(conn, statement, table, parameter_sets)
        elif isinstance(statement, str | TextClause):
            sql = statement if isinstance(statement, str) else statement.text
            if not _reads_only(sql):
                raise UnjournaledStatement("textual_sql")
        elif isinstance(statement, ExecutableDDLElement):
            raise UnjournaledStatement("ddl")
        return statement, multiparams, params

    def _insert(
        self, statement: Insert, table: Table, parameter_sets: list[dict[str, Any]]
    ) -> Insert:
        if statement.select is not None:
            raise UnjournaledStatement(f"insert_from_select:{table.name}")
        if statement._multi_values:
            raise UnjournaledStatement(f"multi_values_insert:{table.name}")
        if getattr(statement, "_post_values_clause", None) is not None:
            raise UnjournaledStatement(f"upsert:{table.name}")
        if len(parameter_sets) > 1 and not statement._return_defaults and not statement._returning:
            # An executemany INSERT reports no generated keys unless asked to return them;
            # return_defaults() does so without changing the rows the caller sees.
            return statement.return_defaults()
        return statement

    def _before_images(
        self,
        conn: Connection,
        statement: Update | Delete,
        table: Table,
        parameter_sets: list[dict[str, Any]],
    ) -> None:
        if isinstance(statement, Delete) and table.fullname in self.on_delete:
            raise UnjournaledStatement(f"cascading_foreign_key:{table.name}")
        if isinstance(statement, Update):
            if table.fullname in self.on_update:
                raise UnjournaledStatement(f"cascading_foreign_key:{table.name}")
            if _sets_primary_key(statement, table, parameter_sets):
                raise UnjournaledStatement(f"primary_key_update:{table.name}")
        where = statement.whereclause
        query = select(table)
        names: set[str] = set()
        if where is not None:
            query = query.where(where)
            names = {b.key for b in visitors.iterate(where) if isinstance(b, BindParameter)}
        # Locked, so that what was read is what the statement changes.
        query = query.with_for_update(of=table)
        # The WHERE clause may take its values from the statement's parameters (an
        # executemany UPDATE); without such values one read covers every parameter set.
        reads: list[dict[str, Any]] = []
        for parameters in parameter_sets:
            bound = {name: value for name, value in parameters.items() if name in names}
            if bound not in reads:
                reads.append(bound)
        for bound in reads:
            for row in conn.execute(query, bound):
                image = _image(table, row)
                self._touch(table, _key_of(table, image), image)

    def before_cursor_execute(
        self,
        _conn: Connection,
        _cursor: Any,
        sql: str,
        _parameters: Any,
        context: Any,
        _executemany: bool,
    ) -> None:
        # exec_driver_sql() passes no before_execute: its SQL is seen only here, uncompiled.
        if getattr(context, "compiled", None) is None and not _reads_only(sql):
            raise UnjournaledStatement("textual_sql")

    def after_execute(
        self,
        conn: Connection,
        statement: Any,
        _multiparams: list[dict[str, Any]],
        _params: dict[str, Any],
        _options: Mapping[str, Any],
        result: CursorResult[Any],
    ) -> None:
        if not isinstance(statement, Insert):
            return
        table = self._target(statement)
        if table is None:
            return
        columns = _primary_key(table)
        keys: list[Image] = []
        for made in result.inserted_primary_key_rows:
            if made is None or any(value is None for value in made):
                raise UnjournaledStatement(f"insert_key_unknown:{table.name}")
            keys.append(
                {
                    column.name: _codec(column).encode(value)
                    for column, value in zip(columns, made, strict=True)
                }
            )
        # The key as the database holds it (an aware datetime on SQLite reads back naive):
        # a later UPDATE of the row must find the same entry.
        made_now = _read(conn, table, keys)
        if len(made_now) != len({_dumps(k) for k in keys}):
            raise UnjournaledStatement(f"insert_key_unknown:{table.name}")
        for image in made_now.values():
            self._touch(table, _key_of(table, image), None)

    def _touch(self, table: Table, key: Image, before: Image | None) -> None:
        self.touched.setdefault((table.fullname, _dumps(key)), _Touched(table, key, before))

    def write(self, conn: Connection, journal: Table, key: JournalKey) -> None:
        """The entries, each with its row as it is now, in `journal` (same transaction)."""
        by_table: dict[str, list[_Touched]] = {}
        for touched in self.touched.values():
            by_table.setdefault(touched.table.fullname, []).append(touched)
        now: dict[tuple[str, str], Image] = {}
        for name, entries in by_table.items():
            current = _read(conn, self.tables[name], [t.key for t in entries])
            now.update({(name, row_key): image for row_key, image in current.items()})
        rows: list[dict[str, Any]] = []
        for (name, row_key), touched in self.touched.items():
            after = now.get((name, row_key))
            if after == touched.before:
                continue  # left as it was found: nothing to undo
            rows.append(_entry(key, len(rows), name, touched.key, touched.before, after))
        if rows:
            conn.execute(insert(journal), rows)


def _sets_primary_key(
    statement: Update, table: Table, parameter_sets: list[dict[str, Any]]
) -> bool:
    """Whether the UPDATE's SET clause names a primary key column: by `values()`, or by a
    parameter named as a column (SQLAlchemy sets those)."""
    named: set[str] = set()
    for given in (statement._values or {}, dict(statement._ordered_values or ())):
        named.update(k if isinstance(k, str) else str(getattr(k, "key", "")) for k in given)
    for parameters in parameter_sets:
        named.update(parameters)
    return any(column.key in named for column in table.primary_key.columns)


def _entry(
    key: JournalKey,
    seq: int,
    table_name: str,
    row_key: Image,
    before: Image | None,
    after: Image | None,
) -> dict[str, Any]:
    return {
        "workflow_id": key.workflow_id,
        "step": key.step,
        "subject": key.subject,
        "seq": seq,
        "table_name": table_name,
        "row_key": _dumps(row_key),
        "before": None if before is None else _dumps(before),
        "after": None if after is None else _dumps(after),
        "undone": False,
    }


@asynccontextmanager
async def journaling(
    conn: AsyncConnection, journal: Table, key: JournalKey, tables: Iterable[Table]
) -> AsyncIterator[None]:
    """Journal, under `key`, every write the block makes through `conn` to `tables`. The
    entries are written to `journal` when the block ends without an error, in `conn`'s
    transaction, so they commit or roll back with the change."""
    recorder = _Recorder(tables)
    if journal.fullname in recorder.tables:
        raise JournalError("journal_journaled")
    sync = conn.sync_connection
    if sync is None:
        raise JournalError("connection_not_started")
    event.listen(sync, "before_execute", recorder.before_execute, retval=True)
    event.listen(sync, "before_cursor_execute", recorder.before_cursor_execute)
    event.listen(sync, "after_execute", recorder.after_execute)
    try:
        yield
    finally:
        event.remove(sync, "before_execute", recorder.before_execute)
        event.remove(sync, "before_cursor_execute", recorder.before_cursor_execute)
        event.remove(sync, "after_execute", recorder.after_execute)
    await conn.run_sync(recorder.write, journal, key)


# --- undoing a change ------------------------------------------------------------------------


def _of_key(journal: Table, key: JournalKey) -> ColumnElement[bool]:
    c = journal.c
    return and_(c.workflow_id == key.workflow_id, c.step == key.step, c.subject == key.subject)


def _matches(now: Image | None, after: Image | None) -> bool:
    if now is None or after is None:
        return now is None and after is None
    # Columns added to the table since the change was journaled are not the change's.
    return all(name in now and now[name] == value for name, value in after.items())


def _undo(conn: Connection, journal: Table, key: JournalKey, tables: Iterable[Table]) -> Undone:
    rows = conn.execute(select(journal).where(_of_key(journal, key)).order_by(journal.c.seq)).all()
    if not rows:
        return Undone(restored=0)
    if rows[0].undone:
        return Undone(restored=0, already_undone=True)
    by_name = {table.fullname: table for table in tables}
    planned: list[tuple[Table, Image, Image | None, Image | None]] = []
    for row in rows:
        table = by_name.get(row.table_name)
        if table is None:
            raise JournalError(f"journaled_table_missing:{row.table_name}")
        planned.append((table, _loads(row.row_key), _loads(row.before), _loads(row.after)))
    conflicts: list[str] = []
    for table in dict.fromkeys(t for t, *_ in planned):
        ours = [(k, after) for t, k, _, after in planned if t is table]
        now = _read(conn, table, [k for k, _ in ours], lock=True)
        if not all(_matches(now.get(_dumps(k)), after) for k, after in ours):
            conflicts.append(table.name)
    if conflicts:
        return Undone(restored=0, conflicts=tuple(conflicts))
    for table, row_key, before, after in reversed(planned):
        where = _key_where(table, row_key)
        if before is None:
            conn.execute(delete(table).where(where))
        elif after is None:
            conn.execute(insert(table).values(_decoded(table, before)))
        else:
            restored = {c: v for c, v in _decoded(table, before).items() if not c.primary_key}
            if restored:
                conn.execute(update(table).where(where).values(restored))
    conn.execute(update(journal).where(_of_key(journal, key)).values(undone=True))
    return Undone(restored=len(planned))


async def undo(
    conn: AsyncConnection, journal: Table, key: JournalKey, tables: Iterable[Table]
) -> Undone:
    """Put every row the change `key` journaled back as it was before the change, in
    `conn`'s transaction: all of them, or, when one has changed since (`Undone.conflicts`),
    none."""
    return await conn.run_sync(_undo, journal, key, list(tables))
