"""A resident's "I would like a person to call me" (deploy/portal.py `WorkflowCallRequests`):
a real CallbackWorkflow on the time-skipping server, started as the portal starts it, with
the caseworker task the console finds, about the resident who asked and no one else."""

from __future__ import annotations

import uuid

from temporalio.worker import Worker

from contracts.timeline import EventRecord, Timeline
from deploy.portal import WorkflowCallRequests
from tests.support.time_skipping import time_skipping
from workflows.callback import CallbackWorkflow

RESIDENT = "res_Synthetic000000000001"


async def test_a_call_request_starts_a_caseworker_task_about_the_resident() -> None:
    queue = f"workflows-{uuid.uuid4().hex}"
    async with (
        time_skipping() as env,
        Worker(env.client, task_queue=queue, workflows=[CallbackWorkflow]),
    ):
        workflow_id = await WorkflowCallRequests(env.client, queue).request_call(RESIDENT)
        handle = env.client.get_workflow_handle(workflow_id)
        seen: Timeline | None = None
        for _ in range(100):
            seen = await handle.query("timeline", result_type=Timeline)
            if seen.needs_person:
                break
        record = await handle.query("record", result_type=EventRecord)
        await handle.terminate("the test is over")

    assert workflow_id.startswith("callback-")
    assert RESIDENT not in workflow_id
    assert seen is not None
    assert seen.caseworker_tasks == ["call-me"]
    assert record.about == (RESIDENT,)
