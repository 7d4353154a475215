"""The orchestrator's Kafka side: a consumer group on `lifeevents.v1`, at-least-once.

Offsets are committed by hand, only after the workflow start was accepted (or the record was
dead-lettered), so a crash at any point means the record is read again, and the
deterministic workflow ID makes that second start a no-op.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from typing import Any

import structlog
from aiokafka import AIOKafkaProducer
from faststream import AckPolicy, FastStream
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage
from faststream.message import StreamMessage

from contracts import KafkaRecord
from services.common.kafka import make_broker
from services.common.temporal import connect
from services.common.topics import ensure_topics
from services.orchestrator.deadletter import DeadLetters, Origin
from services.orchestrator.orchestrator import Disposition, Orchestrator
from services.orchestrator.settings import OrchestratorSettings
from services.orchestrator.starter import TemporalUnavailable, WorkflowStarter

__all__ = ["build_app"]

log = structlog.get_logger(__name__)


async def _raw_body(message: StreamMessage[object]) -> bytes:
    # The body is parsed by contracts, which turns junk into a dead letter; FastStream's own
    # JSON decoding would fail before the handler and leave the record unanswered.
    return message.body


def build_app(settings: OrchestratorSettings) -> tuple[FastStream, KafkaBroker]:
    broker = make_broker(settings, client_id="orchestrator")
    app = FastStream(broker, logger=logging.getLogger("lifeevents.faststream"))
    state: dict[str, Any] = {}
    starts = 0

    @app.on_startup
    async def open_clients() -> None:
        await ensure_topics(
            settings.kafka_bootstrap_servers,
            [settings.life_events_topic, settings.life_events_dlq_topic],
            settings.kafka_topic_partitions,
            settings.kafka_topic_replication,
        )
        producer = AIOKafkaProducer(
            bootstrap_servers=settings.kafka_bootstrap_servers,
            client_id="orchestrator-dlq",
            acks="all",
            enable_idempotence=True,
        )
        await producer.start()
        state["producer"] = producer
        client = await connect(settings, lazy=True)
        starter = WorkflowStarter(
            client,
            task_queue=settings.temporal_task_queue,
            council_area=settings.council_area_code,
            retry_window=settings.orchestrator_retry_window_seconds,
        )
        state["orchestrator"] = Orchestrator(
            starter,
            DeadLetters(producer, settings.life_events_dlq_topic),
            max_attempts=settings.orchestrator_max_attempts,
        )

    @app.after_shutdown
    async def close_clients() -> None:
        if "producer" in state:
            await state["producer"].stop()

    @broker.subscriber(
        settings.life_events_topic,
        group_id=settings.orchestrator_group_id,
        auto_offset_reset="earliest",
        ack_policy=AckPolicy.MANUAL,
        decoder=_raw_body,
        # A delivery may wait out a Temporal outage (the retry window) before it returns.
        max_poll_interval_ms=int((settings.orchestrator_retry_window_seconds + 180) * 1000),
    )
    async def on_life_event(body: bytes, message: KafkaMessage) -> None:
        nonlocal starts
        raw = message.raw_message
        assert not isinstance(raw, tuple)  # one record per call: this is not a batch subscriber
        record = KafkaRecord(key=raw.key, value=body, headers=list(raw.headers))
        origin = Origin(raw.topic, raw.partition, raw.offset)
        try:
            disposition = await state["orchestrator"].process(record, origin)
        except TemporalUnavailable:
            log.warning("record.deferred", origin=str(origin))
            await message.nack()
            return
        if disposition is Disposition.RETRY:
            await asyncio.sleep(0.5)  # nack re-reads at once; do not spin on a failing record
            await message.nack()
            return
        if disposition is Disposition.STARTED:
            starts += 1
            if starts == settings.orchestrator_kill_after_starts:
                os.kill(os.getpid(), signal.SIGKILL)
        await message.ack()

    return app, broker
