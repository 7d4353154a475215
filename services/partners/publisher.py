"""Sends notices to the organisations' topics: one idempotent producer (acks=all) for all.

The worker process starts it before the Temporal worker polls and stops it after the worker
has finished the activities it holds (`services/partners/worker.py`), so a notice never
finds the producer gone. Starting it makes the configured topics first, if they are missing
(`services.common.topics.ensure_topics`).

Records are written as `contracts.partners.to_partner_record` makes them: binary-mode
CloudEvents, exactly the `ce_*` headers and `content-type`, key = the opaque reference. The
aiokafka producer is used directly rather than a FastStream broker, which would add a
correlation header of its own to what an outside organisation reads.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from types import TracebackType
from typing import Self

import structlog
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from contracts.cloudevents import KafkaRecord
from services.common.kafka import KafkaAccess, KafkaTarget
from services.common.topics import ensure_topics

__all__ = ["NoticePublisher", "PublishFailed"]

log = structlog.get_logger(__name__)


class PublishFailed(Exception):
    """Kafka did not acknowledge the record in time. The message is the error's type only."""


class NoticePublisher:
    def __init__(
        self,
        kafka: KafkaTarget,
        topics: Sequence[str],
        *,
        partitions: int = 1,
        replication: int = 1,
        send_timeout: float = 10.0,
        connect_timeout: float = 30.0,
        client_id: str = "partners",
    ) -> None:
        self.kafka = KafkaAccess.of(kafka)
        self.topics = list(topics)
        self.partitions = partitions
        self.replication = replication
        self.send_timeout = send_timeout
        self.connect_timeout = connect_timeout
        self.client_id = client_id
        self._producer: AIOKafkaProducer | None = None

    async def start(self) -> None:
        await asyncio.wait_for(
            ensure_topics(self.kafka, self.topics, self.partitions, self.replication),
            self.connect_timeout,
        )
        producer = AIOKafkaProducer(
            **self.kafka.client_kwargs(),
            client_id=self.client_id,
            # acks=all with idempotence: a send returns once every in-sync replica has the
            # record, and the producer's own retries never write it twice.
            acks="all",
            enable_idempotence=True,
            request_timeout_ms=int(max(self.send_timeout, 1.0) * 1000),
        )
        try:
            await asyncio.wait_for(producer.start(), self.connect_timeout)
        except BaseException:
            with contextlib.suppress(Exception):
                await producer.stop()
            raise
        self._producer = producer
        log.info("partners.producer_started", topics=len(self.topics))

    async def publish(self, topic: str, record: KafkaRecord) -> None:
        """Return once Kafka acknowledged the record; otherwise raise `PublishFailed`.

        A send given up here may still land later: the caller retries with the same event id
        and key, and the organisation de-duplicates on the id."""
        producer = self._producer
        if producer is None:
            raise PublishFailed("not_started")
        try:
            await asyncio.wait_for(
                producer.send_and_wait(
                    topic, value=record.value, key=record.key, headers=list(record.headers)
                ),
                self.send_timeout,
            )
        except (TimeoutError, KafkaError, OSError) as error:
            raise PublishFailed(type(error).__name__) from None

    async def stop(self) -> None:
        producer, self._producer = self._producer, None
        if producer is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(producer.stop(), self.connect_timeout)

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        _type: type[BaseException] | None,
        _value: BaseException | None,
        _traceback: TracebackType | None,
    ) -> None:
        await self.stop()
