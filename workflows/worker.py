"""The workflow worker: runs every workflow of the project on the workflow task queue.

`python -m workflows.worker` is the shared worker process (`services.common.worker`); tests
run the same worker in-process through `build_worker`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from temporalio.client import Client
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from services.common.settings import Settings
from services.common.worker import Served, run_worker
from workflows.activities import plan_event, record_of
from workflows.diagnostics import StackCheckWorkflow, echo
from workflows.lifeevents import WORKFLOWS

__all__ = ["PASSTHROUGH_MODULES", "build_worker", "main", "served"]


# Validation libraries the contracts call lazily, from inside workflows: pass them through
# the sandbox once rather than re-importing them per workflow run. They hold no workflow state.
PASSTHROUGH_MODULES = ("contracts", "email_validator", "idna", "phonenumbers", "dns")


def served(task_queue: str) -> Served:
    return Served(
        task_queue,
        activities=[echo, plan_event, record_of],
        workflows=[StackCheckWorkflow, *WORKFLOWS],
        workflow_runner=SandboxedWorkflowRunner(
            restrictions=SandboxRestrictions.default.with_passthrough_modules(*PASSTHROUGH_MODULES)
        ),
    )


def build_worker(client: Client, task_queue: str) -> Worker:
    return served(task_queue).worker(client)


@asynccontextmanager
async def serve(settings: Settings) -> AsyncIterator[Served]:
    yield served(settings.temporal_task_queue)


def main() -> None:
    run_worker("workflows", Settings, serve)


if __name__ == "__main__":
    main()
