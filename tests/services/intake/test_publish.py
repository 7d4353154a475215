"""Against the real broker: an accepted event is on the topic, in binary mode, before the 202."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer
from aiokafka.structs import TopicPartition

from contracts import KafkaRecord, from_record
from services.intake.settings import IntakeSettings
from tests.services.intake.support import (
    BIRTH,
    DEATH,
    MOVE,
    SOURCE,
    bearer,
    example,
    issue_key,
    running,
)

pytestmark = pytest.mark.stack


async def read_topic(settings: IntakeSettings, count: int) -> list[KafkaRecord]:
    """Everything on the test's topic (one partition), up to its end offset."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap_servers, enable_auto_commit=False
    )
    await consumer.start()
    try:
        partition = TopicPartition(settings.life_events_topic, 0)
        consumer.assign([partition])
        await consumer.seek_to_beginning(partition)
        end = (await consumer.end_offsets([partition]))[partition]
        assert end == count, f"expected {count} records on the topic, found {end}"
        records: list[KafkaRecord] = []
        while len(records) < end:
            batch = await consumer.getmany(partition, timeout_ms=2000)
            records.extend(
                KafkaRecord(key=r.key, value=r.value, headers=list(r.headers))
                for r in batch.get(partition, [])
            )
        return records
    finally:
        await consumer.stop()


async def test_a_posted_event_lands_on_the_topic_in_binary_mode(
    stack_settings: IntakeSettings,
) -> None:
    issued = await issue_key(stack_settings, types=[MOVE])
    event = example(MOVE)
    async with running(stack_settings) as client:
        answer = await client.post(
            "/v1/events",
            json=event,
            headers={**bearer(issued), "Content-Type": "application/cloudevents+json"},
        )
        assert answer.status_code == 202, answer.text
        # 202 means acknowledged by Kafka: the record is readable now, without waiting.
        (record,) = await read_topic(stack_settings, 1)
        status = await client.get(answer.json()["status_url"], headers=bearer(issued))

    body = answer.json()
    url = f"http://intake.test/v1/events{SOURCE}/{event['id']}"
    assert body == {
        "id": event["id"],
        "source": SOURCE,
        "type": MOVE,
        "status": "accepted",
        "status_url": url,
    }
    assert answer.headers["location"] == url

    headers = dict(record.headers)
    assert headers["content-type"] == b"application/json"
    assert headers["ce_id"] == event["id"].encode()
    assert headers["ce_source"] == SOURCE.encode()
    assert headers["ce_type"] == MOVE.encode()
    assert record.key == event["subject"].encode()
    parsed = from_record(record)
    assert parsed.id == event["id"]
    assert parsed.data.model_dump(mode="json", exclude_none=True) == _without_nones(event["data"])
    assert not record.value.startswith(b'{"specversion"')  # the payload, not the envelope

    assert status.status_code == 200
    assert status.json()["status"] == "accepted"


def _without_nones(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_nones(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_nones(v) for v in value]
    return value


async def test_a_batch_answers_per_event(stack_settings: IntakeSettings) -> None:
    issued = await issue_key(stack_settings, types=[MOVE, BIRTH])
    valid = [example(MOVE), example(BIRTH), example(MOVE)]
    invalid_event = example(MOVE)
    invalid_event["data"]["move_date"] = "yesterday"
    batch: list[Any] = [
        valid[0],
        invalid_event,
        valid[1],
        example(DEATH),  # a type this key may not send
        example(MOVE, source="/housing/elsewhere"),  # another source
        "not an event",
        valid[2],
    ]
    async with running(stack_settings) as client:
        answer = await client.post("/v1/events:batch", json=batch, headers=bearer(issued))
        records = await read_topic(stack_settings, 3)

    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["accepted"], body["rejected"]) == (3, 4)
    results = body["results"]
    assert [r["index"] for r in results] == list(range(7))
    assert [r["status"] for r in results] == [202, 422, 202, 403, 403, 422, 202]
    assert [r["id"] for r in results] == [
        valid[0]["id"],
        invalid_event["id"],
        valid[1]["id"],
        batch[3]["id"],
        batch[4]["id"],
        None,
        valid[2]["id"],
    ]
    assert results[1]["violations"][0]["loc"] == "data.move_date"
    assert results[3]["error"] == "type_not_allowed"
    assert results[4]["error"] == "source_not_allowed"
    assert all(r["status_url"] for r in results if r["status"] == 202)
    assert sorted(from_record(r).id for r in records) == sorted(e["id"] for e in valid)


async def test_the_same_event_twice_is_accepted_twice(stack_settings: IntakeSettings) -> None:
    # A caller that did not hear the first answer sends again with the same id; the
    # orchestrator de-duplicates on source + id, so the intake need not.
    issued = await issue_key(stack_settings)
    event = example(MOVE, id=str(uuid.uuid4()))
    async with running(stack_settings) as client:
        first = await client.post("/v1/events", json=event, headers=bearer(issued))
        second = await client.post("/v1/events", json=event, headers=bearer(issued))
    assert (first.status_code, second.status_code) == (202, 202)
