"""The workflow worker: runs every workflow of the project on the workflow task queue."""

from __future__ import annotations

import asyncio

import structlog
from temporalio.client import Client
from temporalio.worker import Worker

from services.common.lifecycle import wait_for_shutdown_signal
from services.common.logging import configure_logging
from services.common.settings import Settings
from services.common.temporal import WORKFLOW_TASK_QUEUE, connect
from workflows.diagnostics import StackCheckWorkflow, echo

__all__ = ["build_worker", "main"]

log = structlog.get_logger(__name__)


def build_worker(client: Client, task_queue: str = WORKFLOW_TASK_QUEUE) -> Worker:
    return Worker(client, task_queue=task_queue, workflows=[StackCheckWorkflow], activities=[echo])


async def main() -> None:
    settings = Settings()
    configure_logging(settings.log_level, settings.log_format)
    client = await connect(settings)
    async with build_worker(client):
        log.info("worker.started", task_queue=WORKFLOW_TASK_QUEUE)
        received = await wait_for_shutdown_signal()
        log.info("worker.stopping", signal=received.name)


if __name__ == "__main__":
    asyncio.run(main())
