"""One event delivered three ways — on Kafka, through the intake API, on Kafka again — starts
exactly one workflow."""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.client import Client

from contracts import from_structured
from contracts.temporal import workflow_id_for
from tests.services.intake.support import BIRTH, bearer, example, issue_key, make_settings, running
from tests.services.orchestrator.support import (
    Lane,
    OrchestratorProcess,
    eventually,
    settled_count,
)


@pytest.mark.stack
async def test_kafka_http_kafka_starts_one_workflow(
    lane: Lane, orchestrator: OrchestratorProcess, temporal_client: Client, tmp_path: Path
) -> None:
    intake = make_settings(
        tmp_path,
        kafka=lane.bootstrap,
        temporal=lane.temporal_address,
        life_events_topic=lane.topic,
        life_events_dlq_topic=lane.dlq_topic,
    )
    document = example(BIRTH)
    event = from_structured(document)
    key = await issue_key(intake, source=event.source, types=(BIRTH,))
    orchestrator.start()

    await lane.publish_events(event)
    async with running(intake) as client:
        answer = await client.post(
            "/v1/events",
            json=document,
            headers={**bearer(key), "Content-Type": "application/cloudevents+json"},
        )
    assert answer.status_code == 202, answer.text
    await lane.publish_events(event)

    await eventually(lane.consumed, 60, "all three deliveries committed")
    assert (await lane.committed()) == {0: 3}  # three records, each answered
    assert await settled_count(temporal_client, lane.task_queue, 1) == 1
    runs = [
        w
        async for w in temporal_client.list_workflows(
            f"WorkflowId = '{workflow_id_for(event.source, event.id)}'"
        )
    ]
    assert len(runs) == 1
