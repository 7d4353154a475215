"""The resident index process: its activities on the `residents` task queue.

`python -m services.residents` runs the shared worker process (`services.common.worker`):
the store opened (missing tables created) from `LIFEEVENTS_RESIDENTS_DATABASE_URL`, served
until SIGTERM or Ctrl-C; then the worker finishes the activities it holds and the store is
closed.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from contracts.temporal import TaskQueue
from services.common.settings import Settings
from services.common.worker import Served, run_worker
from services.residents.activities import ResidentActivities
from services.residents.index import ResidentIndex
from services.residents.store import ResidentStore

__all__ = ["main", "serve"]


@asynccontextmanager
async def serve(settings: Settings) -> AsyncIterator[Served]:
    async with await ResidentStore.open(settings.database_url("residents")) as store:
        yield Served(TaskQueue.RESIDENTS, ResidentActivities(ResidentIndex(store)).all)


def main() -> None:
    run_worker("residents", Settings, serve)
