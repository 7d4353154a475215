"""What the orchestrator decides for one record, with the starter and the DLQ faked (fast)."""

from __future__ import annotations

from typing import Any

import pytest

from contracts import CloudEvent, KafkaRecord, to_binary
from services.orchestrator.deadletter import Origin
from services.orchestrator.orchestrator import Disposition, Orchestrator
from services.orchestrator.starter import StartResult, TemporalUnavailable
from tests.services.orchestrator.support import move_event

ORIGIN = Origin("lifeevents.v1", 0, 7)


class FakeStarter:
    def __init__(self, *outcomes: StartResult | Exception) -> None:
        self.outcomes = list(outcomes)
        self.started: list[tuple[str, str]] = []

    async def start(self, event: CloudEvent[Any], workflow_name: str) -> StartResult:
        self.started.append((event.id, workflow_name))
        outcome = self.outcomes.pop(0) if self.outcomes else StartResult.STARTED
        if isinstance(outcome, Exception):
            raise outcome
        return outcome


class FakeDeadLetters:
    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    async def send(
        self,
        record: KafkaRecord,
        origin: Origin,
        *,
        reason: str,
        attempts: int,
        violations: str = "",
    ) -> None:
        self.sent.append(
            {
                "record": record,
                "origin": origin,
                "reason": reason,
                "attempts": attempts,
                "violations": violations,
            }
        )


def orchestrator(starter: FakeStarter, dlq: FakeDeadLetters) -> Orchestrator:
    return Orchestrator(starter, dlq, max_attempts=3)  # type: ignore[arg-type]


async def test_a_valid_event_starts_its_workflow() -> None:
    starter, dlq = FakeStarter(), FakeDeadLetters()
    event = move_event()
    assert await orchestrator(starter, dlq).process(to_binary(event), ORIGIN) is Disposition.STARTED
    assert starter.started == [(event.id, "MoveWorkflow")]
    assert dlq.sent == []


async def test_an_event_already_processed_is_acknowledged_not_restarted() -> None:
    starter, dlq = FakeStarter(StartResult.ALREADY_DONE), FakeDeadLetters()
    disposition = await orchestrator(starter, dlq).process(to_binary(move_event()), ORIGIN)
    assert disposition is Disposition.ALREADY_DONE


async def test_junk_is_dead_lettered_at_once() -> None:
    starter, dlq = FakeStarter(), FakeDeadLetters()
    record = KafkaRecord(key=b"k", value=b"\xff{not json", headers=[("content-type", b"x")])
    disposition = await orchestrator(starter, dlq).process(record, ORIGIN)
    assert disposition is Disposition.DEAD_LETTERED
    assert starter.started == []
    [letter] = dlq.sent
    assert letter["reason"] == "contract_violation"
    assert letter["attempts"] == 1
    assert letter["origin"] == ORIGIN


async def test_an_invalid_event_names_fields_and_rules_but_no_values() -> None:
    starter, dlq = FakeStarter(), FakeDeadLetters()
    good = to_binary(move_event())
    bad_value = good.value.replace(b'"9990000026"', b'"9990000027"')  # NHS check digit broken
    assert bad_value != good.value
    record = KafkaRecord(key=good.key, value=bad_value, headers=good.headers)
    assert await orchestrator(starter, dlq).process(record, ORIGIN) is Disposition.DEAD_LETTERED
    [letter] = dlq.sent
    assert "data.movers[1].nhs_number" in letter["violations"]
    assert "9990000027" not in letter["violations"]


async def test_an_unknown_type_is_dead_lettered_with_its_reason() -> None:
    starter, dlq = FakeStarter(), FakeDeadLetters()
    good = to_binary(move_event())
    headers = [
        (k, b"lifeevents.marriage.registered.v1" if k == "ce_type" else v) for k, v in good.headers
    ]
    record = KafkaRecord(key=good.key, value=good.value, headers=headers)
    assert await orchestrator(starter, dlq).process(record, ORIGIN) is Disposition.DEAD_LETTERED
    assert dlq.sent[0]["reason"] == "unknown_event_type"


async def test_an_unexpected_failure_is_retried_then_dead_lettered() -> None:
    starter = FakeStarter(*(RuntimeError("boom") for _ in range(3)))
    dlq = FakeDeadLetters()
    subject = orchestrator(starter, dlq)
    record = to_binary(move_event())
    assert await subject.process(record, ORIGIN) is Disposition.RETRY
    assert await subject.process(record, ORIGIN) is Disposition.RETRY
    assert await subject.process(record, ORIGIN) is Disposition.DEAD_LETTERED
    assert dlq.sent[0]["reason"] == "processing_failed"
    assert dlq.sent[0]["attempts"] == 3


async def test_temporal_unavailable_is_never_dead_lettered() -> None:
    starter = FakeStarter(*(TemporalUnavailable("wf") for _ in range(5)))
    dlq = FakeDeadLetters()
    subject = orchestrator(starter, dlq)
    for _ in range(5):
        with pytest.raises(TemporalUnavailable):
            await subject.process(to_binary(move_event()), ORIGIN)
    assert dlq.sent == []
