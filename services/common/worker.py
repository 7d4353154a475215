"""The one way a worker process runs: `python -m services.<name>` and `workflows.worker`.

A worker process reads its settings, configures logging (redacted), opens what it serves
from (its store, say), connects to Temporal with the project's data converter, and runs one
Temporal worker on its task queue, with whatever else the process serves alongside (the
consent API). On SIGTERM or Ctrl-C it stops in the reverse order: what runs alongside, then
the worker (finishing the activities it holds), then what it served from (stores closed).
A fatal worker error stops the process the same way and is raised, so that the supervisor
restarts it.

A process describes itself with one async context manager, `serve(settings)`, that opens
what it needs, yields a `Served`, and closes it all on exit; its `python -m` calls
`run_worker(name, SettingsType, serve)`. The smallest is `services/residents/worker.py`;
`services.common.council.run_service` does it for every council service, and
`services/consent/worker.py` adds its API and relay.

The log lines are `<name>.started` (with the task queue), `<name>.stopping` (with the signal)
and `<name>.stopped`: names and queues, never data.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager, AsyncExitStack
from dataclasses import dataclass, field
from typing import Any, TypeVar

import structlog
from temporalio.client import Client
from temporalio.worker import Worker, WorkflowRunner
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner

from services.common.lifecycle import run_service, wait_for_shutdown_signal
from services.common.logging import configure_logging
from services.common.metrics import WorkerMetrics, serve_metrics
from services.common.settings import Settings
from services.common.telemetry import configure_tracing
from services.common.temporal import connect

__all__ = ["Serve", "Served", "run_worker", "serve_worker"]

log = structlog.get_logger(__name__)

S = TypeVar("S", bound=Settings)


@dataclass(frozen=True)
class Served:
    """What a worker process serves: a task queue, its activities (and workflows, for the
    workflow worker), and what else runs while the worker does (entered once the worker has
    started, left before it stops: an HTTP API, say)."""

    task_queue: str
    activities: Sequence[Callable[..., Any]] = ()
    workflows: Sequence[type] = ()
    workflow_runner: WorkflowRunner = field(default_factory=SandboxedWorkflowRunner)
    alongside: Sequence[AbstractAsyncContextManager[object]] = ()

    def worker(self, client: Client) -> Worker:
        return Worker(
            client,
            task_queue=self.task_queue,
            activities=list(self.activities),
            workflows=list(self.workflows),
            workflow_runner=self.workflow_runner,
            interceptors=[WorkerMetrics()],
        )


# How a process opens what it serves from, and closes it on exit.
Serve = Callable[[S], AbstractAsyncContextManager[Served]]


def run_worker(name: str, settings_type: type[S], serve: Serve[S]) -> None:
    """The body of a worker process's `python -m`: settings, logging, then `serve_worker`."""
    settings = settings_type()
    configure_logging(settings.log_level, settings.log_format)
    configure_tracing(settings, name)
    serve_metrics(settings)
    run_service(name, serve_worker(name, settings, serve))


async def serve_worker(name: str, settings: S, serve: Serve[S]) -> None:
    """Serve until SIGTERM or Ctrl-C (or a fatal worker error, raised), then stop in order."""
    async with serve(settings) as served:
        client = await connect(settings)
        # A fatal worker error cancels the block and is raised when the worker is left.
        async with served.worker(client), AsyncExitStack() as alongside:
            for context in served.alongside:
                await alongside.enter_async_context(context)
            log.info(f"{name}.started", task_queue=served.task_queue)
            received = await wait_for_shutdown_signal()
            log.info(f"{name}.stopping", signal=received.name)
    log.info(f"{name}.stopped")
