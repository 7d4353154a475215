"""Dead letters: the original record, byte for byte, plus headers that say why (codes only)."""

from __future__ import annotations

from dataclasses import dataclass

from aiokafka import AIOKafkaProducer

from contracts import KafkaRecord
from contracts.topics import (
    DLQ_ATTEMPTS_HEADER,
    DLQ_ORIGINAL_OFFSET_HEADER,
    DLQ_ORIGINAL_PARTITION_HEADER,
    DLQ_ORIGINAL_TOPIC_HEADER,
    DLQ_REASON_HEADER,
)
from services.common.metrics import EVENTS_DEAD_LETTERED

__all__ = ["DLQ_VIOLATIONS_HEADER", "DeadLetters", "Origin", "dead_letter_headers"]

# Field locations and rule codes (`data.movers[0].nhs_number:nhs_check_digit`), never values.
DLQ_VIOLATIONS_HEADER = "dlq_violations"


@dataclass(frozen=True)
class Origin:
    topic: str
    partition: int
    offset: int


def dead_letter_headers(
    record: KafkaRecord, origin: Origin, *, reason: str, attempts: int, violations: str = ""
) -> list[tuple[str, bytes]]:
    # Headers a previous trip through the DLQ added are replaced, not stacked.
    kept = [(k, v) for k, v in record.headers if not k.startswith("dlq_")]
    added = [
        (DLQ_REASON_HEADER, reason),
        (DLQ_ATTEMPTS_HEADER, str(attempts)),
        (DLQ_ORIGINAL_TOPIC_HEADER, origin.topic),
        (DLQ_ORIGINAL_PARTITION_HEADER, str(origin.partition)),
        (DLQ_ORIGINAL_OFFSET_HEADER, str(origin.offset)),
    ]
    if violations:
        added.append((DLQ_VIOLATIONS_HEADER, violations))
    return kept + [(k, v.encode()) for k, v in added]


class DeadLetters:
    """Writes to `lifeevents.v1.dlq` with a producer of its own, so bytes pass through untouched."""

    def __init__(self, producer: AIOKafkaProducer, topic: str) -> None:
        self.producer = producer
        self.topic = topic

    async def send(
        self,
        record: KafkaRecord,
        origin: Origin,
        *,
        reason: str,
        attempts: int,
        violations: str = "",
    ) -> None:
        await self.producer.send_and_wait(
            self.topic,
            value=record.value,
            key=record.key,
            headers=dead_letter_headers(
                record, origin, reason=reason, attempts=attempts, violations=violations
            ),
        )
        EVENTS_DEAD_LETTERED.labels(reason=reason).inc()
