"""Intake API throughput: POSTs per second (p50/p99 latency) through `python -m services.intake`
under uvicorn, next to a plain aiokafka producer doing the same sends in the same run.

    .venv/bin/python benchmarks/intake.py [--events 2000] [--concurrency 4] [--private]

Kafka is LIFEEVENTS_KAFKA_BOOTSTRAP_SERVERS (default localhost:9092, the one `make run`
starts); `--private` starts a Kafka and Temporal of its own on free ports instead. Each run
writes to topics of its own. Both sides use acks=all with idempotence and wait for every ack:
the intake answers 202 only after Kafka's ack, and the plain producer awaits each send.
Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from asyncio.subprocess import Process
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.structs import TopicPartition

from contracts import from_structured, to_binary
from deploy.local.stack import Stack, StackConfig
from services.common.topics import ensure_topics
from services.intake.keys import ApiKeys
from services.intake.store import IntakeStore

REPO_ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = json.loads(
    (REPO_ROOT / "contracts" / "examples" / "address-changed-household.json").read_text()
)
SOURCE = "/bench/intake"
WARM_UP = 50
PARTITIONS = 3


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("localhost", 0))
        port: int = s.getsockname()[1]
        return port


def documents(count: int) -> list[dict[str, Any]]:
    return [{**EXAMPLE, "id": str(uuid.uuid4()), "source": SOURCE} for _ in range(count)]


class Figures:
    def __init__(self, name: str, latencies: list[float], elapsed: float) -> None:
        self.name = name
        self.rate = len(latencies) / elapsed
        ordered = sorted(latencies)
        self.p50 = statistics.median(ordered) * 1000
        self.p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000

    def __str__(self) -> str:
        return (
            f"{self.name:<44} {self.rate:8.1f} /s   p50 {self.p50:7.2f} ms   p99 {self.p99:7.2f} ms"
        )


async def measure(
    name: str, items: list[Any], concurrency: int, send: Callable[[int, Any], Awaitable[None]]
) -> Figures:
    """Run `send` over every item with `concurrency` workers, each awaiting one at a time."""
    pending = iter(items)
    latencies: list[float] = []

    async def worker(number: int) -> None:
        for item in pending:
            began = time.perf_counter()
            await send(number, item)
            latencies.append(time.perf_counter() - began)

    began = time.perf_counter()
    await asyncio.gather(*(worker(n) for n in range(concurrency)))
    return Figures(name, latencies, time.perf_counter() - began)


async def issue_key(database_url: str) -> str:
    async with await IntakeStore.open(database_url) as store:
        issued = await ApiKeys(store).issue(SOURCE, [EXAMPLE["type"]])
        return issued.secret


async def topic_size(bootstrap: str, topic: str) -> int:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        ends = await consumer.end_offsets([TopicPartition(topic, p) for p in range(PARTITIONS)])
        return sum(ends.values())
    finally:
        await consumer.stop()


async def intake_run(bootstrap: str, count: int, concurrency: int, work: Path) -> Figures:
    tag = uuid.uuid4().hex[:8]
    topic, port = f"bench.intake.{tag}", free_port()
    database_url = f"sqlite+aiosqlite:///{work / 'intake.db'}"
    key = await issue_key(database_url)
    env = {
        **os.environ,
        "LIFEEVENTS_KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "LIFEEVENTS_LIFE_EVENTS_TOPIC": topic,
        "LIFEEVENTS_LIFE_EVENTS_DLQ_TOPIC": f"{topic}.dlq",
        "LIFEEVENTS_KAFKA_TOPIC_PARTITIONS": str(PARTITIONS),
        "LIFEEVENTS_INTAKE_DLQ_GROUP_ID": f"bench-{tag}",
        "LIFEEVENTS_INTAKE_DATABASE_URL": database_url,
        "LIFEEVENTS_INTAKE_PORT": str(port),
        "LIFEEVENTS_INTAKE_RATE_PER_SECOND": "1000000",
        "LIFEEVENTS_INTAKE_RATE_BURST": "1000000",
        "LIFEEVENTS_LOG_LEVEL": "WARNING",
        "LIFEEVENTS_LOG_FORMAT": "json",
    }
    log = work / "intake.log"
    with log.open("wb") as out:
        server = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "services.intake",
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=REPO_ROOT,
        )
    base = f"http://127.0.0.1:{port}"
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/cloudevents+json"}
    clients = [httpx.AsyncClient(base_url=base, headers=headers) for _ in range(concurrency)]
    try:
        await wait_connected(clients[0], server, log)

        async def post(number: int, document: dict[str, Any]) -> None:
            answer = await clients[number].post("/v1/events", content=json.dumps(document))
            if answer.status_code != 202:
                raise RuntimeError(f"intake answered {answer.status_code}: {answer.text}")

        await measure("warm-up", documents(WARM_UP), concurrency, post)
        figures = await measure(
            f"intake API, {concurrency} httpx clients", documents(count), concurrency, post
        )
        written = await topic_size(bootstrap, topic)
        if written != count + WARM_UP:
            print(f"!! {written} records on the topic, {count + WARM_UP} were answered 202")
        return figures
    finally:
        for client in clients:
            await client.aclose()
        server.terminate()
        await asyncio.wait_for(server.wait(), 30)


async def wait_connected(client: httpx.AsyncClient, server: Process, log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.returncode is not None:
            output = await asyncio.to_thread(log.read_text)
            raise RuntimeError(f"the intake exited:\n{output}")
        try:
            if (await client.get("/healthz")).json()["kafka"] == "connected":
                return
        except httpx.TransportError:
            pass
        await asyncio.sleep(0.2)
    raise RuntimeError("the intake did not connect to Kafka within 60 s")


async def raw_run(bootstrap: str, count: int, concurrency: int) -> Figures:
    topic = f"bench.raw.{uuid.uuid4().hex[:8]}"
    await ensure_topics(bootstrap, [topic], partitions=PARTITIONS)
    records = [to_binary(from_structured(d)) for d in documents(count + WARM_UP)]
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True)
    await producer.start()
    try:

        async def send(_number: int, record: Any) -> None:
            await producer.send_and_wait(
                topic, value=record.value, key=record.key, headers=list(record.headers)
            )

        await measure("warm-up", records[:WARM_UP], concurrency, send)
        return await measure(
            f"plain aiokafka producer, {concurrency} in flight",
            records[WARM_UP:],
            concurrency,
            send,
        )
    finally:
        await producer.stop()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--private", action="store_true", help="start a Kafka of its own")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="lifeevents-bench-") as tmp:
        stack = None
        bootstrap = os.environ.get("LIFEEVENTS_KAFKA_BOOTSTRAP_SERVERS", "localhost:9092")
        if args.private:
            config = StackConfig(
                var_dir=Path(tmp) / "var",
                kafka_lib_dir=REPO_ROOT / "var" / "kafka" / "lib",
                kafka_port=free_port(),
                kafka_controller_port=free_port(),
                temporal_port=free_port(),
                temporal_ui_port=None,
            )
            stack = Stack(config)
            await asyncio.to_thread(stack.up)
            bootstrap = config.kafka_bootstrap_servers
        try:
            print(
                f"Kafka {bootstrap}; {args.events} events a run after {WARM_UP} to warm up "
                f"(machine: {os.cpu_count()} cores)"
            )
            print(await intake_run(bootstrap, args.events, args.concurrency, Path(tmp)))
            for concurrency in sorted({1, args.concurrency}):
                print(await raw_run(bootstrap, args.events, concurrency))
        finally:
            if stack is not None:
                await asyncio.to_thread(stack.down)


if __name__ == "__main__":
    asyncio.run(main())
