"""The raw Kafka baseline: plain aiokafka, the same number of records of the same size on the
same broker, produced as the generator produces (acks=all, idempotence) at once or at a rate,
and consumed by a plain consumer; each record's latency is from its send to its consumption."""

from __future__ import annotations

import asyncio
import os
import struct
import time
import uuid

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from contracts.topics import LIFE_EVENTS
from services.common.topics import ensure_topics

__all__ = ["produce_consume"]


async def produce_consume(
    bootstrap: str, count: int, size: int, rate: float | None = None
) -> tuple[list[float], list[float]]:
    """Each record's send time and consumption time (epoch seconds), in order of sending."""
    topic = f"bench-raw-{uuid.uuid4().hex[:8]}"
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", group_id=topic
    )
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, acks="all", enable_idempotence=True, linger_ms=5
    )
    await producer.start()
    padding = os.urandom(max(0, size - 8))
    sent = [0.0] * count
    received = [0.0] * count
    try:
        # As many partitions as the life events' topic, made before anyone uses it.
        partitions = len(await producer.partitions_for(LIFE_EVENTS))
        await ensure_topics(bootstrap, [topic], partitions=partitions)
        # The consumer holds its partitions before the clock starts.
        await producer.send_and_wait(topic, b"warm")
        await consumer.start()
        await consumer.getone()

        async def consume() -> None:
            left = count
            while left:
                batches = await consumer.getmany(timeout_ms=500)
                now = time.time()
                for records in batches.values():
                    for record in records:
                        (number,) = struct.unpack(">Q", record.value[:8])
                        received[number] = now
                        left -= 1

        consuming = asyncio.create_task(consume())
        begun = time.monotonic()
        deliveries = []
        for number in range(count):
            if rate:
                await asyncio.sleep(max(0.0, begun + number / rate - time.monotonic()))
            sent[number] = time.time()
            deliveries.append(await producer.send(topic, struct.pack(">Q", number) + padding))
        await asyncio.gather(*deliveries)
        await asyncio.wait_for(consuming, 300)
    finally:
        await producer.stop()
        await consumer.stop()
    return sent, received
