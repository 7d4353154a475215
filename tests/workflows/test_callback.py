"""CallbackWorkflow ("I would like a person to call me") in the time-skipping environment,
started as the portal starts it: by name, under a `callback-<uuid4>` ID, with a
`CallbackRequest`. One caseworker task, `call-me`, that the caseworker console finds by
`NeedsPerson`; closed by `resolve_task`, escalated when it is not closed in time."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError
from temporalio.testing import WorkflowEnvironment
from temporalio.workflow import _Definition

from contracts.temporal import CALLBACK_WORKFLOW, SearchAttributes, callback_id
from contracts.timeline import CallbackRequest, Confirmation, EventRecord, Outcome
from tests.support.histories import keep_history
from tests.support.standins import Council, running, statuses, timeline, until
from tests.support.time_skipping import time_skipping
from workflows.callback import CallbackWorkflow
from workflows.lifeevents import WORKFLOWS

RESIDENT = "res_Synthetic000000000001"
MOVE_WORKFLOW = "lifeevent-0123456789abcdef0123456789abcdef"


@pytest.fixture
async def time_skipping_env() -> AsyncIterator[WorkflowEnvironment]:
    """A server of its own per test: days are skipped here, which on a shared server would
    fire the timers of workflows other tests left behind."""
    async with time_skipping() as env:
        yield env


async def request_call(
    env: WorkflowEnvironment, queue: str, **request: Any
) -> WorkflowHandle[Any, Any]:
    """As the portal does: by the workflow's name, with none of the workflow code."""
    return await env.client.start_workflow(
        CALLBACK_WORKFLOW,
        CallbackRequest(resident=RESIDENT, **request),
        id=callback_id(),
        task_queue=queue,
        result_type=Outcome,
    )


async def search_attributes(handle: WorkflowHandle[Any, Any]) -> dict[str, Any]:
    described = await handle.describe()
    return {
        key.name: described.typed_search_attributes.get(key)
        for key in (
            SearchAttributes.LIFE_EVENT_TYPE,
            SearchAttributes.LIFE_EVENT_ID,
            SearchAttributes.STAGE,
            SearchAttributes.NEEDS_PERSON,
        )
    }


async def test_a_call_request_is_a_caseworker_task_until_a_caseworker_closes_it(
    time_skipping_env: WorkflowEnvironment,
) -> None:
    env = time_skipping_env
    async with running(env.client, Council()) as queue:
        handle = await request_call(env, queue, regarding=MOVE_WORKFLOW, step="school-admissions")
        seen = await until(handle, lambda t: t.stage == "needs_person")
        assert seen.needs_person
        assert seen.caseworker_tasks == ["call-me"]
        assert statuses(seen) == {"call-me": "needs_person:call_requested"}
        [entry] = seen.entries
        assert entry.references == {"regarding": MOVE_WORKFLOW, "step": "school-admissions"}
        assert await search_attributes(handle) == {
            "LifeEventType": "lifeevents.callback.requested.v1",
            "LifeEventId": handle.id,
            "LifeEventStage": "needs_person",
            "NeedsPerson": True,
        }
        # The portal reads it as any other: it is about the resident who asked.
        record = await handle.query("record", result_type=EventRecord)
        assert record.about == (RESIDENT,)
        assert (record.event_id, record.event_type) == (
            handle.id,
            "lifeevents.callback.requested.v1",
        )
        # Nothing else is open, and nothing waits for an answer.
        with pytest.raises(WorkflowUpdateFailedError):
            await handle.execute_update("resolve_task", "confirm:call-me")
        with pytest.raises(WorkflowUpdateFailedError):
            await handle.execute_update(
                "confirm", Confirmation(step="call-me", accept=True), result_type=Any
            )
        await handle.execute_update("resolve_task", "call-me")
        outcome = await handle.result()
        seen = await timeline(handle)
        attributes = await search_attributes(handle)
        await keep_history(handle, "callback-resolved")
    assert (outcome.type, outcome.id, outcome.stage) == (
        "lifeevents.callback.requested.v1",
        handle.id,
        "complete",
    )
    assert not seen.needs_person
    assert seen.caseworker_tasks == []
    assert statuses(seen) == {"call-me": "done"}
    assert seen.entries[0].outcome == "resolved_by_caseworker"
    assert (attributes["LifeEventStage"], attributes["NeedsPerson"]) == ("complete", False)


async def test_a_call_request_not_dealt_with_in_five_days_is_escalated(
    time_skipping_env: WorkflowEnvironment,
) -> None:
    env = time_skipping_env
    async with running(env.client, Council()) as queue:
        handle = await request_call(env, queue)
        seen = await until(handle, lambda t: t.stage == "needs_person")
        assert seen.entries[0].references == {}
        await env.sleep(timedelta(days=4, hours=23))
        assert (await timeline(handle)).stage == "needs_person"
        await env.sleep(timedelta(hours=2))
        seen = await until(handle, lambda t: t.stage == "escalated")
        assert seen.needs_person
        assert seen.caseworker_tasks == ["call-me"]
        assert (await search_attributes(handle))["LifeEventStage"] == "escalated"
        await handle.execute_update("resolve_task", "call-me")
        outcome = await handle.result()
        await keep_history(handle, "callback-escalated")
    assert outcome.stage == "complete"


def test_the_portal_starts_it_by_a_name_the_worker_runs_under_an_id_of_no_one() -> None:
    assert _Definition.must_from_class(CallbackWorkflow).name == "CallbackWorkflow"
    assert CALLBACK_WORKFLOW == "CallbackWorkflow"
    assert CallbackWorkflow in WORKFLOWS
    first, second = callback_id(), callback_id()
    pattern = r"^callback-[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$"
    assert re.match(pattern, first)
    assert first != second
