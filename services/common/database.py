"""Async SQLAlchemy engines for the services' own stores: SQLite by default, or PostgreSQL.

Each service owns its store and its URL setting (`LIFEEVENTS_<SERVICE>_DATABASE_URL`); this
module only knows how to open one well.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

__all__ = ["make_engine", "make_sessionmaker"]


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
