"""The activity tree read from a real history, on the time-skipping server: a workflow of
known structure (two activities one after the other, then three at once) gives the tree it
was built as, and the benchmark's no-op workflow run on a tree has that tree in its history."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import pytest
from temporalio import activity, workflow
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from deploy.bench.shape import NoOpShaped, history_of, noop, parents_from_history


@activity.defn(name="test.step")
async def step(name: str) -> str:
    return name


@workflow.defn(sandboxed=False)
class TwoThenThree:
    @workflow.run
    async def run(self) -> None:
        timeout = timedelta(seconds=10)
        await workflow.execute_activity(step, "first", start_to_close_timeout=timeout)
        await workflow.execute_activity(step, "second", start_to_close_timeout=timeout)
        await asyncio.gather(
            *(
                workflow.execute_activity(step, name, start_to_close_timeout=timeout)
                for name in ("third", "fourth", "fifth")
            )
        )


async def test_sequential_then_concurrent(time_skipping_env: WorkflowEnvironment) -> None:
    client = time_skipping_env.client
    queue = f"shape-{uuid.uuid4().hex[:8]}"
    async with Worker(client, task_queue=queue, workflows=[TwoThenThree], activities=[step]):
        handle = await client.start_workflow(
            TwoThenThree.run, id=f"shape-{uuid.uuid4().hex}", task_queue=queue
        )
        await handle.result()
    # first is a root; second follows first; third, fourth and fifth all follow second.
    assert parents_from_history(await history_of(client, handle.id)) == [-1, 0, 1, 1, 1]


@pytest.mark.parametrize(
    "parents",
    [
        [-1, 0, 1, 1, 1],  # the workflow above
        [-1, 0, 1, 2],  # all in a row, as the life events ran before
        [-1, -1, -1],  # all at once
    ],
)
async def test_noop_workflow_has_the_shape_it_is_given(
    time_skipping_env: WorkflowEnvironment, parents: list[int]
) -> None:
    client = time_skipping_env.client
    queue = f"shape-{uuid.uuid4().hex[:8]}"
    async with Worker(client, task_queue=queue, workflows=[NoOpShaped], activities=[noop]):
        handle = await client.start_workflow(
            NoOpShaped.run, parents, id=f"shape-{uuid.uuid4().hex}", task_queue=queue
        )
        await handle.result()
    assert parents_from_history(await history_of(client, handle.id)) == parents
