from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from services.schools.activities import SchoolActivities
from services.schools.store import SchoolStore
from tests.support.council import keys, sqlite_store


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SchoolStore]:
    async with sqlite_store(SchoolStore, tmp_path) as opened:
        yield opened


@pytest.fixture
def service(store: SchoolStore) -> SchoolActivities:
    return SchoolActivities(store, keys())
