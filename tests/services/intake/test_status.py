"""What a source system hears about its event: accepted, running (with the stage), completed,
failed, dead-lettered; 403 for another source's event, 404 for one nobody knows."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaProducer
from temporalio import workflow
from temporalio.client import Client
from temporalio.common import SearchAttributePair, TypedSearchAttributes
from temporalio.worker import Worker

from contracts import from_structured, to_binary
from contracts.events.common import EventReference
from contracts.temporal import SearchAttributes, workflow_id_for
from contracts.timeline import Outcome
from contracts.topics import DLQ_ATTEMPTS_HEADER, DLQ_REASON_HEADER
from services.intake.settings import IntakeSettings
from tests.services.intake.support import SOURCE, bearer, example, issue_key, running
from workflows.diagnostics import StackCheckWorkflow
from workflows.worker import build_worker

pytestmark = pytest.mark.stack

EXAMPLE_TYPE = "lifeevents.address.changed.v1"


async def eventually(
    ask: Callable[[], Awaitable[httpx.Response]],
    done: Callable[[httpx.Response], bool],
    timeout: float = 30,
) -> httpx.Response:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        answer = await ask()
        if done(answer) or asyncio.get_running_loop().time() > deadline:
            return answer
        await asyncio.sleep(0.2)


def state(answer: httpx.Response) -> Any:
    return answer.json().get("status")


async def test_accepted_then_running_with_its_stage_then_completed(
    stack_settings: IntakeSettings, temporal_client: Client
) -> None:
    issued = await issue_key(stack_settings)
    event = example(id=f"case/2025/{uuid.uuid4().hex[:8]}")  # a "/" in the id, too
    task_queue = f"test-intake-{uuid.uuid4().hex[:8]}"
    async with running(stack_settings) as client:
        posted = await client.post("/v1/events", json=event, headers=bearer(issued))
        assert posted.status_code == 202, posted.text
        url = posted.json()["status_url"]
        assert "case%2F2025%2F" in url

        accepted = await client.get(url, headers=bearer(issued))
        assert accepted.status_code == 200, accepted.text
        assert accepted.json() | {"accepted_at": None} == {
            "source": SOURCE,
            "id": event["id"],
            "status": "accepted",
            "type": event["type"],
            "stage": None,
            "reason": None,
            "accepted_at": None,
            "merged_into": None,
        }
        assert accepted.json()["accepted_at"]

        # What the orchestrator would do: a workflow under the ID derived from source + id.
        # No worker polls the queue yet, so it stays running, at the stage it was given.
        handle = await temporal_client.start_workflow(
            StackCheckWorkflow.run,
            "status",
            id=workflow_id_for(SOURCE, event["id"]),
            task_queue=task_queue,
            search_attributes=TypedSearchAttributes(
                [SearchAttributePair(SearchAttributes.STAGE, "planning")]
            ),
        )
        running_now = await client.get(url, headers=bearer(issued))
        assert running_now.status_code == 200
        assert (state(running_now), running_now.json()["stage"]) == ("running", "planning")

        async with build_worker(temporal_client, task_queue):
            assert await handle.result() == "echo: status"
        completed = await eventually(
            lambda: client.get(url, headers=bearer(issued)), lambda a: state(a) == "completed"
        )
        assert completed.json()["status"] == "completed"
        assert completed.json()["stage"] is None


async def test_a_terminated_workflow_is_failed(
    stack_settings: IntakeSettings, temporal_client: Client
) -> None:
    issued = await issue_key(stack_settings)
    event_id = str(uuid.uuid4())
    handle = await temporal_client.start_workflow(
        StackCheckWorkflow.run,
        "never runs",
        id=workflow_id_for(SOURCE, event_id),
        task_queue=f"test-intake-{uuid.uuid4().hex[:8]}",
    )
    await handle.terminate(reason="ops stopped it")
    async with running(stack_settings) as client:
        # Sent straight to Kafka, never through the intake: the workflow alone tells.
        answer = await client.get(
            f"/v1/events/council-tax/exampleshire/{event_id}", headers=bearer(issued)
        )
    assert answer.status_code == 200, answer.text
    assert (state(answer), answer.json()["reason"]) == ("failed", "terminated")
    assert answer.json()["accepted_at"] is None


async def test_a_dead_lettered_event_says_so_with_its_reason(
    stack_settings: IntakeSettings,
) -> None:
    issued = await issue_key(stack_settings)
    record = to_binary(from_structured(example()))
    event_id = dict(record.headers)["ce_id"].decode()
    async with running(stack_settings) as client:
        url = f"/v1/events/council-tax/exampleshire/{event_id}"
        assert (await client.get(url, headers=bearer(issued))).status_code == 404
        # As the orchestrator dead-letters: the original ce_* headers plus dlq_* codes.
        producer = AIOKafkaProducer(
            bootstrap_servers=stack_settings.kafka_bootstrap_servers, acks="all"
        )
        await producer.start()
        try:
            await producer.send_and_wait(
                stack_settings.life_events_dlq_topic,
                value=record.value,
                key=record.key,
                headers=[
                    *record.headers,
                    (DLQ_REASON_HEADER, b"contract_violation"),
                    (DLQ_ATTEMPTS_HEADER, b"1"),
                ],
            )
        finally:
            await producer.stop()
        answer = await eventually(
            lambda: client.get(url, headers=bearer(issued)), lambda a: a.status_code == 200
        )
    assert answer.status_code == 200, answer.text
    assert (state(answer), answer.json()["reason"]) == ("dead_lettered", "contract_violation")
    assert set(answer.json()) == {
        "source",
        "id",
        "status",
        "type",
        "stage",
        "reason",
        "accepted_at",
        "merged_into",
    }


async def test_another_sources_event_is_403_and_an_unknown_one_404(
    stack_settings: IntakeSettings,
) -> None:
    issued = await issue_key(stack_settings)
    theirs = await issue_key(stack_settings, source="/housing/exampleshire")
    async with running(stack_settings) as client:
        posted = await client.post(
            "/v1/events", json=example(source="/housing/exampleshire"), headers=bearer(theirs)
        )
        assert posted.status_code == 202
        other = await client.get(posted.json()["status_url"], headers=bearer(issued))
        unknown = await client.get(
            f"/v1/events/council-tax/exampleshire/{uuid.uuid4()}", headers=bearer(issued)
        )
        no_key = await client.get(posted.json()["status_url"])
    assert other.status_code == 403
    assert other.json()["error"] == "not_your_event"
    assert unknown.status_code == 404
    assert no_key.status_code == 401


@workflow.defn(sandboxed=False)
class AnsweredWith:
    """A workflow that ends as a life-event workflow for another report of its event does."""

    @workflow.run
    async def run(self, outcome: Outcome) -> Outcome:
        return outcome


@pytest.mark.parametrize("stage", ["merged", "contradicted", "withdrawn", "corrected"])
async def test_another_report_of_an_event_says_which_event_it_was_merged_into(
    stack_settings: IntakeSettings, temporal_client: Client, stage: str
) -> None:
    issued = await issue_key(stack_settings)
    event_id = str(uuid.uuid4())
    first = EventReference(source="/housing/exampleshire", id="H-2026-000417")
    task_queue = f"test-intake-{uuid.uuid4().hex[:8]}"
    async with Worker(temporal_client, task_queue=task_queue, workflows=[AnsweredWith]):
        await temporal_client.execute_workflow(
            AnsweredWith.run,
            Outcome(type=EXAMPLE_TYPE, id=event_id, stage=stage, merged_into=first),
            id=workflow_id_for(SOURCE, event_id),
            task_queue=task_queue,
        )
    async with running(stack_settings) as client:
        answer = await client.get(
            f"/v1/events/council-tax/exampleshire/{event_id}", headers=bearer(issued)
        )
    assert answer.status_code == 200, answer.text
    assert (state(answer), answer.json()["merged_into"]) == (
        stage,
        {"source": "/housing/exampleshire", "id": "H-2026-000417"},
    )
