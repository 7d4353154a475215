"""Withdrawal acts at once: the gate denies from that moment, the change goes out on Kafka
(`consent.v1`), and the recipient's subscriber is told which shares to stop using."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer
from aiokafka.structs import TopicPartition

from contracts.consent import ConsentChange, ConsentGrant, Decision, ShareCompletion, ShareRequest
from services.common.kafka import make_broker
from services.common.topics import ensure_topics
from services.consent.gate import ConsentGate
from services.consent.publisher import KafkaSend, OutboxRelay
from services.consent.service import open_service
from services.consent.settings import ConsentSettings
from services.consent.subscriber import subscribe_stop_use

RECIPIENT = "bereavement-support"
PURPOSE = "bereavement-support-referral"


async def read_all(bootstrap: str, topic: str) -> list[tuple[bytes | None, dict[str, bytes]]]:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or {0}]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        batches = await consumer.getmany(*partitions, timeout_ms=5000)
        return [(r.key, dict(r.headers)) for records in batches.values() for r in records]
    finally:
        await consumer.stop()


@pytest.mark.stack
async def test_withdrawal_is_published_and_the_recipient_told_to_stop(
    kafka_bootstrap: str,
    tmp_path: Path,
    resident: str,
    make_grant: Callable[..., ConsentGrant],
    make_request: Callable[..., ShareRequest],
) -> None:
    topic = f"consent.v1.test-{uuid.uuid4().hex[:8]}"
    settings = ConsentSettings(
        kafka_bootstrap_servers=kafka_bootstrap,
        consent_database_url=f"sqlite+aiosqlite:///{tmp_path / 'consent.db'}",
        consent_topic=topic,
        kafka_topic_partitions=1,
        var_dir=tmp_path / "var",
    )
    send = KafkaSend(settings)
    service = await open_service(settings, send)
    gate = service.gate

    told: asyncio.Queue[ConsentChange] = asyncio.Queue()
    recipient_broker = make_broker(settings, client_id="test-recipient")
    subscribe_stop_use(
        recipient_broker,
        recipient=RECIPIENT,
        handler=told.put,
        topic=topic,
        group_id=f"test-{uuid.uuid4().hex[:8]}",
    )
    other_told: asyncio.Queue[ConsentChange] = asyncio.Queue()
    subscribe_stop_use(
        recipient_broker,
        recipient="libraries",
        handler=other_told.put,
        topic=topic,
        group_id=f"test-{uuid.uuid4().hex[:8]}",
    )
    await ensure_topics(kafka_bootstrap, [topic], 1)
    await recipient_broker.start()
    try:
        consent = await gate.give_consent(make_grant(resident))
        request = make_request(resident, PURPOSE, RECIPIENT, ["identity", "death"])
        shared = await gate.decide_share(request)
        assert shared.share_token is not None
        await gate.record_share(ShareCompletion(share_token=shared.share_token))

        await gate.withdraw_consent(consent.consent_id)
        # At once, before anything is read from Kafka: the next decision is denied.
        denied = await gate.decide_share(request)
        assert (denied.decision, denied.reason) == (Decision.DENY, "consent_withdrawn")

        change = await asyncio.wait_for(told.get(), timeout=60)
        assert change.change == "withdrawn"
        assert change.consent_id == consent.consent_id
        assert change.stop_use == [shared.decision_id]
        assert other_told.empty()  # the notice is for the recipient that holds the data
        assert await service.store.outbox_pending() == []

        records = await read_all(kafka_bootstrap, topic)
        assert [r[1]["ce_type"] for r in records] == [
            b"lifeevents.consent.given.v1",
            b"lifeevents.consent.withdrawn.v1",
        ]
        assert {r[0] for r in records} == {resident.encode()}
    finally:
        await recipient_broker.stop()
        await send.close()
        await service.close()


async def test_a_withdrawal_stands_while_kafka_is_down_and_goes_out_later(
    sqlite_gate: ConsentGate,
    resident: str,
    make_grant: Callable[..., ConsentGrant],
    make_request: Callable[..., ShareRequest],
) -> None:
    sent: list[tuple[str, bytes]] = []
    kafka_up = False

    async def send(topic: str, key: bytes, value: bytes, headers: dict[str, str]) -> None:
        if not kafka_up:
            raise ConnectionError("kafka down")
        sent.append((headers["ce_type"], key))

    relay = OutboxRelay(sqlite_gate.store, send)
    sqlite_gate.on_change = relay.flush
    consent = await sqlite_gate.give_consent(make_grant(resident))
    await sqlite_gate.withdraw_consent(consent.consent_id)  # publishing fails: logged, kept
    request = make_request(resident, PURPOSE, RECIPIENT, ["identity"])
    assert (await sqlite_gate.decide_share(request)).decision is Decision.DENY
    assert len(await sqlite_gate.store.outbox_pending()) == 2

    kafka_up = True
    stop = asyncio.Event()
    running = asyncio.create_task(relay.run(0.05, stop))
    for _ in range(100):
        if len(sent) == 2:
            break
        await asyncio.sleep(0.02)
    stop.set()
    await running
    assert sent == [
        ("lifeevents.consent.given.v1", resident.encode()),
        ("lifeevents.consent.withdrawn.v1", resident.encode()),
    ]
    assert await sqlite_gate.store.outbox_pending() == []
