from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from services.notifications.activities import NotificationActivities
from services.notifications.store import NotificationStore
from tests.support.council import sqlite_store


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[NotificationStore]:
    async with sqlite_store(NotificationStore, tmp_path) as opened:
        yield opened


@pytest.fixture
def service(store: NotificationStore) -> NotificationActivities:
    return NotificationActivities(store)
