"""A message published with acks=all reaches a FastStream subscriber in a consumer group.

One behaviour, run twice: in memory (FastStream's TestKafkaBroker) and against the real broker,
where the group's committed offset is checked too.
"""

from __future__ import annotations

import asyncio
import uuid

import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.structs import TopicPartition
from faststream import AckPolicy
from faststream.kafka import KafkaBroker, TestKafkaBroker

from services.common.kafka import make_broker
from services.common.settings import Settings

GROUP = "test-consumers"


def subscribed_broker(
    bootstrap: str, topic: str
) -> tuple[KafkaBroker, asyncio.Future[dict[str, int]]]:
    broker = make_broker(Settings(kafka_bootstrap_servers=bootstrap), client_id="test")
    received: asyncio.Future[dict[str, int]] = asyncio.get_running_loop().create_future()

    @broker.subscriber(
        topic, group_id=GROUP, auto_offset_reset="earliest", ack_policy=AckPolicy.ACK
    )
    async def handle(body: dict[str, int]) -> None:
        if not received.done():
            received.set_result(body)

    return broker, received


async def test_in_memory() -> None:
    topic = f"test.{uuid.uuid4().hex}"
    broker, received = subscribed_broker("localhost:1", topic)
    async with TestKafkaBroker(broker) as test_broker:
        await test_broker.publish({"n": 1}, topic)
        assert await asyncio.wait_for(received, 5) == {"n": 1}


@pytest.mark.stack
async def test_real_broker(kafka_bootstrap: str) -> None:
    topic = f"test.{uuid.uuid4().hex}"
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)])
        broker, received = subscribed_broker(kafka_bootstrap, topic)
        async with broker:
            await broker.start()
            await broker.publish({"n": 1}, topic)
            assert await asyncio.wait_for(received, 30) == {"n": 1}
            # At-least-once: the group commits only after the handler returned.
            committed: dict[TopicPartition, object] = {}
            for _ in range(50):
                committed = await admin.list_consumer_group_offsets(GROUP)
                if TopicPartition(topic, 0) in committed:
                    break
                await asyncio.sleep(0.2)
            assert committed[TopicPartition(topic, 0)].offset == 1  # type: ignore[attr-defined]
    finally:
        await admin.close()
