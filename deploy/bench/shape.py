"""The shape of a workflow's activities, read from its history, and a no-op workflow of the
same shape: the baseline a life event is measured against on the same Temporal server.

A workflow may run its activities one after another, or several at once (independent steps
of a plan gathered), so the shape is a tree, not a count. Each activity's parent is the
activity whose completion let the workflow schedule it: the ActivityTaskScheduled event
names the WorkflowTaskCompleted that scheduled it; that workflow task was scheduled after
the latest ActivityTaskCompleted before it, whose activity is the parent. An activity
scheduled before any completed is a root (-1). The no-op workflow starts activity i as soon
as its parent completes, roots at once, which reproduces sequential and concurrent shapes.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Sequence
from datetime import timedelta

from temporalio import activity, workflow
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import Client
from temporalio.worker import Worker

__all__ = ["NoOpShaped", "baseline", "history_of", "noop", "parents_from_history"]

ROOT = -1
_TASK_EVENTS = (
    EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED,
    EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED,
)


def parents_from_history(events: Sequence[HistoryEvent]) -> list[int]:
    """For each activity scheduled, in order, the index of its parent activity (ROOT if none)."""
    scheduled: dict[int, int] = {}  # ActivityTaskScheduled event id -> activity index
    parents: list[int] = []
    last_completed: int | None = None  # activity index of the latest ActivityTaskCompleted
    # The latest completion seen when each workflow task was scheduled, by that task's
    # events: the server names the WorkflowTaskCompleted, the test server its Started.
    completed_before_task: dict[int, int | None] = {}
    before_this_task: int | None = None
    for event in events:
        kind = event.event_type
        if kind == EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED:
            before_this_task = last_completed
            completed_before_task[event.event_id] = before_this_task
        elif kind in _TASK_EVENTS:
            completed_before_task[event.event_id] = before_this_task
        elif kind == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
            attributes = event.activity_task_completed_event_attributes
            last_completed = scheduled[attributes.scheduled_event_id]
        elif kind == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            task = event.activity_task_scheduled_event_attributes.workflow_task_completed_event_id
            parent = completed_before_task.get(task)
            scheduled[event.event_id] = len(parents)
            parents.append(ROOT if parent is None else parent)
    return parents


async def history_of(
    client: Client, workflow_id: str, run_id: str | None = None
) -> list[HistoryEvent]:
    """The events of one run of a workflow (its first run when `run_id` is given)."""
    handle = client.get_workflow_handle(workflow_id, run_id=run_id)
    return [e async for e in handle.fetch_history_events()]


@activity.defn(name="bench.noop")
async def noop() -> None:
    return None


@workflow.defn(sandboxed=False)
class NoOpShaped:
    """No-op activities in the tree `parents` describes (see `parents_from_history`)."""

    @workflow.run
    async def run(self, parents: list[int]) -> None:
        children: dict[int, list[int]] = {}
        for index, parent in enumerate(parents):
            children.setdefault(parent, []).append(index)

        async def after(index: int) -> None:
            if index != ROOT:
                await workflow.execute_activity(noop, start_to_close_timeout=timedelta(seconds=60))
            await asyncio.gather(*(after(child) for child in children.get(index, [])))

        await after(ROOT)


async def baseline(
    client: Client, shapes: Sequence[list[int]], rate: float | None = None
) -> tuple[list[float], list[float]]:
    """One no-op workflow per shape, started at once (`rate` None) or `rate` per second.
    Returns each one's start time (epoch seconds) and close time, in order."""
    queue = f"bench-noop-{uuid.uuid4().hex[:8]}"
    async with Worker(client, task_queue=queue, workflows=[NoOpShaped], activities=[noop]):
        begun = time.monotonic()

        async def one(index: int, parents: list[int]) -> tuple[float, float]:
            if rate:
                await asyncio.sleep(max(0.0, begun + index / rate - time.monotonic()))
            started = time.time()
            handle = await client.start_workflow(
                NoOpShaped.run, parents, id=f"bench-noop-{uuid.uuid4().hex}", task_queue=queue
            )
            await handle.result()
            closed = (await handle.describe()).close_time
            return started, closed.timestamp() if closed else time.time()

        times = await asyncio.gather(*(one(i, s) for i, s in enumerate(shapes)))
    return [s for s, _ in times], [c for _, c in times]
