from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from services.electoral.activities import ElectoralActivities
from services.electoral.store import ElectoralStore
from tests.support.council import keys, sqlite_store


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[ElectoralStore]:
    async with sqlite_store(ElectoralStore, tmp_path) as opened:
        yield opened


@pytest.fixture
def service(store: ElectoralStore) -> ElectoralActivities:
    return ElectoralActivities(store, keys())
