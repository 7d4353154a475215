"""The dead-letter index: a small consumer, in the intake process, on the dead-letter topic.

It records (source, id, reason) of every dead letter in the intake store, so that a source
system asking about an event that never became a workflow hears that it was dead-lettered,
and why (a reason code, never the data). Its own consumer group, at-least-once: offsets are
committed only after the store has the batch, and recording is an idempotent upsert.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import re
from collections.abc import Iterable, Sequence
from typing import Any

import structlog
from aiokafka import AIOKafkaConsumer
from aiokafka.errors import KafkaError

from contracts.topics import DLQ_REASON_HEADER
from services.common.kafka import KafkaAccess, KafkaTarget
from services.common.topics import ensure_topics
from services.intake.publisher import keep_trying
from services.intake.store import IntakeStore

__all__ = ["DeadLetterIndex", "dead_letter_of"]

log = structlog.get_logger(__name__)

_ATTRIBUTE = re.compile(r"^[\x21-\x7e]+$")
_REASON = re.compile(r"^[a-z0-9_]{1,64}$")
UNKNOWN_REASON = "unknown"


def _text(value: Any, longest: int) -> str | None:
    if isinstance(value, bytes):
        value = value.decode("utf-8", errors="replace")
    if isinstance(value, str) and len(value) <= longest and _ATTRIBUTE.match(value):
        return value
    return None


def dead_letter_of(
    headers: Sequence[tuple[str, bytes]], value: bytes | None
) -> tuple[str, str, str] | None:
    """(source, id, reason) of one dead letter, or None when it names no event."""
    first: dict[str, bytes] = {}
    for name, raw in headers:
        first.setdefault(name.lower(), raw)
    source = _text(first.get("ce_source"), 256)
    event_id = _text(first.get("ce_id"), 128)
    content_type = first.get("content-type", b"").decode("latin-1").lower()
    if (source is None or event_id is None) and content_type.startswith("application/cloudevents"):
        # A structured-mode record carries its attributes in the value; only these two are read.
        with contextlib.suppress(ValueError, RecursionError):
            document = json.loads(value or b"")
            if isinstance(document, dict):
                source = _text(document.get("source"), 256)
                event_id = _text(document.get("id"), 128)
    if source is None or event_id is None:
        return None
    reason = first.get(DLQ_REASON_HEADER, b"").decode("latin-1")
    return source, event_id, reason if _REASON.match(reason) else UNKNOWN_REASON


class DeadLetterIndex:
    def __init__(
        self,
        store: IntakeStore,
        kafka: KafkaTarget,
        topic: str,
        group_id: str,
        *,
        partitions: int = 1,
        replication: int = 1,
        connect_timeout: float = 10.0,
    ) -> None:
        self.store = store
        self.kafka = KafkaAccess.of(kafka)
        self.topic = topic
        self.group_id = group_id
        self.partitions = partitions
        self.replication = replication
        self.connect_timeout = connect_timeout
        self._task: asyncio.Task[None] | None = None
        self._consumer: Any = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None

    async def _connect(self) -> None:
        # A consumer subscribed to a missing topic would only see it at a metadata refresh.
        await asyncio.wait_for(
            ensure_topics(self.kafka, [self.topic], self.partitions, self.replication),
            self.connect_timeout,
        )
        consumer = AIOKafkaConsumer(
            self.topic,
            **self.kafka.client_kwargs(),
            group_id=self.group_id,
            client_id="intake-dlq-index",
            enable_auto_commit=False,
            auto_offset_reset="earliest",
        )
        try:
            await asyncio.wait_for(consumer.start(), self.connect_timeout)
        except BaseException:
            with contextlib.suppress(Exception):
                await consumer.stop()
            raise
        self._consumer = consumer

    async def _run(self) -> None:
        try:
            await keep_trying("kafka-dlq", self._connect)
            log.info("intake.dlq_index_started", topic=self.topic, group=self.group_id)
            while True:
                batches = await self._consumer.getmany(timeout_ms=1000, max_records=500)
                letters = list(_letters(r for records in batches.values() for r in records))
                if letters:
                    await keep_trying(
                        "intake-store", functools.partial(self.store.record_dead_letters, letters)
                    )
                    log.info("intake.dead_letters_indexed", count=len(letters))
                if batches:
                    try:
                        await self._consumer.commit()
                    except KafkaError as error:
                        # A rebalance moved the partitions: the new owner re-reads and the
                        # upsert makes that harmless.
                        log.warning("intake.dlq_commit_failed", error=type(error).__name__)
        finally:
            consumer, self._consumer = self._consumer, None
            if consumer is not None:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(consumer.stop(), self.connect_timeout)


def _letters(records: Iterable[Any]) -> Iterable[tuple[str, str, str]]:
    for record in records:
        letter = dead_letter_of(list(record.headers or ()), record.value)
        if letter is None:
            log.warning(
                "intake.dead_letter_unnamed", partition=record.partition, offset=record.offset
            )
            continue
        yield letter
