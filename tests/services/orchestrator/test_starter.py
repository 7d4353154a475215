"""The workflow starter: one workflow per event ID, and patience with an absent Temporal."""

from __future__ import annotations

import socket
import time
import uuid

import pytest
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.contrib.pydantic import pydantic_data_converter

from contracts.temporal import workflow_id_for
from services.orchestrator.starter import StartResult, TemporalUnavailable, WorkflowStarter
from tests.services.orchestrator.support import birth_event, move_event
from tests.support.standins import finishing_births


def starter(client: Client, task_queue: str, retry_window: float = 30.0) -> WorkflowStarter:
    return WorkflowStarter(
        client, task_queue=task_queue, council_area="E06000099", retry_window=retry_window
    )


@pytest.mark.stack
async def test_starting_twice_makes_one_workflow_and_after_it_closed_none(
    temporal_client: Client,
) -> None:
    task_queue = f"test-{uuid.uuid4().hex}"
    subject = starter(temporal_client, task_queue)
    event = birth_event()
    assert await subject.start(event, "BirthWorkflow") is StartResult.STARTED
    assert await subject.start(event, "BirthWorkflow") is StartResult.STARTED  # running: reused
    handle = temporal_client.get_workflow_handle(workflow_id_for(event.source, event.id))
    async with finishing_births(temporal_client, task_queue):
        outcome = await handle.result()
    assert outcome["stage"] == "complete"
    assert await subject.start(event, "BirthWorkflow") is StartResult.ALREADY_DONE
    described = await handle.describe()
    assert described.status == WorkflowExecutionStatus.COMPLETED
    runs = [w async for w in temporal_client.list_workflows(f"WorkflowId = '{handle.id}'")]
    assert len(runs) == 1


@pytest.mark.stack
async def test_search_attributes_carry_no_personal_data(temporal_client: Client) -> None:
    task_queue = f"test-{uuid.uuid4().hex}"
    event = move_event()
    await starter(temporal_client, task_queue).start(event, "MoveWorkflow")
    handle = temporal_client.get_workflow_handle(workflow_id_for(event.source, event.id))
    attributes = (await handle.describe()).typed_search_attributes
    values = {pair.key.name: pair.value for pair in attributes}
    assert values["LifeEventType"] == "lifeevents.address.changed.v1"
    assert values["LifeEventId"] == event.id
    assert values["CouncilArea"] == "E06000099"
    rendered = repr(values) + handle.id
    for person in event.data.movers:
        assert person.name.family_name not in rendered
    await handle.terminate()


async def test_an_unreachable_temporal_is_retried_then_reported_as_unavailable() -> None:
    with socket.socket() as probe:
        probe.bind(("localhost", 0))
        closed_port = probe.getsockname()[1]
    client = await Client.connect(
        f"localhost:{closed_port}", data_converter=pydantic_data_converter, lazy=True
    )
    began = time.monotonic()
    with pytest.raises(TemporalUnavailable):
        await starter(client, "unused", retry_window=3.0).start(move_event(), "MoveWorkflow")
    assert 1.0 < time.monotonic() - began < 10.0  # it waited with backoff, then gave up
