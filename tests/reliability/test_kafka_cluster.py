"""The intake on a 3-node Kafka (replication 3, min.insync.replicas 2) while brokers die.

1. The partition leader is SIGKILLed `KILLS` times while `EVENTS` events are POSTed, each
   killed node restarted (and back in sync) before the next kill: every event answered 202
   is on `lifeevents.v1`, no event sent once is there twice, and the orchestrator, reading
   the topic all the while, started exactly one workflow per event (counted on the session's
   Temporal dev server, on a task queue of the test's own that no worker polls).
2. Two of three nodes down: the intake answers 503, never 202, and 202 again once they return.

The intake runs in this process (its ASGI app with its own lifespan: store, idempotent acks=all
producer) against the cluster; the events are the contract's example with fresh ids and
subjects (the Kafka key), so they spread over the partitions. Each test prints what it did
and what it counted (`pytest -s`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import structlog
from aiokafka import AIOKafkaConsumer
from temporalio.client import Client

from contracts.temporal import workflow_id_for
from contracts.topics import LIFE_EVENTS, LIFE_EVENTS_DLQ
from deploy.local.stack import StackConfig
from services.common.logging import configure_logging
from services.common.topics import partitions_of
from services.intake.settings import IntakeSettings
from tests.reliability.kafka_cluster import KafkaCluster, PartitionState
from tests.services.intake.support import MOVE, SOURCE, bearer, example, issue_key, running
from tests.services.orchestrator.support import (
    Lane,
    OrchestratorProcess,
    eventually,
    settled_count,
)

pytestmark = [pytest.mark.reliability, pytest.mark.stack]

EVENTS = 10_000
KILLS = 5
CONCURRENCY = 32
# A 503 says Retry-After; the test's clients wait that long before sending the same event again.
RETRY_AFTER_SECONDS = 1
# An event still refused after this many tries is given up (and the test fails on it).
MAX_ATTEMPTS = 60
# Clients held back for a kill are let go this long before it, so that it hits sends in flight.
KILL_AFTER_RELEASE_SECONDS = 0.5


@pytest.fixture(scope="module")
def cluster(
    tmp_path_factory: pytest.TempPathFactory, kafka_lib: Path, free_port: Callable[[], int]
) -> Iterator[KafkaCluster]:
    """Three KRaft nodes for this module's tests, stopped whatever the tests did to them."""
    running_cluster = KafkaCluster(tmp_path_factory.mktemp("kafka-cluster"), kafka_lib, free_port)
    try:
        running_cluster.start()
        yield running_cluster
    finally:
        running_cluster.stop()


@pytest.fixture(autouse=True)
def quiet_logs(tmp_path: Path) -> Iterator[None]:
    """Warnings and up to a file: -s shows the tests' own counts, not a line per event."""
    root = logging.getLogger()
    handlers, level, config = root.handlers[:], root.level, structlog.get_config()
    with (tmp_path / "log.json").open("w") as stream:
        configure_logging("WARNING", "json", stream=stream)
        aiokafka_level = logging.getLogger("aiokafka").level
        # aiokafka logs an error per refused connection to a node the test killed.
        logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
        try:
            yield
        finally:
            logging.getLogger("aiokafka").setLevel(aiokafka_level)
            structlog.configure(**config)
            structlog.contextvars.clear_contextvars()
            root.handlers[:] = handlers
            root.setLevel(level)


@pytest.fixture
async def healthy(cluster: KafkaCluster) -> KafkaCluster:
    """The cluster with every node up (a test before may have left some down)."""
    await asyncio.to_thread(cluster.start)
    return cluster


def intake_settings(tmp_path: Path, cluster: KafkaCluster) -> IntakeSettings:
    return IntakeSettings(
        var_dir=tmp_path / "var",
        kafka_bootstrap_servers=cluster.bootstrap_servers,
        # No Temporal: status queries are not part of these tests.
        temporal_address="localhost:1",
        life_events_topic=LIFE_EVENTS,
        kafka_topic_partitions=3,
        kafka_topic_replication=3,
        intake_dlq_group_id=f"reliability-dlq-{uuid.uuid4().hex[:8]}",
        intake_retry_after_seconds=RETRY_AFTER_SECONDS,
        intake_kafka_startup_grace_seconds=60.0,
        # The test sends as fast as the intake answers; rate limiting is tested elsewhere.
        intake_rate_per_second=1_000_000.0,
        intake_rate_burst=1_000_000,
    )


@contextlib.asynccontextmanager
async def intake(
    tmp_path: Path, cluster: KafkaCluster
) -> AsyncIterator[tuple[httpx.AsyncClient, dict[str, str]]]:
    """The intake against the cluster, its client, and the headers of a key for moves."""
    settings = intake_settings(tmp_path, cluster)
    issued = await issue_key(settings, types=[MOVE])
    async with running(settings) as client:
        yield client, {**bearer(issued), "Content-Type": "application/cloudevents+json"}


def new_event() -> dict[str, Any]:
    # A fresh subject per event spreads the events over the partitions (it is the key).
    return example(MOVE, subject=f"reliability-{uuid.uuid4().hex}")


@dataclass
class Tally:
    """What the clients sent and what the intake answered."""

    posts: int = 0
    accepted: set[str] = field(default_factory=set)
    unavailable: int = 0
    attempts: Counter[str] = field(default_factory=Counter)
    other: Counter[int] = field(default_factory=Counter)

    @property
    def retries(self) -> int:
        return sum(n - 1 for n in self.attempts.values())

    async def post(self, client: httpx.AsyncClient, headers: dict[str, str], event: Any) -> int:
        self.posts += 1
        self.attempts[event["id"]] += 1
        try:
            answer = await client.post("/v1/events", json=event, headers=headers, timeout=60)
        except httpx.HTTPError:
            self.other[0] += 1
            return 0
        if answer.status_code == 202:
            assert answer.json()["id"] == event["id"]
            self.accepted.add(event["id"])
        elif answer.status_code == 503:
            self.unavailable += 1
        else:
            self.other[answer.status_code] += 1
        return answer.status_code


async def read_ids(bootstrap_servers: str, topic: str) -> Counter[str]:
    """Every event id on the topic, from the beginning of each partition to its end offset."""
    partitions = await partitions_of(bootstrap_servers, topic)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap_servers, enable_auto_commit=False)
    await consumer.start()
    try:
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        ids: Counter[str] = Counter()
        remaining = {tp for tp in partitions if ends[tp] > 0}
        while remaining:
            batches = await consumer.getmany(*remaining, timeout_ms=2000)
            for tp, records in batches.items():
                for record in records:
                    if record.offset < ends[tp]:
                        ids[dict(record.headers)["ce_id"].decode()] += 1
                if records and records[-1].offset >= ends[tp] - 1:
                    remaining.discard(tp)
        return ids
    finally:
        await consumer.stop()


# --- 1. SIGKILL the partition leader while events are published ----------------------------


def leader_to_kill(state: list[PartitionState]) -> int:
    """The node leading the most partitions (the first partition's leader on a tie)."""
    leads = Counter(p.leader for p in state if p.leader >= 0)
    most = max(leads.values())
    return next(p.leader for p in state if leads[p.leader] == most)


@dataclass
class Kill:
    node: int
    pid: int
    leader_of: list[int]
    was_controller: bool
    at_event: int
    failover_seconds: float = 0.0
    back_in_sync_seconds: float = 0.0
    killed_at: float = field(default_factory=time.monotonic, repr=False)

    def __str__(self) -> str:
        return (
            f"SIGKILL node {self.node} (pid {self.pid}, leader of partitions {self.leader_of}, "
            f"active controller: {self.was_controller}) at event {self.at_event}; its "
            f"partitions led elsewhere after {self.failover_seconds:.1f} s; restarted and all "
            f"replicas in sync after {self.back_in_sync_seconds:.1f} s"
        )


async def kill_leader(cluster: KafkaCluster, *, at_event: int) -> Kill:
    state = await cluster.partitions(LIFE_EVENTS)
    node = leader_to_kill(state)
    was_controller = cluster.active_controller() == node
    return Kill(
        node=node,
        leader_of=[p.partition for p in state if p.leader == node],
        was_controller=was_controller,
        at_event=at_event,
        pid=cluster.nodes[node].kill(),
    )


async def recover(cluster: KafkaCluster, kill: Kill) -> None:
    """Wait for the partitions to be led elsewhere, restart the node, wait for it in sync."""
    await cluster.wait_for(
        LIFE_EVENTS,
        lambda state: all(p.leader not in (kill.node, -1) for p in state),
        f"leadership moving off node {kill.node}",
    )
    kill.failover_seconds = time.monotonic() - kill.killed_at
    await asyncio.to_thread(cluster.restart, kill.node)
    await cluster.wait_all_in_sync(LIFE_EVENTS)
    kill.back_in_sync_seconds = time.monotonic() - kill.killed_at


async def test_killing_the_partition_leader_loses_no_acknowledged_event(
    healthy: KafkaCluster, tmp_path: Path, stack: StackConfig, temporal_client: Client
) -> None:
    cluster = healthy
    started = time.monotonic()
    tally = Tally()
    kills: list[Kill] = []
    dispatched = 0
    gated = 0.0  # seconds the clients stood at a gate (on average), waiting for a kill
    # Kill i is due once the clients have taken event (i + 1) * step. They may run half a
    # step further, no more, until it is released; it is released just before the kill, so
    # every kill falls among sends in flight.
    step = EVENTS // (KILLS + 1)
    due = [asyncio.Event() for _ in range(KILLS)]
    released = [asyncio.Event() for _ in range(KILLS)]

    async def faults() -> None:
        try:
            for i in range(KILLS):
                await due[i].wait()
                released[i].set()
                await asyncio.sleep(KILL_AFTER_RELEASE_SECONDS)
                kills.append(await kill_leader(cluster, at_event=dispatched))
                await recover(cluster, kills[-1])
                print(f"kill {i + 1}: {kills[-1]}")
        finally:
            for gate in released:  # clients waiting on a kill that failed must not wait for ever
                gate.set()

    async def client(http: httpx.AsyncClient, headers: dict[str, str]) -> None:
        nonlocal dispatched, gated
        while dispatched < EVENTS:
            n = dispatched
            last_due = n // step - 1  # the last kill due before event n
            if (
                0 <= last_due < KILLS
                and n >= (last_due + 1) * step + step // 2
                and not released[last_due].is_set()
            ):
                waited = time.monotonic()
                await released[last_due].wait()
                gated += (time.monotonic() - waited) / CONCURRENCY
                continue
            dispatched += 1
            if dispatched % step == 0 and dispatched // step <= KILLS:
                due[dispatched // step - 1].set()
            event = new_event()
            # A client that hears 503 sends the same event again, as the answer asks.
            for _ in range(MAX_ATTEMPTS):
                if await tally.post(http, headers, event) != 503:
                    break
                await asyncio.sleep(RETRY_AFTER_SECONDS)

    lane = orchestrator_lane(cluster, stack)
    orchestrator = OrchestratorProcess(
        lane.env(LIFEEVENTS_KAFKA_TOPIC_REPLICATION="3"), tmp_path / "orchestrator.log"
    )
    try:
        async with intake(tmp_path, cluster) as (http, headers):
            await cluster.wait_all_in_sync(LIFE_EVENTS)
            config = await cluster.topic_config(LIFE_EVENTS, ["min.insync.replicas"])
            print(f"{LIFE_EVENTS}: {await cluster.partitions(LIFE_EVENTS)}, {config}")
            assert config == {"min.insync.replicas": "2"}
            # The orchestrator reads the topic while the brokers die, as it would in service.
            orchestrator.start()
            publish_started = time.monotonic()
            fault_task = asyncio.create_task(faults())
            await asyncio.gather(*(client(http, headers) for _ in range(CONCURRENCY)))
            publish_seconds = time.monotonic() - publish_started
            await fault_task
        caught_up = time.monotonic()
        await eventually(lane.consumed, 180, "the orchestrator committing every record")
        caught_up = time.monotonic() - caught_up
    finally:
        orchestrator.stop()

    found = await read_ids(cluster.bootstrap_servers, LIFE_EVENTS)
    sent = set(tally.attempts)
    lost = tally.accepted - set(found)
    twice = {i for i, n in found.items() if n > 1}
    twice_sent_once = {i for i in twice if tally.attempts[i] == 1}
    print(
        f"events {EVENTS}, POSTs {tally.posts}, 202 {len(tally.accepted)}, 503 "
        f"{tally.unavailable}, other {dict(tally.other)}, retries {tally.retries}, kills "
        f"{len(kills)}; on the topic: {len(set(found) & sent)} of the ids "
        f"({sum(found[i] for i in sent)} records), lost (202, not on the topic) {len(lost)}, "
        f"twice on the topic {len(twice)} (of them sent once: {len(twice_sent_once)}, "
        f"re-sent after a 503: {len(twice - twice_sent_once)}); publishing took "
        f"{publish_seconds:.1f} s, of which {gated:.1f} s waiting for kills to come round "
        f"({(publish_seconds - gated) / EVENTS * 1000:.1f} s per 1,000 sending)"
    )
    workflows = await settled_workflow_ids(temporal_client, lane.task_queue, len(tally.accepted))
    expected = {workflow_id_for(SOURCE, event_id) for event_id in tally.accepted}
    logged = Counter(line.get("event") for line in orchestrator.log_lines())
    print(
        f"orchestrator: caught up {caught_up:.1f} s after the last 202; workflows on its task "
        f"queue {len(workflows)} (distinct ids {len(set(workflows))}), for the 202 events "
        f"{len(expected & set(workflows))}, others {len(set(workflows) - expected)}; it logged "
        f"workflow.started {logged['workflow.started']}, workflow.known (redelivered, not "
        f"started again) {logged['workflow.known']}; the test {time.monotonic() - started:.1f} s"
    )
    assert len(kills) == KILLS
    assert not tally.other, f"answers other than 202 and 503: {dict(tally.other)}"
    assert len(tally.accepted) == EVENTS
    assert not lost, f"{len(lost)} events answered 202 are not on the topic"
    assert not twice_sent_once, f"{len(twice_sent_once)} events sent once are there twice"
    # Acted on once: one workflow per acknowledged event, and none for anything else.
    assert Counter(workflows) == Counter(expected)


def orchestrator_lane(cluster: KafkaCluster, stack: StackConfig) -> Lane:
    """The real topics on the cluster, a consumer group and a task queue of the test's own (no
    worker polls it: the workflows started are counted, not run)."""
    tag = uuid.uuid4().hex[:10]
    return Lane(
        bootstrap=cluster.bootstrap_servers,
        temporal_address=stack.temporal_address,
        topic=LIFE_EVENTS,
        dlq_topic=LIFE_EVENTS_DLQ,
        group=f"reliability-orchestrator-{tag}",
        task_queue=f"reliability-workflows-{tag}",
    )


async def settled_workflow_ids(client: Client, task_queue: str, expected: int) -> list[str]:
    """The ids of the workflows on the task queue, once visibility (asynchronous) has them all."""
    await settled_count(client, task_queue, expected, timeout=60)
    return [w.id async for w in client.list_workflows(f"TaskQueue = '{task_queue}'")]


# --- 2. Two of three nodes down ------------------------------------------------------------

OUTAGE_SECONDS = 20.0
OUTAGE_CONCURRENCY = 8
RECOVERY_EVENTS = 50


async def test_with_two_of_three_nodes_down_the_intake_refuses_and_then_resumes(
    healthy: KafkaCluster, tmp_path: Path
) -> None:
    cluster = healthy
    started = time.monotonic()
    before, during, after = Tally(), Tally(), Tally()
    async with intake(tmp_path, cluster) as (http, headers):
        await cluster.wait_all_in_sync(LIFE_EVENTS)
        assert await before.post(http, headers, new_event()) == 202

        first = leader_to_kill(await cluster.partitions(LIFE_EVENTS))
        cluster.nodes[first].kill()
        # The second goes once the first is out of every ISR: then two replicas are in sync,
        # and this kill leaves one, below min.insync.replicas, and one controller of three.
        await cluster.wait_for(
            LIFE_EVENTS,
            lambda state: all(first not in p.isr and p.leader >= 0 for p in state),
            f"node {first} leaving the ISR",
        )
        second = leader_to_kill(await cluster.partitions(LIFE_EVENTS))
        cluster.nodes[second].kill()
        left = next(n for n in cluster.nodes if n not in (first, second))
        print(f"killed node {first}, then node {second}; node {left} is the one left")

        async def client() -> None:
            deadline = time.monotonic() + OUTAGE_SECONDS
            while time.monotonic() < deadline:
                await during.post(http, headers, new_event())

        await asyncio.gather(*(client() for _ in range(OUTAGE_CONCURRENCY)))
        print(
            f"{OUTAGE_SECONDS:.0f} s with 2 of 3 nodes down: POSTs {during.posts}, 202 "
            f"{len(during.accepted)}, 503 {during.unavailable}, other {dict(during.other)}"
        )

        down_at = time.monotonic()
        await asyncio.to_thread(cluster.start)
        restarted = time.monotonic() - down_at
        # Until the first 202 the clients keep sending new events, one at a time.
        while await after.post(http, headers, new_event()) != 202:
            assert time.monotonic() - down_at < 180, "no 202 within 180 s of the restart"
            await asyncio.sleep(0.5)
        resumed = time.monotonic() - down_at
        for _ in range(RECOVERY_EVENTS):
            await after.post(http, headers, new_event())
        print(
            f"nodes {first} and {second} restarted in {restarted:.1f} s; first 202 "
            f"{resumed:.1f} s after the restart began, after {after.unavailable} more 503; "
            f"then {RECOVERY_EVENTS} more events: 202 {len(after.accepted) - 1}"
        )

    found = await read_ids(cluster.bootstrap_servers, LIFE_EVENTS)
    landed_late = sum(1 for i in during.attempts if i in found)
    print(
        f"on the topic: {sum(1 for i in after.accepted | before.accepted if i in found)} of "
        f"the {len(after.accepted | before.accepted)} events answered 202; of the "
        f"{during.posts} answered 503 during the outage, {landed_late} were written later "
        f"(the idempotent producer keeps retrying what it was given; a 503 asks the sender "
        f"to send again with the same id, which the orchestrator de-duplicates); the test "
        f"{time.monotonic() - started:.1f} s"
    )
    assert during.posts > 0
    assert not during.accepted, f"{len(during.accepted)} events answered 202 with 1 of 3 up"
    assert during.unavailable == during.posts, f"other answers: {dict(during.other)}"
    assert not after.other, f"answers after recovery: {dict(after.other)}"
    assert len(after.accepted) == RECOVERY_EVENTS + 1
    assert (after.accepted | before.accepted) <= set(found)
