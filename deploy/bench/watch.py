"""Following the workflows the generator started: when each closed (a birth's first run closes
as it continues as new to wait for the child's later dates), answering as the resident where
one waits (update `confirm`, accepting), and when each first told a resident something.

Closings are read from Temporal's visibility (one list call a second, whatever the number of
workflows) rather than by describing each workflow, so that watching costs the system under
test little."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from aiokafka import AIOKafkaConsumer
from temporalio.client import Client, WorkflowExecutionStatus

from contracts.temporal import SearchAttributes
from contracts.timeline import Confirmation, Receipt, StepStatus, Timeline
from contracts.topics import LIFE_EVENTS_DLQ
from deploy.bench.events import ANSWERED

__all__ = ["DeadLetterCount", "Tracker", "explain", "first_told"]

DONE = (WorkflowExecutionStatus.COMPLETED, WorkflowExecutionStatus.CONTINUED_AS_NEW)
_STAGE = SearchAttributes.STAGE.name


@dataclass
class Tracker:
    client: Client
    kinds: dict[str, str] = field(default_factory=dict)  # workflow ID -> kind
    closed: dict[str, float] = field(default_factory=dict)  # workflow ID -> epoch seconds
    runs: dict[str, str] = field(default_factory=dict)  # workflow ID -> the run that closed
    failed: dict[str, str] = field(default_factory=dict)  # workflow ID -> status
    answered: set[str] = field(default_factory=set)
    _since: datetime = field(default_factory=lambda: datetime.now(UTC))

    def follow(self, kinds: dict[str, str]) -> None:
        self.kinds.update(kinds)

    @property
    def open(self) -> int:
        return len(self.kinds) - len(self.closed) - len(self.failed)

    async def run(self, interval: float = 1.0) -> None:
        """Poll until cancelled."""
        while True:
            with contextlib.suppress(Exception):  # a slow server answers next time
                await self.poll()
            await asyncio.sleep(interval)

    async def until_settled(self, timeout: float) -> None:
        """Until every workflow followed has closed, or `timeout` seconds."""
        for _ in range(int(timeout / 0.5)):
            if self.open <= 0:
                return
            await asyncio.sleep(0.5)

    async def poll(self) -> None:
        # A little overlap: visibility may record a close a moment after its close time.
        since = (self._since - timedelta(seconds=5)).isoformat()
        async for execution in self.client.list_workflows(
            f"CloseTime >= '{since}'", page_size=1000
        ):
            workflow_id = execution.id
            if workflow_id not in self.kinds or workflow_id in self.closed:
                continue
            if execution.status in DONE and execution.close_time is not None:
                self.closed[workflow_id] = execution.close_time.timestamp()
                self.runs[workflow_id] = execution.run_id
                self._since = max(self._since, execution.close_time)
            elif execution.status is not None:
                self.failed[workflow_id] = execution.status.name
        await self._answer()

    async def _answer(self) -> None:
        waiting = [
            execution.id
            async for execution in self.client.list_workflows(
                f"ExecutionStatus = 'Running' AND {_STAGE} = 'waiting_for_resident'"
            )
            if execution.id in self.kinds and execution.id not in self.answered
        ]
        await asyncio.gather(*(self._answer_one(w) for w in waiting))

    async def _answer_one(self, workflow_id: str) -> None:
        step = ANSWERED.get(self.kinds[workflow_id])
        if step is None:
            return
        handle = self.client.get_workflow_handle(workflow_id)
        timeline = await handle.query("timeline", result_type=Timeline)
        if any(
            e.step == step and e.status is StepStatus.WAITING_FOR_RESIDENT for e in timeline.entries
        ):
            await handle.execute_update(
                "confirm", Confirmation(step=step, accept=True), result_type=Receipt
            )
            self.answered.add(workflow_id)


async def explain(client: Client, workflow_id: str, status: str) -> str:
    """Where a workflow that did not complete stands, from its `timeline` (no personal data)."""
    try:
        timeline = await client.get_workflow_handle(workflow_id).query(
            "timeline", result_type=Timeline
        )
    except Exception as error:  # a failed workflow may not answer: say why
        return f"  {workflow_id}: {status}; no timeline ({type(error).__name__})"
    open_steps = ", ".join(
        f"{e.step}={e.status.value}{f' ({e.reason})' if e.reason else ''}"
        for e in timeline.entries
        if e.status not in (StepStatus.DONE, StepStatus.SKIPPED)
    )
    return (
        f"  {workflow_id}: {status}; stage {timeline.stage}; tasks "
        f"{timeline.caseworker_tasks}; steps not done: {open_steps or 'none'}"
    )


def first_told(var: Path) -> dict[str, float]:
    """When each workflow first told a resident something: the first of its messages a
    channel took (`sent`, or since `delivered`), else its first message in the portal inbox
    (a resident with no e-mail, phone or letter channel is told there only)."""
    database = var / "notifications" / "notifications.db"
    if not database.exists():
        return {}
    with contextlib.closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True)) as db:
        inbox = db.execute(
            "SELECT workflow_id, MIN(created_at) FROM notification_inbox GROUP BY workflow_id"
        ).fetchall()
        sent = db.execute(
            "SELECT i.workflow_id, MIN(m.updated_at) FROM notification_messages m "
            "JOIN notification_inbox i ON i.reference = m.reference "
            "WHERE m.status IN ('sent', 'delivered') GROUP BY i.workflow_id"
        ).fetchall()
    told = {workflow_id: _epoch(at) for workflow_id, at in inbox}
    told.update({workflow_id: _epoch(at) for workflow_id, at in sent})
    return told


def _epoch(stored: str) -> float:
    at = datetime.fromisoformat(stored)
    return (at if at.tzinfo else at.replace(tzinfo=UTC)).timestamp()


class DeadLetterCount:
    """Counts the records on the dead-letter topic, in the background."""

    def __init__(self, bootstrap: str) -> None:
        self.count = 0
        self._consumer = AIOKafkaConsumer(
            LIFE_EVENTS_DLQ,
            bootstrap_servers=bootstrap,
            auto_offset_reset="earliest",
            # The services may make the topic after we subscribe: look again soon, not in 5 min.
            metadata_max_age_ms=1000,
        )
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> DeadLetterCount:
        await self._consumer.start()
        self._task = asyncio.create_task(self._count())
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._consumer.stop()

    async def _count(self) -> None:
        async for _ in self._consumer:
            self.count += 1
