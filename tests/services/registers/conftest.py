from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from services.registers.activities import RegistersActivities
from services.registers.store import RegistersStore
from tests.support.council import keys, sqlite_store


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[RegistersStore]:
    async with sqlite_store(RegistersStore, tmp_path) as opened:
        yield opened


@pytest.fixture
def service(store: RegistersStore) -> RegistersActivities:
    return RegistersActivities(store, keys())
