"""Moves end to end: from publishing a move on Kafka to its timeline complete, through every
service under `lifeevents run`, next to a raw baseline measured in the same run on the same
Temporal server: a workflow running the same number of no-op activities, one after another.

    .venv/bin/python benchmarks/moves.py [--moves 100]

Starts `lifeevents run --no-demo` on free ports in a temporary folder. Each move is a
different synthetic adult moving within the area (council tax, electoral register and benefits
act; no school place, so no resident confirmation is awaited). Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaProducer
from pydantic import SecretStr
from temporalio import activity, workflow
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.service import RPCError
from temporalio.worker import Worker

from contracts import CloudEvent, from_structured, to_binary
from contracts.temporal import workflow_id_for
from deploy.local.services import SERVICES
from services.common.codec import data_converter, new_key_spec
from services.common.settings import Settings

REPO_ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
HOUSEHOLD = json.loads(
    (REPO_ROOT / "contracts/examples/address-changed-household.json").read_text()
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("localhost", 0))
        port: int = s.getsockname()[1]
        return port


def moves(count: int) -> list[CloudEvent[Any]]:
    return [
        from_structured(
            {
                **HOUSEHOLD,
                "id": str(uuid.uuid4()),
                "data": {
                    **HOUSEHOLD["data"],
                    "movers": [
                        {
                            "name": {"given_names": "Bench", "family_name": f"Person{i:05d}"},
                            "date_of_birth": f"19{50 + i % 40}-0{1 + i % 9}-1{i % 9}",
                        }
                    ],
                },
            }
        )
        for i in range(count)
    ]


@activity.defn(name="bench.noop")
async def noop() -> None:
    return None


@workflow.defn(sandboxed=False)
class NoOpMove:
    @workflow.run
    async def run(self, activities: int) -> None:
        for _ in range(activities):
            await workflow.execute_activity(noop, start_to_close_timeout=timedelta(seconds=30))


def percentile(values: list[float], p: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(p) - 1]


def report(label: str, latencies: list[float], span: float) -> None:
    print(
        f"{label:<44} {len(latencies) / span:7.1f} /s   p50 {statistics.median(latencies):6.2f} s"
        f"   p99 {percentile(latencies, 99):6.2f} s"
    )


async def wait_closed(client: Client, ids: list[str], timeout: float) -> dict[str, datetime]:
    closed: dict[str, datetime] = {}
    deadline = time.monotonic() + timeout
    while len(closed) < len(ids) and time.monotonic() < deadline:
        for workflow_id in ids:
            if workflow_id in closed:
                continue
            try:
                described = await client.get_workflow_handle(workflow_id).describe()
            except RPCError:  # not started yet
                continue
            if described.status == WorkflowExecutionStatus.COMPLETED and described.close_time:
                closed[workflow_id] = described.close_time
        await asyncio.sleep(0.5)
    return closed


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--moves", type=int, default=100)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="lifeevents-bench-moves-") as tmp:
        var = Path(tmp) / "var"
        (var / "kafka").mkdir(parents=True)
        (var / "kafka" / "lib").symlink_to(REPO_ROOT / "var" / "kafka" / "lib")
        consent = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("LIFEEVENTS_")}
        env.update(
            LIFEEVENTS_VAR_DIR=str(var),
            LIFEEVENTS_KAFKA_BOOTSTRAP_SERVERS=f"localhost:{free_port()}",
            LIFEEVENTS_KAFKA_CONTROLLER_PORT=str(free_port()),
            LIFEEVENTS_TEMPORAL_ADDRESS=f"localhost:{free_port()}",
            LIFEEVENTS_TEMPORAL_UI_PORT=str(free_port()),
            LIFEEVENTS_INTAKE_PORT=str(free_port()),
            LIFEEVENTS_CODEC_PORT=str(free_port()),
            LIFEEVENTS_CONSENT_HTTP_PORT=str(consent),
            LIFEEVENTS_SHARE_TOKEN_KEY_URL=f"http://127.0.0.1:{consent}/share-token-key",
            LIFEEVENTS_PAYLOAD_KEYS=new_key_spec(),
            LIFEEVENTS_LOG_LEVEL="WARNING",
            LIFEEVENTS_LOG_FORMAT="json",
        )
        output = Path(tmp) / "run.out"
        with output.open("wb") as out:
            run = await asyncio.create_subprocess_exec(
                str(BIN / "lifeevents"),
                "run",
                "--no-demo",
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=REPO_ROOT,
            )
        try:
            for _ in range(600):
                text = output.read_text(errors="replace")
                if all(
                    re.search(rf"^{re.escape(s.name)} +\| started", text, re.M) for s in SERVICES
                ):
                    break
                await asyncio.sleep(0.5)
            client = await Client.connect(
                env["LIFEEVENTS_TEMPORAL_ADDRESS"],
                data_converter=data_converter(
                    Settings(payload_keys=SecretStr(env["LIFEEVENTS_PAYLOAD_KEYS"]))
                ),
            )
            # One move first, untimed: it warms every process and counts the activities.
            warm = moves(1)[0]
            await publish(env["LIFEEVENTS_KAFKA_BOOTSTRAP_SERVERS"], [warm])
            warm_id = workflow_id_for(warm.source, warm.id)
            await wait_closed(client, [warm_id], 120)
            history = client.get_workflow_handle(warm_id).fetch_history_events()
            activities = len(
                [e async for e in history if e.HasField("activity_task_scheduled_event_attributes")]
            )
            batch = moves(args.moves)
            published = time.time()
            await publish(env["LIFEEVENTS_KAFKA_BOOTSTRAP_SERVERS"], batch)
            ids = [workflow_id_for(e.source, e.id) for e in batch]
            closed = await wait_closed(client, ids, 900)
            latencies = [c.timestamp() - published for c in closed.values()]
            print(
                f"moves: {args.moves} published at once; {activities} activities per move; "
                f"{os.cpu_count()} cores; {len(closed)} completed"
            )
            report(
                "moves, publish -> timeline complete",
                latencies,
                max(c.timestamp() for c in closed.values()) - published,
            )

            queue = f"bench-noop-{uuid.uuid4().hex[:8]}"
            async with Worker(client, task_queue=queue, workflows=[NoOpMove], activities=[noop]):
                started = time.time()
                handles = await asyncio.gather(
                    *(
                        client.start_workflow(
                            NoOpMove.run,
                            activities,
                            id=f"noop-{uuid.uuid4().hex}",
                            task_queue=queue,
                        )
                        for _ in range(args.moves)
                    )
                )
                await asyncio.gather(*(h.result() for h in handles))
                ends = [(await h.describe()).close_time for h in handles]
            raw = [e.timestamp() - started for e in ends if e is not None]
            report(f"baseline, {activities} no-op activities in a row", raw, max(raw))
        finally:
            run.send_signal(signal.SIGINT)
            await asyncio.wait_for(run.wait(), 120)


async def publish(bootstrap: str, events: list[CloudEvent[Any]]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True)
    await producer.start()
    try:
        for event in events:
            record = to_binary(event)
            await producer.send_and_wait(
                "lifeevents.v1", value=record.value, key=record.key, headers=list(record.headers)
            )
    finally:
        await producer.stop()


if __name__ == "__main__":
    asyncio.run(main())
