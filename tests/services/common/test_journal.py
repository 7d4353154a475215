"""The undo journal on a toy store (dates, aware datetimes, integers, text, booleans, NULLs, a
composite key, an autoincrement key, a foreign key), on SQLite and on PostgreSQL: a change of
single and executemany inserts, updates of several rows, deletes, a row inserted, updated and
deleted again, and a row deleted and inserted again, is undone to an exact dump of every
table; a later change to a journaled row makes undo refuse whole, naming the table; a second
undo changes nothing; what cannot be journaled is refused and rolls the change back.

Every expectation is a dump taken before, or a count made by hand: never read from the
journal.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import (
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    MetaData,
    PickleType,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    bindparam,
    delete,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from services.common.council import ActionKey
from services.common.database import make_engine
from services.common.journal import (
    JournalError,
    Undone,
    UnjournaledStatement,
    journal_table,
    journaling,
    undo,
)
from tests.support.postgres import fresh_postgres_url

metadata = MetaData()

households = Table(
    "toy_households",
    metadata,
    Column("reference", String(20), primary_key=True),
    Column("postcode", Text, nullable=False),
    Column("opened_on", Date, nullable=True),
    Column("reviewed_at", DateTime(timezone=True), nullable=True),
    Column("adults", Integer, nullable=False),
    Column("active", Boolean, nullable=False),
)

members = Table(
    "toy_members",
    metadata,
    Column("household", String(20), ForeignKey("toy_households.reference"), nullable=False),
    Column("resident", String(72), nullable=False),
    Column("name", Text, nullable=False),
    Column("born", Date, nullable=True),
    PrimaryKeyConstraint("household", "resident", name="pk_toy_members"),
)

events = Table(
    "toy_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("household", String(20), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("note", Text, nullable=True),
)

journal = journal_table(metadata, "toy")
TABLES = (households, members, events)

FIRST = ActionKey("wf-toy-1", "step-1")
SECOND = ActionKey("wf-toy-2", "step-1")

BST = timezone(timedelta(hours=1))
IST = timezone(timedelta(hours=5, minutes=30))
SECRET = "Zed Secretname"  # a personal value no exception may quote


async def seed(conn: AsyncConnection) -> None:
    await conn.execute(
        insert(households),
        [
            {
                "reference": "H1",
                "postcode": "AB1 1AA",
                "opened_on": date(2020, 2, 29),
                "reviewed_at": datetime(2024, 3, 31, 1, 30, tzinfo=BST),
                "adults": 2,
                "active": True,
            },
            {
                "reference": "H2",
                "postcode": "AB1 1AA",
                "opened_on": None,
                "reviewed_at": None,
                "adults": 1,
                "active": True,
            },
            {
                "reference": "H3",
                "postcode": "AB9 9ZZ",
                "opened_on": date(1999, 12, 31),
                "reviewed_at": datetime(2000, 1, 1, tzinfo=UTC),
                "adults": 3,
                "active": False,
            },
        ],
    )
    await conn.execute(
        insert(members),
        [
            {"household": "H1", "resident": "r1", "name": "Ann", "born": date(1980, 1, 1)},
            {"household": "H1", "resident": "r2", "name": "Bo", "born": None},
            {"household": "H2", "resident": "r3", "name": "Cy", "born": date(2001, 5, 5)},
            {"household": "H2", "resident": "r4", "name": "Di", "born": None},
            {"household": "H3", "resident": "r5", "name": "Ed", "born": date(1950, 6, 30)},
        ],
    )
    await conn.execute(
        insert(events),
        [
            {"household": "H1", "kind": "letter", "at": datetime(2024, 1, 2, 3, tzinfo=UTC)},
            {"household": "H2", "kind": "visit", "at": datetime(2024, 6, 1, 12, tzinfo=BST)},
            {"household": "H3", "kind": "letter", "at": datetime(2024, 7, 1, tzinfo=UTC)},
        ],
    )


@pytest.fixture(params=["sqlite", "postgres"])
async def engine(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'toy.db'}"
    else:
        url = await fresh_postgres_url(request.getfixturevalue("postgres_socket_dir"))
    made = make_engine(url)
    async with made.begin() as conn:
        await conn.run_sync(metadata.create_all)
        await seed(conn)
    yield made
    await made.dispose()


async def dump(engine: AsyncEngine) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every toy table but the journal, in key order."""
    async with engine.connect() as conn:
        return {
            table.name: [
                tuple(row)
                for row in await conn.execute(select(table).order_by(*table.primary_key.columns))
            ]
            for table in TABLES
        }


Change = Callable[[AsyncConnection], Awaitable[None]]


async def journaled(engine: AsyncEngine, key: ActionKey, change: Change) -> None:
    async with engine.begin() as conn, journaling(conn, journal, key, TABLES):
        await change(conn)


async def undone(engine: AsyncEngine, key: ActionKey) -> Undone:
    async with engine.begin() as conn:
        return await undo(conn, journal, key, TABLES)


async def the_change(conn: AsyncConnection) -> None:
    """Every kind of write, some rows written more than once."""
    # A single insert, with an aware datetime not in UTC.
    await conn.execute(
        insert(households).values(
            reference="H4",
            postcode="AB4 4DD",
            opened_on=date(2025, 8, 7),
            reviewed_at=datetime(2025, 8, 7, 9, 15, tzinfo=IST),
            adults=1,
            active=True,
        )
    )
    # Inserts of many, one of them a row to be updated and deleted again.
    await conn.execute(
        insert(members),
        [
            {"household": "H4", "resident": "r6", "name": "Fi", "born": date(2024, 2, 29)},
            {"household": "H4", "resident": "r7", "name": "Gus", "born": None},
            {"household": "H1", "resident": "tmp", "name": "Temp", "born": None},
        ],
    )
    # Many with keys the database makes.
    await conn.execute(
        insert(events),
        [
            {"household": "H4", "kind": "opened", "at": datetime(2025, 8, 7, tzinfo=UTC)},
            {"household": "H4", "kind": "visit", "at": datetime(2025, 8, 8, 23, tzinfo=BST)},
        ],
    )
    # Several rows by an expression of themselves.
    await conn.execute(
        update(households)
        .where(households.c.postcode == "AB1 1AA")
        .values(
            adults=households.c.adults + 1,
            reviewed_at=datetime(2025, 8, 7, 17, tzinfo=BST),
            active=False,
        )
    )
    # An executemany update, its WHERE clause bound per row.
    await conn.execute(
        update(members)
        .where(
            members.c.household == bindparam("b_household"),
            members.c.resident == bindparam("b_resident"),
        )
        .values(name=bindparam("b_name")),
        [
            {"b_household": "H1", "b_resident": "r1", "b_name": "Anne"},
            {"b_household": "H3", "b_resident": "r5", "b_name": "Edward"},
        ],
    )
    await conn.execute(
        update(households).where(households.c.reference == "H3").values(opened_on=None)
    )
    await conn.execute(delete(members).where(members.c.household == "H2"))
    await conn.execute(delete(events).where(events.c.kind == "letter"))
    # Inserted, updated and deleted in the one change.
    await conn.execute(
        update(members).where(members.c.resident == "tmp").values(born=date(2000, 1, 1))
    )
    await conn.execute(delete(members).where(members.c.resident == "tmp"))
    # Deleted and inserted again, otherwise.
    await conn.execute(delete(members).where(members.c.resident == "r5"))
    await conn.execute(
        insert(members).values(household="H3", resident="r5", name="Edwin", born=None)
    )


# Rows the change left otherwise than it found them, counted by hand: households H1, H2, H3
# and H4; members H1/r1, H2/r3, H2/r4, H3/r5, H4/r6 and H4/r7 (not H1/tmp); events two
# letters and two new ones.
CHANGED_ROWS = 14


async def test_undo_restores_every_table_exactly(engine: AsyncEngine) -> None:
    before = await dump(engine)
    await journaled(engine, FIRST, the_change)
    assert await dump(engine) != before

    assert await undone(engine, FIRST) == Undone(restored=CHANGED_ROWS)

    assert await dump(engine) == before


async def test_a_second_undo_changes_nothing_and_says_so(engine: AsyncEngine) -> None:
    before = await dump(engine)
    await journaled(engine, FIRST, the_change)
    await undone(engine, FIRST)

    assert await undone(engine, FIRST) == Undone(restored=0, already_undone=True)
    assert await dump(engine) == before


async def _rename_r1(conn: AsyncConnection) -> None:
    await conn.execute(
        update(members).where(members.c.resident == "r1").values(name="Someone else")
    )


async def _readd_r3(conn: AsyncConnection) -> None:
    await conn.execute(insert(members).values(household="H2", resident="r3", name="Cy"))


async def _drop_new_events(conn: AsyncConnection) -> None:
    await conn.execute(delete(events).where(events.c.household == "H4"))


async def _review_h4(conn: AsyncConnection) -> None:
    await conn.execute(
        update(households)
        .where(households.c.reference == "H4")
        .values(reviewed_at=datetime(2025, 9, 1, tzinfo=UTC))
    )


@pytest.mark.parametrize(
    ("later", "table"),
    [
        (_rename_r1, "toy_members"),  # a row the change updated
        (_readd_r3, "toy_members"),  # a row the change deleted is back
        (_drop_new_events, "toy_events"),  # rows the change inserted are gone
        (_review_h4, "toy_households"),
    ],
    ids=["updated", "deleted_row_back", "inserted_rows_gone", "inserted_row_updated"],
)
async def test_a_later_change_to_a_journaled_row_refuses_the_whole_undo(
    engine: AsyncEngine, later: Change, table: str
) -> None:
    await journaled(engine, FIRST, the_change)
    async with engine.begin() as conn:
        await later(conn)
    after_later = await dump(engine)

    assert await undone(engine, FIRST) == Undone(restored=0, conflicts=(table,))
    assert await dump(engine) == after_later


async def test_a_later_change_to_a_row_the_change_left_alone_does_not_stop_it(
    engine: AsyncEngine,
) -> None:
    before = await dump(engine)
    await journaled(engine, FIRST, the_change)
    async with engine.begin() as conn:
        await conn.execute(update(members).where(members.c.resident == "r2").values(name="B."))

    assert (await undone(engine, FIRST)).restored == CHANGED_ROWS

    async with engine.begin() as conn:
        await conn.execute(update(members).where(members.c.resident == "r2").values(name="Bo"))
    assert await dump(engine) == before


async def test_changes_undo_last_first(engine: AsyncEngine) -> None:
    before = await dump(engine)
    await journaled(engine, FIRST, the_change)
    after_first = await dump(engine)
    await journaled(engine, SECOND, _rename_r1)

    # The first change's row was changed by the second: not until the second is undone.
    assert await undone(engine, FIRST) == Undone(restored=0, conflicts=("toy_members",))
    assert await undone(engine, SECOND) == Undone(restored=1)
    assert await dump(engine) == after_first
    assert await undone(engine, FIRST) == Undone(restored=CHANGED_ROWS)
    assert await dump(engine) == before


async def test_a_change_that_wrote_nothing_has_nothing_to_undo(engine: AsyncEngine) -> None:
    before = await dump(engine)

    async def same_again(conn: AsyncConnection) -> None:
        await conn.execute(update(members).where(members.c.resident == "r1").values(name="Ann"))
        await conn.execute(delete(members).where(members.c.resident == "nobody"))

    await journaled(engine, FIRST, same_again)

    assert await undone(engine, FIRST) == Undone(restored=0)
    assert await dump(engine) == before


async def test_a_savepoint_rolled_back_inside_the_change_is_not_undone_twice(
    engine: AsyncEngine,
) -> None:
    before = await dump(engine)

    async def with_savepoint(conn: AsyncConnection) -> None:
        nested = await conn.begin_nested()
        await conn.execute(update(members).where(members.c.resident == "r1").values(name="X"))
        await conn.execute(insert(members).values(household="H1", resident="r9", name="Y"))
        await nested.rollback()
        await conn.execute(update(members).where(members.c.resident == "r2").values(name="Z"))

    await journaled(engine, FIRST, with_savepoint)

    assert await undone(engine, FIRST) == Undone(restored=1)
    assert await dump(engine) == before


def _values(conn: AsyncConnection) -> Awaitable[Any]:
    return conn.execute(
        insert(members).values(
            [
                {"household": "H1", "resident": "v1", "name": SECRET},
                {"household": "H1", "resident": "v2", "name": SECRET},
            ]
        )
    )


@pytest.mark.parametrize(
    ("statement", "code"),
    [
        (
            lambda c: c.execute(
                text("UPDATE toy_members SET name = :name").bindparams(name=SECRET)
            ),
            "textual_sql",
        ),
        (
            lambda c: c.exec_driver_sql("DELETE FROM toy_members"),
            "textual_sql",
        ),
        (
            lambda c: c.execute(
                insert(events).from_select(
                    ["household", "kind", "at"],
                    select(households.c.reference, households.c.postcode, households.c.reviewed_at),
                )
            ),
            "insert_from_select:toy_events",
        ),
        (
            lambda c: c.execute(
                update(members).where(members.c.resident == "r1").values(resident=SECRET)
            ),
            "primary_key_update:toy_members",
        ),
        (
            lambda c: c.execute(
                insert(members)
                .prefix_with("OR REPLACE")
                .values(household="H1", resident="r1", name=SECRET)
            ),
            "prefixed_statement:toy_members",
        ),
        (
            lambda c: c.execute(
                postgresql.insert(members)
                .values(household="H1", resident="r1", name=SECRET)
                .on_conflict_do_nothing()
            ),
            "upsert:toy_members",
        ),
        (_values, "multi_values_insert:toy_members"),
    ],
    ids=[
        "text",
        "driver_sql",
        "insert_from_select",
        "key_update",
        "or_replace",
        "upsert",
        "multi_values",
    ],
)
async def test_what_cannot_be_journaled_is_refused_and_rolls_the_change_back(
    engine: AsyncEngine, statement: Callable[[AsyncConnection], Awaitable[Any]], code: str
) -> None:
    before = await dump(engine)

    async def change(conn: AsyncConnection) -> None:
        await conn.execute(update(members).where(members.c.resident == "r2").values(name=SECRET))
        await statement(conn)

    with pytest.raises(UnjournaledStatement) as refused:
        await journaled(engine, FIRST, change)

    assert str(refused.value) == code
    assert await dump(engine) == before
    assert await undone(engine, FIRST) == Undone(restored=0)


async def test_a_column_type_without_an_exact_encoding_is_refused_at_once(
    engine: AsyncEngine,
) -> None:
    other = MetaData()
    pickled = Table(
        "toy_pickled", other, Column("id", Integer, primary_key=True), Column("blob", PickleType)
    )
    async with engine.connect() as conn:
        with pytest.raises(JournalError) as refused:
            async with journaling(conn, journal, FIRST, [pickled]):
                pass
    assert str(refused.value) == "unsupported_column_type:toy_pickled.blob"
