"""The resident index process: its activities on the `residents` task queue.

`python -m services.residents` opens the store (creating missing tables), connects to
Temporal and serves until SIGTERM or Ctrl-C; then the worker finishes the activities it
holds and the store is closed.
"""

from __future__ import annotations

import structlog
from temporalio.client import Client
from temporalio.worker import Worker

from contracts.temporal import TaskQueue
from services.common.database import make_engine
from services.common.lifecycle import wait_for_shutdown_signal
from services.common.logging import configure_logging
from services.common.temporal import connect
from services.residents.activities import ResidentActivities
from services.residents.index import ResidentIndex
from services.residents.settings import ResidentsSettings
from services.residents.store import ResidentStore

__all__ = ["build_worker", "main", "open_index"]

log = structlog.get_logger(__name__)


async def open_index(database_url: str) -> ResidentIndex:
    """The index on its store, tables created if missing. Close with `index.store.close()`."""
    store = ResidentStore(make_engine(database_url))
    await store.create()
    return ResidentIndex(store)


def build_worker(client: Client, index: ResidentIndex, task_queue: str) -> Worker:
    return Worker(client, task_queue=task_queue, activities=ResidentActivities(index).all)


async def main() -> None:
    settings = ResidentsSettings()
    configure_logging(settings.log_level, settings.log_format)
    index = await open_index(settings.database_url)
    try:
        client = await connect(settings)
        async with build_worker(client, index, TaskQueue.RESIDENTS):
            log.info("residents.started", task_queue=TaskQueue.RESIDENTS)
            received = await wait_for_shutdown_signal()
            log.info("residents.stopping", signal=received.name)
    finally:
        await index.store.close()
    log.info("residents.stopped")
