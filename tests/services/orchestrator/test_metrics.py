"""The orchestrator's counters move as records are answered: received (by outcome), started
(by workflow), and dead-lettered (by reason) only once the real Kafka took the dead letter."""

from __future__ import annotations

import uuid

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from prometheus_client import REGISTRY

from contracts import KafkaRecord, to_binary
from contracts.topics import DLQ_REASON_HEADER
from deploy.local.stack import StackConfig
from services.common.topics import ensure_topics
from services.orchestrator.deadletter import DeadLetters, Origin
from services.orchestrator.orchestrator import Disposition, Orchestrator
from tests.services.orchestrator.support import move_event
from tests.services.orchestrator.test_orchestrator import FakeStarter

COUNTERS = {
    "received_started": ("lifeevents_events_received_total", {"outcome": "started"}),
    "received_dead": ("lifeevents_events_received_total", {"outcome": "dead_lettered"}),
    "started": (
        "lifeevents_workflows_started_total",
        {"workflow": "MoveWorkflow", "result": "started"},
    ),
    "dead_invalid": ("lifeevents_events_dead_lettered_total", {"reason": "contract_violation"}),
}


def counted() -> dict[str, float]:
    return {
        name: REGISTRY.get_sample_value(metric, labels) or 0.0
        for name, (metric, labels) in COUNTERS.items()
    }


@pytest.mark.stack
async def test_records_answered_are_counted_by_outcome_workflow_and_reason(
    stack: StackConfig,
) -> None:
    dlq = f"test-dlq-{uuid.uuid4().hex[:8]}"
    await ensure_topics(stack.kafka_bootstrap_servers, [dlq], 1, 1)
    producer = AIOKafkaProducer(bootstrap_servers=stack.kafka_bootstrap_servers, acks="all")
    await producer.start()
    before = counted()
    try:
        orchestrator = Orchestrator(
            FakeStarter(),  # type: ignore[arg-type]
            DeadLetters(producer, dlq),
            max_attempts=3,
        )
        valid = to_binary(move_event())
        junk = KafkaRecord(key=None, value=b"{not json", headers=list(valid.headers))
        assert await orchestrator.process(valid, Origin("lifeevents.v1", 0, 1)) == (
            Disposition.STARTED
        )
        assert await orchestrator.process(junk, Origin("lifeevents.v1", 0, 2)) == (
            Disposition.DEAD_LETTERED
        )
    finally:
        await producer.stop()

    moved = {name: value - before[name] for name, value in counted().items()}
    assert moved == {"received_started": 1, "received_dead": 1, "started": 1, "dead_invalid": 1}
    # The label is the reason the dead letter itself carries.
    consumer = AIOKafkaConsumer(
        dlq, bootstrap_servers=stack.kafka_bootstrap_servers, auto_offset_reset="earliest"
    )
    await consumer.start()
    try:
        letter = await consumer.getone()
    finally:
        await consumer.stop()
    assert dict(letter.headers)[DLQ_REASON_HEADER] == b"contract_violation"
