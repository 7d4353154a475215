"""The benchmark's profile read from a real history, on the time-skipping server: an
activity that takes a known time to run shows that time, and one no worker serves at first
shows the time it waited on its queue."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

from temporalio import activity, workflow
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from deploy.bench.profile import activity_times, profile_table
from deploy.bench.shape import history_of

RUNS_FOR = 0.4  # seconds the slow activity takes
QUEUED_FOR = 1.0  # seconds before a worker serves the other queue


@activity.defn(name="test.slow")
async def slow() -> None:
    await asyncio.sleep(RUNS_FOR)


@activity.defn(name="test.quick")
async def quick() -> None:
    return None


@workflow.defn(sandboxed=False)
class SlowThenQueued:
    @workflow.run
    async def run(self, elsewhere: str) -> None:
        timeout = timedelta(seconds=30)
        await workflow.execute_activity(slow, start_to_close_timeout=timeout)
        await workflow.execute_activity(quick, start_to_close_timeout=timeout, task_queue=elsewhere)


async def test_the_profile_shows_time_running_and_time_queued(
    time_skipping_env: WorkflowEnvironment,
) -> None:
    client = time_skipping_env.client
    queue, elsewhere = (f"profile-{uuid.uuid4().hex[:8]}" for _ in range(2))
    async with Worker(client, task_queue=queue, workflows=[SlowThenQueued], activities=[slow]):
        handle = await client.start_workflow(
            SlowThenQueued.run, elsewhere, id=f"profile-{uuid.uuid4().hex}", task_queue=queue
        )
        await asyncio.sleep(RUNS_FOR + QUEUED_FOR)
        async with Worker(client, task_queue=elsewhere, activities=[quick]):
            await handle.result()
        times = activity_times(await history_of(client, handle.id))
    [ran, queued] = times
    assert ran.activity == "test.slow"
    assert RUNS_FOR <= ran.ran < RUNS_FOR + 2
    assert queued.activity == "test.quick"
    assert queued.waited >= QUEUED_FOR - 0.1
    assert queued.ran < 1
    table = profile_table("burst", times).splitlines()
    # The heading, its rule, then the activity that cost most in all (queued 1 s) first.
    assert [line.split(" | ")[0] for line in table[2:]] == ["| test.quick", "| test.slow"]
