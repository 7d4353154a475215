"""Every store's migrations make exactly the schema its code expects, on SQLite and on
PostgreSQL; a store made before there were migrations is stamped, not made again; a process
told not to migrate refuses a store that is behind."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, MetaData, inspect, text

from deploy.db import STORES, migrations_of
from services.common.database import StoreUnusable, make_engine
from services.consent.store import ConsentStore
from services.intake.store import Base as IntakeTables
from services.intake.store import IntakeStore
from services.residents.store import ResidentStore
from tests.support.postgres import fresh_postgres_url

NewDatabase = Callable[[], Awaitable[str]]


@pytest.fixture(params=["sqlite", "postgres"])
def new_database(request: pytest.FixtureRequest, tmp_path: Path) -> NewDatabase:
    """A new, empty database on each call: a SQLite file, or a database on the session's
    PostgreSQL."""
    made = 0

    async def new() -> str:
        nonlocal made
        made += 1
        if request.param == "sqlite":
            return f"sqlite+aiosqlite:///{tmp_path / f'store{made}.db'}"
        return await fresh_postgres_url(request.getfixturevalue("postgres_socket_dir"))

    return new


def differences(connection: Connection, metadata: Sequence[MetaData]) -> list[str]:
    """How the database on `connection` differs from `metadata`, one line a difference:
    tables, columns (types, nullability), indexes, unique constraints and foreign keys as
    Alembic's autogenerate compares them, and primary keys, which it does not."""
    context = MigrationContext.configure(
        connection,
        opts={
            "compare_type": True,
            # The version tables are the migrations' own, not the code's.
            "include_name": lambda name, kind, _parents: (
                not (kind == "table" and str(name).startswith("alembic_version_"))
            ),
        },
    )
    expected = MetaData()
    for table in (t for m in metadata for t in m.sorted_tables):
        table.to_metadata(expected)
    found = [_said(diff) for diff in compare_metadata(context, expected)]
    inspector = inspect(connection)
    present = set(inspector.get_table_names())
    for table in (t for m in metadata for t in m.sorted_tables if t.name in present):
        keyed = inspector.get_pk_constraint(table.name)["constrained_columns"]
        if keyed != [c.name for c in table.primary_key.columns]:
            found.append(f"primary_key {table.name}: {keyed}")
    return found


def _said(diff: Any) -> str:
    """One difference as a line: its kind and what it names (a modified column comes as a
    list of tuples, the rest as a tuple)."""
    first = diff[0] if isinstance(diff, list) else diff
    names = [getattr(part, "name", part) for part in first[1:] if part is not None]
    return " ".join(str(part) for part in (first[0], *names) if isinstance(part, str))


async def schema_differences(url: str, metadata: Sequence[MetaData]) -> list[str]:
    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(differences, metadata)
    finally:
        await engine.dispose()


async def test_each_store_migrated_alone_has_exactly_the_schema_its_code_expects(
    new_database: NewDatabase,
) -> None:
    for owner, store_type in STORES.items():
        migrations = migrations_of(owner)
        url = await new_database()
        async with await store_type.open(url, migrate=True) as store:
            assert await store.revision() == migrations.head, owner
        assert await schema_differences(url, migrations.metadata) == [], owner


async def test_every_store_in_one_database_keeps_its_own_history(
    new_database: NewDatabase,
) -> None:
    """As the embedded default may put every store in one SQLite file, a council every store
    in one PostgreSQL database: each store's version table is its own."""
    url = await new_database()
    for store_type in STORES.values():
        await (await store_type.open(url, migrate=True)).close()
    every = [m for owner in STORES for m in migrations_of(owner).metadata]
    assert await schema_differences(url, every) == []
    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            for owner in STORES:
                table = migrations_of(owner).version_table
                version = await conn.scalar(text(f"SELECT version_num FROM {table}"))  # noqa: S608
                assert version == migrations_of(owner).head, owner
    finally:
        await engine.dispose()


async def test_a_schema_unlike_the_codes_is_told_apart(new_database: NewDatabase) -> None:
    url = await new_database()
    await (await ResidentStore.open(url, migrate=True)).close()
    engine = make_engine(url)
    async with engine.begin() as conn:
        await conn.execute(text("DROP INDEX ix_resident_names_full"))
        await conn.execute(text("ALTER TABLE resident_flags ADD COLUMN note TEXT"))
        await conn.execute(text("DROP TABLE resident_reports"))
        if engine.dialect.name == "postgresql":  # SQLite alters no column
            await conn.execute(text("ALTER TABLE residents ALTER date_of_birth SET NOT NULL"))
            await conn.execute(text("ALTER TABLE resident_steps ALTER kind TYPE text"))
    await engine.dispose()
    expected = [
        "add_index ix_resident_names_full",
        "add_table resident_reports",
        "remove_column resident_flags note",
    ]
    if engine.dialect.name == "postgresql":
        expected += ["modify_nullable residents date_of_birth", "modify_type resident_steps kind"]
    assert sorted(await schema_differences(url, [ResidentStore.metadata])) == sorted(expected)


async def test_a_store_made_before_migrations_is_stamped_and_keeps_its_rows(
    new_database: NewDatabase,
) -> None:
    url = await new_database()
    engine = make_engine(url)
    async with engine.begin() as conn:  # as `Store.open` made a store before migrations
        await conn.run_sync(IntakeTables.metadata.create_all)
        await conn.execute(
            text(
                "INSERT INTO intake_dead_letters (source, event_id, reason, recorded_at) "
                "VALUES ('urn:test', 'e-1', 'invalid', CURRENT_TIMESTAMP)"
            )
        )
    await engine.dispose()
    async with await IntakeStore.open(url, migrate=True) as store:
        assert await store.revision() == "0001"
        kept = await store.find_dead_letter("urn:test", "e-1")
    assert kept is not None
    assert kept.reason == "invalid"


async def test_a_process_that_does_not_migrate_refuses_a_store_behind_the_code_only(
    new_database: NewDatabase, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LIFEEVENTS_DB_MIGRATE_ON_START", "false")
    url = await new_database()
    with pytest.raises(StoreUnusable) as refused:
        await ConsentStore.open(url)
    assert refused.value.problem == (
        "its schema is at revision none, not the code's 0001: run `lifeevents db upgrade`"
    )
    await (await ConsentStore.open(url, migrate=True)).close()  # as `lifeevents db upgrade`
    await (await ConsentStore.open(url)).close()

    engine = make_engine(url)
    async with engine.begin() as conn:  # as a later release would leave it
        await conn.execute(text("UPDATE alembic_version_consent SET version_num = '0999'"))
    await engine.dispose()
    # This release, rolled back to, uses it as it is, and changes nothing.
    for migrate in (False, True):
        async with await ConsentStore.open(url, migrate=migrate) as store:
            assert await store.revision() == "0999"


async def test_stores_opened_together_on_a_new_postgresql_database_migrate_it_once(
    postgres_socket_dir: str,
) -> None:
    """Replicas starting at once: each waits for the one migrating (an advisory lock), and
    two stores opened together in one process do not mix their migrations."""
    url = await fresh_postgres_url(postgres_socket_dir)
    opened = await asyncio.gather(
        ConsentStore.open(url, migrate=True),
        ConsentStore.open(url, migrate=True),
        ResidentStore.open(url, migrate=True),
    )
    try:
        assert [await store.revision() for store in opened] == ["0001", "0001", "0002"]
    finally:
        for store in opened:
            await store.close()
    assert await schema_differences(url, [ConsentStore.metadata, ResidentStore.metadata]) == []


def test_openers_of_one_new_sqlite_store_at_once_migrate_it_once(tmp_path: Path) -> None:
    """Services started together on a new store: one migrates it, the rest find it done.
    Each opener here is a thread with its own event loop, which shares nothing with the
    others but the folder lock, as processes would (without it, the others fail on the
    tables the first is still making)."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'residents.db'}"
    together = threading.Barrier(4)
    failed: list[BaseException] = []

    def open_it() -> None:
        async def opened() -> None:
            together.wait()
            await (await ResidentStore.open(url, migrate=True)).close()

        try:
            asyncio.run(opened())
        except BaseException as error:
            failed.append(error)

    openers = [threading.Thread(target=open_it) for _ in range(together.parties)]
    for opener in openers:
        opener.start()
    for opener in openers:
        opener.join(60)
    assert failed == []
    assert asyncio.run(schema_differences(url, [ResidentStore.metadata])) == []
    with sqlite3.connect(tmp_path / "residents.db") as connection:
        versions = connection.execute("SELECT version_num FROM alembic_version_residents")
        assert versions.fetchall() == [("0002",)]
