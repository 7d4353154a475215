"""The orchestrator's Kafka side: a consumer group on the life-events topic, at-least-once.

Records arrive in batches. Each batch's workflows are started concurrently (each start is
one round trip to Temporal), and the batch's offsets are committed by hand, only once every
record in it has been answered: started, found already done, or dead-lettered. A crash at
any point means the batch is read again, and the deterministic workflow ID makes those
second starts no-ops. If any record must be tried again, the whole batch is re-read.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
import signal
from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from aiokafka import AIOKafkaProducer
from aiokafka.structs import ConsumerRecord
from faststream import AckPolicy, FastStream
from faststream.kafka import KafkaBroker, Topic
from faststream.kafka.annotations import KafkaMessage
from faststream.message import StreamMessage

from contracts import KafkaRecord
from services.common.kafka import kafka_access, make_broker
from services.common.telemetry import consumed_span
from services.common.temporal import connect
from services.common.topics import ensure_topics
from services.orchestrator.deadletter import DeadLetters, Origin
from services.orchestrator.orchestrator import Disposition, Orchestrator
from services.orchestrator.settings import OrchestratorSettings
from services.orchestrator.starter import TemporalUnavailable, WorkflowStarter

__all__ = ["build_app"]

log = structlog.get_logger(__name__)

Records = tuple[ConsumerRecord[bytes, bytes], ...]


async def _raw_bodies(message: StreamMessage[Any]) -> Any:
    # Bodies are parsed by contracts, which turns junk into a dead letter; FastStream's own
    # JSON decoding would fail before the handler and leave the records unanswered.
    return message.body


async def _tolerant_parser(
    records: Records, original: Callable[[Records], Awaitable[StreamMessage[Records]]]
) -> StreamMessage[Records]:
    """FastStream decodes every header as UTF-8 for its own metadata. A record with a header
    that is not UTF-8 would fail there, before the handler could dead-letter it, so FastStream
    gets a sanitised view while the handler still receives the records untouched."""
    try:
        return await original(records)
    except UnicodeDecodeError:
        message = await original(tuple(_printable_headers(r) for r in records))
        message.raw_message = records
        return message


def _printable_headers(record: ConsumerRecord[bytes, bytes]) -> ConsumerRecord[bytes, bytes]:
    headers = [(k, v.decode(errors="replace").encode()) for k, v in record.headers]
    return dataclasses.replace(record, headers=headers)


@dataclasses.dataclass
class _Clients:
    """What the app opens at startup, inside its event loop, and closes at shutdown."""

    producer: AIOKafkaProducer | None = None
    orchestrator: Orchestrator | None = None


def build_app(settings: OrchestratorSettings) -> tuple[FastStream, KafkaBroker]:
    broker = make_broker(settings, client_id="orchestrator")
    app = FastStream(broker, logger=logging.getLogger("lifeevents.faststream"))
    clients = _Clients()
    starts = 0

    @app.on_startup
    async def open_clients() -> None:
        kafka = kafka_access(settings)
        await ensure_topics(
            kafka,
            [settings.life_events_topic, settings.life_events_dlq_topic],
            settings.kafka_topic_partitions,
            settings.kafka_topic_replication,
        )
        producer = AIOKafkaProducer(
            **kafka.client_kwargs(),
            client_id="orchestrator-dlq",
            acks="all",
            enable_idempotence=True,
        )
        await producer.start()
        clients.producer = producer
        client = await connect(settings, lazy=True)
        starter = WorkflowStarter(
            client,
            task_queue=settings.temporal_task_queue,
            council_area=settings.council_area_code,
            retry_window=settings.orchestrator_retry_window_seconds,
        )
        clients.orchestrator = Orchestrator(
            starter,
            DeadLetters(producer, settings.life_events_dlq_topic),
            max_attempts=settings.orchestrator_max_attempts,
        )

    @app.after_shutdown
    async def close_clients() -> None:
        if clients.producer is not None:
            await clients.producer.stop()

    async def answer(record: ConsumerRecord[bytes, bytes]) -> Disposition:
        nonlocal starts
        assert clients.orchestrator is not None, "started before the app's startup hook ran"
        # Each record continues its own producer's trace: a batch mixes many.
        with consumed_span(record.topic, record.headers) as span:
            disposition = await clients.orchestrator.process(
                KafkaRecord(
                    key=record.key, value=record.value or b"", headers=list(record.headers)
                ),
                Origin(record.topic, record.partition, record.offset),
            )
            span.set_attribute("lifeevents.disposition", disposition.value)
        if disposition is Disposition.STARTED:
            starts += 1
            if starts == settings.orchestrator_kill_after_starts:
                os.kill(os.getpid(), signal.SIGKILL)
        return disposition

    @broker.subscriber(
        # Made by open_clients, with the configured partitions: FastStream would make it with
        # one, and on a cluster with ACLs the orchestrator may not create topics at all.
        Topic(settings.life_events_topic, declare=False),
        group_id=settings.orchestrator_group_id,
        auto_offset_reset="earliest",
        ack_policy=AckPolicy.MANUAL,
        batch=True,
        max_records=settings.orchestrator_batch_size,
        parser=_tolerant_parser,
        decoder=_raw_bodies,
        # A batch may wait out a Temporal outage (the retry window) before it returns.
        max_poll_interval_ms=int((settings.orchestrator_retry_window_seconds + 180) * 1000),
    )
    async def on_life_events(message: KafkaMessage) -> None:
        records = message.raw_message
        assert isinstance(records, tuple)  # a batch subscriber always gets a tuple
        answers = await asyncio.gather(*(answer(r) for r in records), return_exceptions=True)
        errors = [a for a in answers if isinstance(a, BaseException)]
        if errors:
            # Temporal away, or the dead-letter topic unwritable: nothing is the records'
            # fault, so the batch is read again (never committed past, never dead-lettered).
            reason = (
                "temporal_unavailable"
                if all(isinstance(e, TemporalUnavailable) for e in errors)
                else type(errors[0]).__name__
            )
            log.warning("batch.deferred", records=len(records), reason=reason)
            await asyncio.sleep(0.5)
            await message.nack()
        elif Disposition.RETRY in answers:
            await asyncio.sleep(0.5)  # nack re-reads at once; do not spin on a failing record
            await message.nack()
        else:
            await message.ack()

    return app, broker
