"""Orchestrator test helpers: events, an isolated lane through the real stack, the process."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError
from aiokafka.structs import TopicPartition
from temporalio.client import Client

from contracts import CloudEvent, KafkaRecord, from_structured, to_binary
from services.common.topics import partitions_of
from tests.support import subprocess_env

REPO_ROOT = Path(__file__).resolve().parents[3]
EXAMPLES = REPO_ROOT / "contracts" / "examples"
EXAMPLE = json.loads((EXAMPLES / "address-changed-household.json").read_text())
BIRTH = json.loads((EXAMPLES / "birth-registered.json").read_text())


def move_event(event_id: str | None = None, *, subject: str | None = None) -> CloudEvent[Any]:
    """A valid move event (synthetic people) with its own id."""
    return from_structured(
        {
            **EXAMPLE,
            "id": event_id or str(uuid.uuid4()),
            "source": "/test/orchestrator",
            "subject": subject or EXAMPLE["subject"],
        }
    )


def birth_event() -> CloudEvent[Any]:
    """A valid birth event with its own id (`finishing_births` runs its workflow to the end)."""
    return from_structured({**BIRTH, "id": str(uuid.uuid4()), "source": "/test/orchestrator"})


@dataclass(frozen=True)
class Lane:
    bootstrap: str
    temporal_address: str
    topic: str
    dlq_topic: str
    group: str
    task_queue: str

    def env(self, **overrides: str) -> dict[str, str]:
        env = subprocess_env()
        env.update(
            LIFEEVENTS_KAFKA_BOOTSTRAP_SERVERS=self.bootstrap,
            LIFEEVENTS_TEMPORAL_ADDRESS=self.temporal_address,
            LIFEEVENTS_LIFE_EVENTS_TOPIC=self.topic,
            LIFEEVENTS_LIFE_EVENTS_DLQ_TOPIC=self.dlq_topic,
            LIFEEVENTS_ORCHESTRATOR_GROUP_ID=self.group,
            LIFEEVENTS_TEMPORAL_TASK_QUEUE=self.task_queue,
            LIFEEVENTS_LOG_FORMAT="json",
        )
        env.update(overrides)
        return env

    async def publish(self, *records: KafkaRecord) -> None:
        producer = AIOKafkaProducer(
            bootstrap_servers=self.bootstrap, acks="all", enable_idempotence=True
        )
        await producer.start()
        try:
            for record in records:
                await producer.send_and_wait(
                    self.topic, value=record.value, key=record.key, headers=list(record.headers)
                )
        finally:
            await producer.stop()

    async def publish_events(self, *events: CloudEvent[Any]) -> None:
        await self.publish(*(to_binary(e) for e in events))

    async def _group_offsets(self) -> dict[TopicPartition, Any]:
        admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap)
        await admin.start()
        try:
            return dict(await admin.list_consumer_group_offsets(self.group))
        finally:
            await admin.close()

    async def consumed(self) -> bool:
        """Has the orchestrator's group committed every record on the topic?"""
        try:
            committed = await self._group_offsets()
        except KafkaError:  # the group coordinator is still coming up on a fresh broker
            return False
        ends = await end_offsets(self.bootstrap, self.topic)
        return bool(ends) and all(
            (committed.get(tp).offset if committed.get(tp) else 0) >= end  # type: ignore[union-attr]
            for tp, end in ends.items()
        )

    async def committed(self) -> dict[int, int]:
        offsets = await self._group_offsets()
        return {tp.partition: meta.offset for tp, meta in offsets.items() if tp.topic == self.topic}


async def end_offsets(bootstrap: str, topic: str) -> dict[TopicPartition, int]:
    partitions = await partitions_of(bootstrap, topic)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap)
    await consumer.start()
    try:
        return dict(await consumer.end_offsets(partitions)) if partitions else {}
    finally:
        await consumer.stop()


async def eventually(check: Callable[[], Awaitable[bool]], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout:.0f} s: {what}")
        await asyncio.sleep(0.5)


async def count_workflows(client: Client, task_queue: str) -> int:
    return (await client.count_workflows(f"TaskQueue = '{task_queue}'")).count


async def settled_count(client: Client, task_queue: str, expected: int, timeout: float = 30) -> int:
    """The workflow count once visibility (updated asynchronously) has caught up, or at timeout."""
    deadline = time.monotonic() + timeout
    count = await count_workflows(client, task_queue)
    while count != expected and time.monotonic() < deadline:
        await asyncio.sleep(0.5)
        count = await count_workflows(client, task_queue)
    return count


def make_lane(bootstrap: str, temporal_address: str) -> Lane:
    tag = uuid.uuid4().hex[:10]
    return Lane(
        bootstrap=bootstrap,
        temporal_address=temporal_address,
        topic=f"test.lifeevents.{tag}",
        dlq_topic=f"test.lifeevents.{tag}.dlq",
        group=f"test-orchestrator-{tag}",
        task_queue=f"test-workflows-{tag}",
    )


class OrchestratorProcess:
    """`python -m services.orchestrator` as a real process, its output kept in a file."""

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.env = env
        self.log_path = log_path
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, **overrides: str) -> None:
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "services.orchestrator"],
                env={**self.env, **overrides},
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=REPO_ROOT,
            )

    def wait(self, timeout: float) -> int:
        assert self.proc is not None
        return self.proc.wait(timeout)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def log_lines(self) -> list[dict[str, Any]]:
        lines = []
        for line in self.log_path.read_text(errors="replace").splitlines():
            try:
                lines.append(json.loads(line))
            except ValueError:
                continue
        return lines
