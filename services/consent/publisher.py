"""Publishes consent changes to `consent.v1` from the transactional outbox.

A change and its outbox row commit together; `flush` then publishes the pending rows and
marks them done. If Kafka is down the change still stands (the gate already denies), and the
relay loop publishes it once Kafka answers: at least once, in outbox order.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable

import structlog
from faststream.kafka import KafkaBroker

from services.common.kafka import kafka_access, make_broker
from services.common.topics import ensure_topics
from services.consent.gate import Clock, utc_now
from services.consent.settings import ConsentSettings
from services.consent.store import ConsentStore

__all__ = ["KafkaSend", "OutboxRelay", "Send"]

log = structlog.get_logger(__name__)

# (topic, key, value, headers) → published; the broker's publish with acks=all.
Send = Callable[[str, bytes, bytes, dict[str, str]], Awaitable[object]]


class OutboxRelay:
    def __init__(self, store: ConsentStore, send: Send, *, clock: Clock = utc_now) -> None:
        self.store = store
        self.send = send
        self.clock = clock
        self._lock = asyncio.Lock()

    async def flush(self) -> int:
        """Publish every pending change; return how many were published."""
        async with self._lock:
            published = 0
            while pending := await self.store.outbox_pending():
                done: list[int] = []
                try:
                    for row_id, topic, key, value, headers in pending:
                        await self.send(topic, key.encode(), value.encode(), json.loads(headers))
                        done.append(row_id)
                finally:
                    await self.store.outbox_done(done, self.clock())
                published += len(done)
            return published

    async def run(self, interval: float, stop: asyncio.Event) -> None:
        """Retry pending changes every `interval` seconds until `stop` is set."""
        while not stop.is_set():
            try:
                count = await self.flush()
                if count:
                    log.info("consent.published", count=count)
            except Exception as error:
                log.warning("consent.publish_failed", error_type=type(error).__name__)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), interval)


class KafkaSend:
    """Publishes through one broker (acks=all, idempotent), connecting and making the topic
    on first use, so that the gate starts and decides even while Kafka is down."""

    def __init__(self, settings: ConsentSettings) -> None:
        self.settings = settings
        self.broker: KafkaBroker = make_broker(settings, client_id="consent")
        self._started = False

    async def __call__(self, topic: str, key: bytes, value: bytes, headers: dict[str, str]) -> None:
        if not self._started:
            await ensure_topics(
                kafka_access(self.settings),
                [self.settings.consent_topic],
                self.settings.kafka_topic_partitions,
            )
            await self.broker.start()
            self._started = True
        await self.broker.publish(value, topic, key=key, headers=headers)

    async def close(self) -> None:
        if self._started:
            await self.broker.stop()
