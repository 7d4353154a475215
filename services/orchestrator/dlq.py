"""Read the dead-letter topic and put chosen records back on their original topic."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from contracts.topics import DLQ_ORIGINAL_TOPIC_HEADER
from services.common.kafka import KafkaAccess, KafkaTarget
from services.common.topics import partitions_of

__all__ = ["DeadLetter", "read_dead_letters", "republish"]


@dataclass(frozen=True)
class DeadLetter:
    partition: int
    offset: int
    key: bytes | None
    value: bytes
    headers: tuple[tuple[str, bytes], ...]

    @property
    def ref(self) -> str:
        """How an operator names this dead letter: `partition:offset`."""
        return f"{self.partition}:{self.offset}"

    def header(self, name: str) -> str:
        return next((v.decode(errors="replace") for k, v in self.headers if k == name), "")

    @property
    def original_headers(self) -> list[tuple[str, bytes]]:
        return [(k, v) for k, v in self.headers if not k.startswith("dlq_")]


async def read_dead_letters(kafka: KafkaTarget, topic: str) -> list[DeadLetter]:
    """Every record on the dead-letter topic, without joining (or moving) any consumer group."""
    assigned = await partitions_of(kafka, topic)
    if not assigned:
        return []
    consumer = AIOKafkaConsumer(**KafkaAccess.of(kafka).client_kwargs(), enable_auto_commit=False)
    await consumer.start()
    try:
        consumer.assign(assigned)
        await consumer.seek_to_beginning(*assigned)
        ends = await consumer.end_offsets(assigned)
        letters: list[DeadLetter] = []
        while [tp for tp in assigned if await consumer.position(tp) < ends[tp]]:
            batches = await consumer.getmany(*assigned, timeout_ms=1000)
            for records in batches.values():
                letters.extend(
                    DeadLetter(r.partition, r.offset, r.key, r.value or b"", tuple(r.headers))
                    for r in records
                )
        return sorted(letters, key=lambda d: (d.partition, d.offset))
    finally:
        await consumer.stop()


async def republish(kafka: KafkaTarget, letters: Iterable[DeadLetter]) -> int:
    """Send each dead letter's original record back to its original topic; returns the count."""
    producer = AIOKafkaProducer(
        **KafkaAccess.of(kafka).client_kwargs(), acks="all", enable_idempotence=True
    )
    await producer.start()
    sent = 0
    try:
        for letter in letters:
            await producer.send_and_wait(
                letter.header(DLQ_ORIGINAL_TOPIC_HEADER),
                value=letter.value,
                key=letter.key,
                headers=letter.original_headers,
            )
            sent += 1
    finally:
        await producer.stop()
    return sent
