from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from services.partners.activities import PartnerActivities
from services.partners.config import PartnersConfig
from services.partners.publisher import NoticePublisher
from services.partners.store import PartnerStore
from tests.services.partners.support import config_on_own_topics
from tests.support.council import keys, sqlite_store


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[PartnerStore]:
    async with sqlite_store(PartnerStore, tmp_path) as opened:
        yield opened


@pytest.fixture
def config() -> PartnersConfig:
    return config_on_own_topics()


@pytest.fixture
async def publisher(kafka_bootstrap: str, config: PartnersConfig) -> AsyncIterator[NoticePublisher]:
    """Started as the worker starts it: the configured topics made, then the producer."""
    async with NoticePublisher(kafka_bootstrap, config.topics, partitions=1) as started:
        yield started


@pytest.fixture
def service(
    store: PartnerStore, config: PartnersConfig, publisher: NoticePublisher
) -> PartnerActivities:
    return PartnerActivities(store, keys(), config, publisher)
