"""Create the topics a service uses, if they are missing, before it produces or subscribes.

A consumer subscribed to a topic that does not exist yet only notices it at its next metadata
refresh (minutes), so topics are made first, explicitly, with a known partition count.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError
from aiokafka.structs import TopicPartition

__all__ = ["ensure_topics", "partitions_of"]


async def ensure_topics(
    bootstrap_servers: str, names: Iterable[str], partitions: int, replication: int = 1
) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
    try:
        await admin.start()
        existing = set(await admin.list_topics())
        missing = [n for n in dict.fromkeys(names) if n not in existing]
        if not missing:
            return
        # Another process may make one between our look and our create.
        with contextlib.suppress(TopicAlreadyExistsError):
            await admin.create_topics(
                [
                    NewTopic(name, num_partitions=partitions, replication_factor=replication)
                    for name in missing
                ]
            )
    finally:
        await admin.close()


async def partitions_of(bootstrap_servers: str, topic: str) -> list[TopicPartition]:
    """The topic's partitions, asked of the cluster (a consumer only knows topics it follows)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
    try:
        await admin.start()
        [described] = await admin.describe_topics([topic])
    finally:
        await admin.close()
    if described["error_code"]:
        return []
    return sorted(TopicPartition(topic, p["partition"]) for p in described["partitions"])
