"""The services' own stores: SQLite by default, or PostgreSQL, through async SQLAlchemy.

Each service owns its store; its URL comes from `Settings.database_url(service)`
(`LIFEEVENTS_<SERVICE>_DATABASE_URL`, else a SQLite file under var_dir), and every store is
opened the one way, `await SomeStore.open(url)`: the engine made well (below), the schema
brought to the code's by the store's migrations (`services.common.migrations`), and the rows
every store of its kind starts with.

Where the deployment migrates separately (`lifeevents db upgrade` before the services start,
LIFEEVENTS_DB_MIGRATE_ON_START=false), opening a store changes no schema: one that is not at
the code's revision is refused as `StoreUnusable`.
"""

from __future__ import annotations

import asyncio
import fcntl
import logging
import os
import threading
import time
import weakref
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar, Self

from pydantic_settings import BaseSettings
from sqlalchemy import DateTime, Dialect, MetaData, TypeDecorator, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from services.common.migrations import Migrations
from services.common.settings import Settings

__all__ = [
    "Store",
    "StoreUnusable",
    "UtcDateTime",
    "make_engine",
    "make_sessionmaker",
    "store_at",
]


log = logging.getLogger(__name__)


class UtcDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every backend (SQLite stores them as naive UTC text)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class StoreUnusable(Exception):
    """A store that cannot be opened: where it is (a file, or a URL without its password)
    and what the database said is wrong ("file is not a database"), never a value from it.
    Commands and services say this and stop, with no traceback: the fault is the store's,
    not the code's."""

    def __init__(self, where: str, problem: str) -> None:
        super().__init__(f"the store at {where} cannot be used: {problem}")
        self.where = where
        self.problem = problem


class Store:
    """Base of every service's store: its tables (`metadata`) on one engine.

    Open one with `await SomeStore.open(url)` (its schema brought to the code's) and close
    it with `close()`, or `async with await SomeStore.open(url)`.
    """

    metadata: ClassVar[MetaData]
    # The store's schema history. None only for a throwaway store of a development tool (the
    # local mail catcher's), whose tables are made as they are if missing.
    migrations: ClassVar[Migrations | None] = None
    # Engine options of every store of this kind (`make_engine` keyword arguments).
    engine_options: ClassVar[Mapping[str, Any]] = {}

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    @classmethod
    async def open(cls, url: str, *, migrate: bool | None = None, **engine_options: Any) -> Self:
        """The store on `url`, ready to use; `engine_options` add to `engine_options`.

        `migrate` (by default LIFEEVENTS_DB_MIGRATE_ON_START): run the store's migrations up
        to the code's revision; if false, refuse a store that is not there already."""
        if migrate is None:
            migrate = _MigrateOnStart().db_migrate_on_start
        store = cls(make_engine(url, **{**cls.engine_options, **engine_options}))
        try:
            with store_at(url):
                async with store.engine.begin() as conn:
                    await cls._bring_schema(conn, url, migrate)
                    await store.prepare(conn)
        except BaseException:
            await store.close()
            raise
        return store

    @classmethod
    async def _bring_schema(cls, conn: AsyncConnection, url: str, migrate: bool) -> None:
        migrations = cls.migrations
        if migrations is None:
            await conn.run_sync(cls.metadata.create_all)
            return
        # Most opens find the store at head: one look at its version table, nothing more.
        at = await conn.run_sync(migrations.current)
        if at == migrations.head:
            return
        if at is not None and not migrations.knows(at):
            # A newer release migrated it and this one was rolled back to: a revision keeps
            # the release before it working (services.common.migrations), so it is used.
            log.warning(
                "store.schema_ahead",
                extra={"store": migrations.owner, "revision": at, "head": migrations.head},
            )
            return
        if not migrate:
            raise StoreUnusable(
                _where(url),
                f"its schema is at revision {at or 'none'}, not the code's {migrations.head}: "
                "run `lifeevents db upgrade`",
            )
        async with _one_migration_at_a_time(), _sqlite_processes_take_turns(url):
            await conn.run_sync(migrations.upgrade)

    async def revision(self) -> str | None:
        """The schema revision the store is at (None for a store with no history)."""
        if self.migrations is None:
            return None
        async with self.engine.connect() as conn:
            return await conn.run_sync(self.migrations.current)

    async def prepare(self, conn: AsyncConnection) -> None:
        """Write the rows a new store starts with (a lock row, a chain head), in the
        transaction that created the tables; none by default."""

    async def close(self) -> None:
        await self.engine.dispose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.close()


class _MigrateOnStart(BaseSettings):
    """`Settings.db_migrate_on_start` alone: every open reads it, and reading the whole of
    `Settings` would cost more than the open itself."""

    model_config = Settings.model_config
    db_migrate_on_start: bool = Settings.model_fields["db_migrate_on_start"].default


_MIGRATING: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
    weakref.WeakKeyDictionary()
)


def _one_migration_at_a_time() -> asyncio.Lock:
    """Alembic runs a revision through module-wide proxies (`op`), and `run_sync` lets other
    tasks of the loop run while a revision waits on the database: two stores opened together
    would otherwise each run DDL through the other's proxy. One lock per event loop."""
    loop = asyncio.get_running_loop()
    lock = _MIGRATING.get(loop)
    if lock is None:
        lock = _MIGRATING[loop] = asyncio.Lock()
    return lock


@asynccontextmanager
async def _sqlite_processes_take_turns(url: str) -> AsyncIterator[None]:
    """Processes opening one new SQLite store at once (services starting together) take turns
    to migrate it, on a lock of its folder: SQLite runs Alembic's DDL outside a transaction,
    so two would each make half the tables. (On PostgreSQL, `Migrations.upgrade` takes an
    advisory lock instead.) The folder, not the file: closing any descriptor of the database
    file would drop SQLite's own locks on it."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in {None, "", ":memory:"}:
        yield
        return
    folder = os.open(Path(str(parsed.database)).parent, os.O_RDONLY)
    try:
        await asyncio.to_thread(fcntl.flock, folder, fcntl.LOCK_EX)
        yield
    finally:
        os.close(folder)  # and with it the lock


def _driver_threads_stopped(timeout: float = 1.0) -> None:
    """aiosqlite stops a connection that failed to open by queueing the stop on the
    connection's own thread, to be answered on the event loop but never awaited: a process
    that then exits at once (a store that cannot be used) prints that thread's traceback
    about a closed loop. The thread ends as soon as it has run the stop; this gives it the
    moment (the loop need not run for it, only stay open)."""
    deadline = time.monotonic() + timeout
    for thread in threading.enumerate():
        if thread.name.endswith("(_connection_worker_thread)"):
            thread.join(max(0.0, deadline - time.monotonic()))


@contextmanager
def store_at(url: str) -> Iterator[None]:
    """What the database refuses inside the block (it cannot be opened, is not a database,
    is read-only) as `StoreUnusable`, naming the store at `url`."""
    try:
        yield
    except DBAPIError as error:
        _driver_threads_stopped()
        problem = str(error.orig).strip() or type(error.orig).__name__
        raise StoreUnusable(_where(url), problem) from None


def _where(url: str) -> str:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database:
        return parsed.database
    return parsed.render_as_string(hide_password=True)


def make_engine(url: str, **kwargs: Any) -> AsyncEngine:
    # Stores hold personal data: bound parameters stay out of SQLAlchemy's log lines and out
    # of the text of its exceptions (an IntegrityError would otherwise quote a name).
    kwargs.setdefault("hide_parameters", True)
    _quiet_driver_logs()
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_async_engine(url, pool_pre_ping=True, **kwargs)
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_async_engine(url, **kwargs)

    @event.listens_for(engine.sync_engine, "connect")
    def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
        # WAL lets readers run beside the one writer; foreign keys are off by default.
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=5000")
        cursor.close()

    return engine


def _quiet_driver_logs() -> None:
    """aiosqlite logs every statement with its parameters at DEBUG. Its DEBUG lines go,
    whatever the process's log level, even where `configure_logging` never ran (tests)."""
    driver = logging.getLogger("aiosqlite")
    if driver.level < logging.INFO:  # NOTSET too: the root's DEBUG must not reach it
        driver.setLevel(logging.INFO)


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)
