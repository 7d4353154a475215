"""The workflow worker: runs every workflow of the project on the workflow task queue."""

from __future__ import annotations

import asyncio

import structlog
from temporalio.client import Client
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from services.common.lifecycle import wait_for_shutdown_signal
from services.common.logging import configure_logging
from services.common.settings import Settings
from services.common.temporal import connect
from workflows.activities import plan_event
from workflows.diagnostics import StackCheckWorkflow, echo
from workflows.lifeevents import WORKFLOWS

__all__ = ["build_worker", "main"]

log = structlog.get_logger(__name__)


# Validation libraries the contracts call lazily, from inside workflows: pass them through
# the sandbox once rather than re-importing them per workflow run. They hold no workflow state.
PASSTHROUGH_MODULES = ("contracts", "email_validator", "idna", "phonenumbers", "dns")


def build_worker(client: Client, task_queue: str) -> Worker:
    return Worker(
        client,
        task_queue=task_queue,
        workflows=[StackCheckWorkflow, *WORKFLOWS],
        activities=[echo, plan_event],
        workflow_runner=SandboxedWorkflowRunner(
            restrictions=SandboxRestrictions.default.with_passthrough_modules(*PASSTHROUGH_MODULES)
        ),
    )


async def main() -> None:
    settings = Settings()
    configure_logging(settings.log_level, settings.log_format)
    client = await connect(settings)
    async with build_worker(client, settings.temporal_task_queue):
        log.info("worker.started", task_queue=settings.temporal_task_queue)
        received = await wait_for_shutdown_signal()
        log.info("worker.stopping", signal=received.name)


if __name__ == "__main__":
    asyncio.run(main())
