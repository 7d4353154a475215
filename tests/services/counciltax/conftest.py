from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from services.counciltax.activities import CouncilTaxActivities
from services.counciltax.store import CouncilTaxStore
from tests.support.council import keys
from tests.support.postgres import fresh_postgres_url


@pytest.fixture(params=["sqlite", "postgres"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[CouncilTaxStore]:
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'counciltax.db'}"
    else:
        url = await fresh_postgres_url(request.getfixturevalue("postgres_socket_dir"))
    opened = await CouncilTaxStore.open(url)
    yield opened
    await opened.close()


@pytest.fixture
def service(store: CouncilTaxStore) -> CouncilTaxActivities:
    return CouncilTaxActivities(store, keys())
