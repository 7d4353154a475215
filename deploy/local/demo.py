"""Demo data for `lifeevents run`: the contract examples' life events (synthetic people),
published once. The examples of a withdrawal and a correction are not: they take back and
put right the example death and move, which is for a newcomer to try by hand.

The examples carry fixed event IDs, so publishing them on every run starts each workflow only
the first time: the rest are de-duplicated like any redelivery.
"""

from __future__ import annotations

from pathlib import Path

from aiokafka import AIOKafkaProducer

import contracts
from contracts import from_structured, to_binary
from contracts.events.amendment import AMENDABLE_TYPES
from services.common.kafka import kafka_access
from services.common.settings import Settings
from services.common.topics import ensure_topics

__all__ = ["DEMO_RESIDENT_EMAIL", "EXAMPLES", "publish_demo_events"]

EXAMPLES = Path(contracts.__file__).parent / "examples"

# The mover of the example move (synthetic): its workflow asks them about a school place, so
# a newcomer who signs in as them has a question waiting.
DEMO_RESIDENT_EMAIL = "pat.placeholder@example.org"


async def publish_demo_events(settings: Settings) -> int:
    examples = [from_structured(path.read_bytes()) for path in sorted(EXAMPLES.glob("*.json"))]
    events = [event for event in examples if event.type in AMENDABLE_TYPES]
    kafka = kafka_access(settings)
    await ensure_topics(
        kafka,
        [settings.life_events_topic],
        settings.kafka_topic_partitions,
        settings.kafka_topic_replication,
    )
    producer = AIOKafkaProducer(**kafka.client_kwargs(), acks="all", enable_idempotence=True)
    await producer.start()
    try:
        for event in events:
            record = to_binary(event)
            await producer.send_and_wait(
                settings.life_events_topic,
                value=record.value,
                key=record.key,
                headers=list(record.headers),
            )
    finally:
        await producer.stop()
    return len(events)
