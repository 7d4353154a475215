"""Who may read and write which topic (`TOPIC_ACCESS`), and making the topics a service uses,
if they are missing, before it produces or subscribes.

A consumer subscribed to a topic that does not exist yet only notices it at its next metadata
refresh (minutes), so topics are made first, explicitly, with a known partition count.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from dataclasses import dataclass

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError
from aiokafka.structs import TopicPartition

from contracts.topics import CONSENT, LIFE_EVENTS, LIFE_EVENTS_DLQ
from services.common.kafka import KafkaAccess, KafkaTarget

__all__ = [
    "PARTNER_ORGANISATION",
    "PARTNER_TOPIC",
    "SOURCE_SYSTEM",
    "TOPIC_ACCESS",
    "Reader",
    "TopicAccess",
    "ensure_topics",
    "partitions_of",
]

# Who, besides the services named by their folder under services/, takes part: every
# registered source system, and each organisation outside the council (its own topic only).
SOURCE_SYSTEM = "source-system"
PARTNER_ORGANISATION = "partner-organisation"
PARTNER_TOPIC = "lifeevents.partner.<organisation>.v1"
"""Stands for each organisation's topic (contracts.topics.PARTNER_TOPICS, partners.toml)."""


@dataclass(frozen=True)
class Reader:
    """A reader of a topic and the consumer group it reads in (a key its settings resolve)."""

    who: str
    group: str


@dataclass(frozen=True)
class TopicAccess:
    topic: str
    writers: tuple[str, ...]
    readers: tuple[Reader, ...]


TOPIC_ACCESS: tuple[TopicAccess, ...] = (
    # Only the intake and the registered source systems put life events on the platform, and
    # only the orchestrator acts on them.
    TopicAccess(
        LIFE_EVENTS,
        writers=("intake", SOURCE_SYSTEM),
        readers=(Reader("orchestrator", "orchestrator_group_id"),),
    ),
    # The orchestrator dead-letters; the intake's index tells a source system what became of
    # its event. Operators read and re-publish as the cluster's admin (`lifeevents dlq`).
    TopicAccess(
        LIFE_EVENTS_DLQ,
        writers=("orchestrator",),
        readers=(Reader("intake", "intake_dlq_group_id"),),
    ),
    # Consent changes: the consent service's, read by nothing of the platform yet.
    TopicAccess(CONSENT, writers=("consent",), readers=()),
    # Tell Us Once: the partners service writes each organisation's topic, and each
    # organisation reads its own and no other (in groups named after itself).
    TopicAccess(
        PARTNER_TOPIC,
        writers=("partners",),
        readers=(Reader(PARTNER_ORGANISATION, PARTNER_ORGANISATION),),
    ),
)
"""Every topic's writers and readers: the ACLs of `lifeevents kafka acls` are made from this
and nothing else. A service is named by its folder under services/."""


async def ensure_topics(
    kafka: KafkaTarget, names: Iterable[str], partitions: int, replication: int = 1
) -> None:
    admin = AIOKafkaAdminClient(**KafkaAccess.of(kafka).client_kwargs())
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


async def partitions_of(kafka: KafkaTarget, topic: str) -> list[TopicPartition]:
    """The topic's partitions, asked of the cluster (a consumer only knows topics it follows)."""
    admin = AIOKafkaAdminClient(**KafkaAccess.of(kafka).client_kwargs())
    try:
        await admin.start()
        [described] = await admin.describe_topics([topic])
    finally:
        await admin.close()
    if described["error_code"]:
        return []
    return sorted(TopicPartition(topic, p["partition"]) for p in described["partitions"])
