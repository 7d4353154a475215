"""Fixtures for the resident index: a fresh SQLite store per test, and PostgreSQL for the
tests that show the same code works there.

PostgreSQL: tests/support/postgres.py, one server per session, one database per test.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from services.residents.index import ResidentIndex, open_index
from tests.support.postgres import fresh_postgres_url


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'residents.db'}"


@pytest.fixture
async def index(database_url: str) -> AsyncIterator[ResidentIndex]:
    opened = await open_index(database_url)
    yield opened
    await opened.store.close()


@pytest.fixture
async def postgres_url(postgres_socket_dir: str) -> str:
    """A fresh database per test."""
    return await fresh_postgres_url(postgres_socket_dir)
