"""Orchestrator throughput: workflow starts per second from a backlog on Kafka, next to a plain
Temporal client starting the same workflows in the same run.

    .venv/bin/python benchmarks/orchestrator.py [--events 2000]

Starts a private Kafka and Temporal dev server (free ports, temporary folder) unless
LIFEEVENTS_BENCH_REUSE=1, in which case it uses LIFEEVENTS_KAFKA_BOOTSTRAP_SERVERS and
LIFEEVENTS_TEMPORAL_ADDRESS as they are. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaProducer
from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.contrib.pydantic import pydantic_data_converter

from contracts import CloudEvent, from_structured, to_binary
from deploy.local.stack import Stack, StackConfig
from services.common.topics import ensure_topics

REPO_ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = json.loads(
    (REPO_ROOT / "contracts" / "examples" / "address-changed-household.json").read_text()
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("localhost", 0))
        port: int = s.getsockname()[1]
        return port


def events(count: int, source: str) -> list[CloudEvent[Any]]:
    return [
        from_structured({**EXAMPLE, "id": str(uuid.uuid4()), "source": source})
        for _ in range(count)
    ]


async def publish(bootstrap: str, topic: str, batch: list[CloudEvent[Any]]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True)
    await producer.start()
    try:
        sends = []
        for event in batch:
            record = to_binary(event)
            sends.append(
                await producer.send(
                    topic, value=record.value, key=record.key, headers=list(record.headers)
                )
            )
        await asyncio.gather(*sends)
    finally:
        await producer.stop()


def start_times(log: Path) -> list[float]:
    stamps = []
    for line in log.read_text(errors="replace").splitlines():
        if '"workflow.started"' in line:
            stamp = json.loads(line)["timestamp"]
            stamps.append(datetime.fromisoformat(stamp).timestamp())
    return stamps


async def orchestrator_rate(bootstrap: str, temporal: str, count: int, work: Path) -> float:
    tag = uuid.uuid4().hex[:8]
    topic, queue = f"bench.lifeevents.{tag}", f"bench-{tag}"
    await ensure_topics(bootstrap, [topic, f"{topic}.dlq"], partitions=1)
    await publish(bootstrap, topic, events(count, "/bench/orchestrator"))
    env = {
        **os.environ,
        "LIFEEVENTS_KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "LIFEEVENTS_TEMPORAL_ADDRESS": temporal,
        "LIFEEVENTS_LIFE_EVENTS_TOPIC": topic,
        "LIFEEVENTS_LIFE_EVENTS_DLQ_TOPIC": f"{topic}.dlq",
        "LIFEEVENTS_ORCHESTRATOR_GROUP_ID": f"bench-{tag}",
        "LIFEEVENTS_TEMPORAL_TASK_QUEUE": queue,
        "LIFEEVENTS_LOG_FORMAT": "json",
    }
    log = work / f"orchestrator-{tag}.log"
    with log.open("wb") as out:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "services.orchestrator",
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=REPO_ROOT,
        )
    try:
        for _ in range(1200):  # ten minutes at most
            if len(start_times(log)) >= count:
                break
            await asyncio.sleep(0.5)
    finally:
        proc.terminate()
        await proc.wait()
    stamps = start_times(log)
    return (len(stamps) - 1) / (stamps[-1] - stamps[0])


async def raw_rate(temporal: str, count: int, concurrency: int) -> float:
    client = await Client.connect(temporal, data_converter=pydantic_data_converter)
    batch = events(count, "/bench/raw")
    queue = f"bench-raw-{uuid.uuid4().hex[:8]}"
    pending = iter(batch)

    async def starter() -> None:
        for event in pending:
            await client.start_workflow(
                "MoveWorkflow",
                event,
                id=f"raw-{event.id}",
                task_queue=queue,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            )

    began = time.perf_counter()
    await asyncio.gather(*(starter() for _ in range(concurrency)))
    return count / (time.perf_counter() - began)


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=2000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="lifeevents-bench-") as tmp:
        stack = None
        if os.environ.get("LIFEEVENTS_BENCH_REUSE") == "1":
            bootstrap = os.environ["LIFEEVENTS_KAFKA_BOOTSTRAP_SERVERS"]
            temporal = os.environ["LIFEEVENTS_TEMPORAL_ADDRESS"]
        else:
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
            bootstrap, temporal = config.kafka_bootstrap_servers, config.temporal_address
        try:
            print(f"events per run: {args.events}  (machine: {os.cpu_count()} cores)")
            rate = await orchestrator_rate(bootstrap, temporal, args.events, Path(tmp))
            print(f"orchestrator, Kafka backlog -> workflow starts: {rate:8.1f} starts/s")
            for concurrency in (1, 50):
                raw = await raw_rate(temporal, args.events, concurrency)
                print(f"plain Temporal client, {concurrency:2d} in flight:     {raw:8.1f} starts/s")
        finally:
            if stack is not None:
                await asyncio.to_thread(stack.down)


if __name__ == "__main__":
    asyncio.run(main())
