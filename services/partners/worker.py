"""The partners process: the Temporal worker on task queue `partners`, and the Kafka producer
it tells the organisations through.

`python -m services.partners` runs the shared worker process (`services.common.worker`).
The producer is opened with the store, before the worker polls, and closed with it, after
the worker has finished the activities it holds: a notice is never sent through a stopped
producer. (What `Served.alongside` runs is left before the worker stops, so the producer is
not one of those.) If Kafka cannot be reached at start, the process fails and its supervisor
starts it again; the topics in `partners.toml` are made first if they are missing.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from services.common.kafka import kafka_access
from services.common.worker import Served, run_worker
from services.partners.activities import PartnerActivities
from services.partners.config import load_partners
from services.partners.publisher import NoticePublisher
from services.partners.settings import PartnersSettings
from services.partners.store import PartnerStore

__all__ = ["main", "serve"]


@asynccontextmanager
async def serve(settings: PartnersSettings) -> AsyncIterator[Served]:
    config = load_partners(settings.partners_config_path)
    publisher = NoticePublisher(
        kafka_access(settings),
        config.topics,
        partitions=settings.kafka_topic_partitions,
        replication=settings.kafka_topic_replication,
        send_timeout=settings.partners_send_timeout_seconds,
        connect_timeout=settings.partners_connect_timeout_seconds,
    )
    async with await PartnerStore.open(settings.database_url("partners")) as store, publisher:
        activities = PartnerActivities(store, settings.share_keys(), config, publisher)
        activities.kill_after_commit = settings.council_kill_after_commit
        yield Served(activities.task_queue, activities.all)


def main() -> None:
    run_worker("partners", PartnersSettings, serve)
