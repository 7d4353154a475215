"""Writes accepted events to the life-events topic in binary mode, and says so only once Kafka
has acknowledged them (acks=all, idempotent producer).

The producer connects in the background and keeps retrying, so the API starts (and answers
503) while Kafka is down, and starts accepting events as soon as Kafka is back.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol

import structlog
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from contracts import CloudEvent, to_binary
from services.common.kafka import KafkaAccess, KafkaTarget
from services.common.telemetry import published_span, with_trace_headers
from services.common.topics import ensure_topics

__all__ = ["KafkaProducerLike", "PublishUnavailable", "Publisher", "keep_trying"]

log = structlog.get_logger(__name__)


class PublishUnavailable(Exception):
    """Kafka did not durably take the event: not connected, failed, or no ack in time."""


class KafkaProducerLike(Protocol):
    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def send_and_wait(
        self, topic: str, value: bytes, key: bytes | None, headers: list[tuple[str, bytes]]
    ) -> Any: ...


async def keep_trying(
    what: str,
    attempt: Callable[[], Awaitable[None]],
    *,
    first_delay: float = 0.5,
    max_delay: float = 10.0,
) -> None:
    """Run `attempt` until it succeeds, backing off between failures (cancel to give up)."""
    delay = first_delay
    failures = 0
    while True:
        try:
            await attempt()
            if failures:
                log.info("intake.dependency_up", dependency=what, failures=failures)
            return
        except asyncio.CancelledError:
            raise
        except Exception as error:
            failures += 1
            # Once and then every tenth time, so an outage does not flood the log.
            if failures == 1 or failures % 10 == 0:
                log.warning(
                    "intake.dependency_down",
                    dependency=what,
                    failures=failures,
                    error=type(error).__name__,
                )
        await asyncio.sleep(delay)
        delay = min(delay * 2, max_delay)


class Publisher:
    def __init__(
        self,
        kafka: KafkaTarget,
        topic: str,
        *,
        send_timeout: float,
        ensure: Sequence[str] = (),
        partitions: int = 1,
        replication: int = 1,
        connect_timeout: float = 10.0,
        producer_factory: Callable[[], KafkaProducerLike] | None = None,
    ) -> None:
        self.kafka = KafkaAccess.of(kafka)
        self.topic = topic
        self.send_timeout = send_timeout
        self.connect_timeout = connect_timeout
        self._ensure = list(ensure)
        self._partitions = partitions
        self._replication = replication
        self._factory = producer_factory or self._default_producer
        self._producer: KafkaProducerLike | None = None
        self._connecting: asyncio.Task[None] | None = None

    def _default_producer(self) -> KafkaProducerLike:
        producer: KafkaProducerLike = AIOKafkaProducer(
            **self.kafka.client_kwargs(),
            client_id="intake",
            # acks=all and idempotence: an ack means every in-sync replica has the record, and
            # the producer's own retries never write it twice.
            acks="all",
            enable_idempotence=True,
            request_timeout_ms=int(max(self.send_timeout, 1.0) * 1000),
        )
        return producer

    @property
    def ready(self) -> bool:
        return self._producer is not None

    def start(self) -> None:
        """Connect in the background; `publish` answers `PublishUnavailable` until connected."""
        if self._connecting is None:
            self._connecting = asyncio.create_task(keep_trying("kafka", self._connect_once))

    async def wait_ready(self) -> None:
        if self._connecting is not None:
            await asyncio.shield(self._connecting)

    async def _connect_once(self) -> None:
        if self._ensure:
            await asyncio.wait_for(
                ensure_topics(self.kafka, self._ensure, self._partitions, self._replication),
                self.connect_timeout,
            )
        producer = self._factory()
        try:
            await asyncio.wait_for(producer.start(), self.connect_timeout)
        except BaseException:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(producer.stop(), self.connect_timeout)
            raise
        self._producer = producer
        log.info("intake.producer_started", topic=self.topic)

    async def publish(self, event: CloudEvent[Any]) -> None:
        """Return once Kafka acknowledged the record; otherwise raise `PublishUnavailable`."""
        producer = self._producer
        if producer is None:
            raise PublishUnavailable("not connected to Kafka")
        record = to_binary(event)
        with published_span(self.topic, event.type):
            try:
                # Bounded: a caller must hear 503 rather than wait on a broker that is down. A
                # send given up here may still land later (the producer keeps it in its
                # buffer); that is safe, because the caller retries with the same id and the
                # orchestrator de-duplicates on source + id (the workflow ID).
                await asyncio.wait_for(
                    producer.send_and_wait(
                        self.topic,
                        value=record.value,
                        key=record.key,
                        headers=with_trace_headers(record.headers),
                    ),
                    self.send_timeout,
                )
            except (TimeoutError, KafkaError, OSError) as error:
                raise PublishUnavailable(type(error).__name__) from None

    async def stop(self) -> None:
        if self._connecting is not None:
            self._connecting.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._connecting
        producer, self._producer = self._producer, None
        if producer is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(producer.stop(), self.connect_timeout)
