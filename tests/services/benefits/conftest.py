from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from services.benefits.activities import BenefitActivities
from services.benefits.seed import seed_claims
from services.benefits.store import BenefitStore
from tests.support.council import keys, sqlite_store


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[BenefitStore]:
    async with sqlite_store(BenefitStore, tmp_path) as opened:
        await seed_claims(opened)
        yield opened


@pytest.fixture
def service(store: BenefitStore) -> BenefitActivities:
    return BenefitActivities(store, keys())
