"""The orchestrator as a real process against the real Kafka and Temporal."""

from __future__ import annotations

import uuid

import pytest
from aiokafka import AIOKafkaConsumer
from temporalio.client import Client

from contracts import KafkaRecord, to_binary
from contracts.temporal import workflow_id_for
from contracts.topics import (
    DLQ_ATTEMPTS_HEADER,
    DLQ_ORIGINAL_OFFSET_HEADER,
    DLQ_ORIGINAL_PARTITION_HEADER,
    DLQ_ORIGINAL_TOPIC_HEADER,
    DLQ_REASON_HEADER,
)
from services.orchestrator.deadletter import DLQ_VIOLATIONS_HEADER
from tests.services.orchestrator.support import (
    Lane,
    OrchestratorProcess,
    birth_event,
    eventually,
    move_event,
    settled_count,
)
from tests.support.standins import finishing_births

pytestmark = pytest.mark.stack


async def read_all(
    bootstrap: str, topic: str
) -> list[tuple[bytes | None, bytes, dict[str, bytes]]]:
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        auto_offset_reset="earliest",
        group_id=f"reader-{uuid.uuid4().hex}",
    )
    await consumer.start()
    try:
        batches = await consumer.getmany(timeout_ms=5_000)
        return [(r.key, r.value or b"", dict(r.headers)) for rs in batches.values() for r in rs]
    finally:
        await consumer.stop()


async def test_a_poison_record_is_dead_lettered_and_the_partition_moves_on(
    lane: Lane, orchestrator: OrchestratorProcess, temporal_client: Client
) -> None:
    first, last = move_event(), move_event()
    valid = to_binary(move_event())
    invalid = KafkaRecord(  # parseable, but an NHS number with a broken check digit
        key=valid.key,
        value=valid.value.replace(b'"9990000026"', b'"9990000027"'),
        headers=valid.headers,
    )
    # Not JSON, and a header that is not even UTF-8: still dead-lettered byte for byte.
    junk = KafkaRecord(
        key=b"junk-key-0001", value=b"\xff\xfe not json", headers=[("ce_type", b"\xff\xfe")]
    )
    await lane.publish(to_binary(first), junk, invalid, to_binary(last))
    orchestrator.start()

    await eventually(lane.consumed, 60, "every record committed")
    assert await settled_count(temporal_client, lane.task_queue, 2) == 2
    for event in (first, last):
        await temporal_client.get_workflow_handle(
            workflow_id_for(event.source, event.id)
        ).describe()

    letters = await read_all(lane.bootstrap, lane.dlq_topic)
    assert [value for _, value, _ in letters] == [junk.value, invalid.value]
    (junk_key, _, junk_headers), (_, _, invalid_headers) = letters
    assert junk_key == junk.key
    assert junk_headers["ce_type"] == b"\xff\xfe"
    assert junk_headers[DLQ_REASON_HEADER] == b"contract_violation"
    assert junk_headers[DLQ_ORIGINAL_TOPIC_HEADER] == lane.topic.encode()
    assert junk_headers[DLQ_ORIGINAL_PARTITION_HEADER] == b"0"
    assert junk_headers[DLQ_ORIGINAL_OFFSET_HEADER] == b"1"
    assert junk_headers[DLQ_ATTEMPTS_HEADER] == b"1"
    assert invalid_headers[DLQ_ORIGINAL_OFFSET_HEADER] == b"2"
    assert invalid_headers["ce_id"] == dict(valid.headers)["ce_id"]
    violations = invalid_headers[DLQ_VIOLATIONS_HEADER].decode()
    assert "data.movers[1].nhs_number" in violations
    assert "9990000027" not in violations


async def test_the_same_event_delivered_again_starts_nothing_new(
    lane: Lane, orchestrator: OrchestratorProcess, temporal_client: Client
) -> None:
    event = birth_event()
    orchestrator.start()
    await lane.publish_events(event)
    await eventually(lane.consumed, 60, "first delivery committed")
    handle = temporal_client.get_workflow_handle(workflow_id_for(event.source, event.id))
    async with finishing_births(temporal_client, lane.task_queue):
        await handle.result()  # closed: a new start would need REJECT_DUPLICATE to refuse it
    await lane.publish_events(event, event)
    await eventually(lane.consumed, 60, "redeliveries committed")
    assert await settled_count(temporal_client, lane.task_queue, 1) == 1
    assert [w async for w in temporal_client.list_workflows(f"WorkflowId = '{handle.id}'")]


async def test_a_backlog_published_while_down_is_all_started(
    lane: Lane, orchestrator: OrchestratorProcess, temporal_client: Client
) -> None:
    events = [move_event(subject=f"backlog-subject-{i % 40:04d}") for i in range(1000)]
    await lane.publish_events(*events)
    orchestrator.start()
    await eventually(lane.consumed, 240, "1000 records committed")
    assert await settled_count(temporal_client, lane.task_queue, 1000) == 1000


async def test_a_kill_between_start_and_commit_loses_nothing_and_doubles_nothing(
    lane: Lane, orchestrator: OrchestratorProcess, temporal_client: Client
) -> None:
    events = [move_event() for _ in range(30)]
    await lane.publish_events(*events)
    orchestrator.start(LIFEEVENTS_ORCHESTRATOR_KILL_AFTER_STARTS="10")
    assert orchestrator.wait(timeout=60) == -9  # SIGKILL, from inside, after the 10th start
    # Workflows were started for records whose offsets were never committed.
    started = await settled_count(temporal_client, lane.task_queue, 10)
    assert started >= 10
    assert (await lane.committed()).get(0, 0) < started

    orchestrator.start()
    await eventually(lane.consumed, 60, "every record committed after the restart")
    assert await settled_count(temporal_client, lane.task_queue, 30) == 30
    for event in events:
        handle = temporal_client.get_workflow_handle(workflow_id_for(event.source, event.id))
        runs = [w async for w in temporal_client.list_workflows(f"WorkflowId = '{handle.id}'")]
        assert len(runs) == 1
