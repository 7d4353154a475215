"""`lifeevents stack up | down | status` against a stack of its own (free ports, temp folder)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from temporalio.client import Client, WorkflowExecutionStatus

from workflows.diagnostics import StackCheckWorkflow
from workflows.worker import build_worker

Cli = Callable[..., subprocess.CompletedProcess[str]]
TOPIC = "persistence-check"
WORKFLOW_ID = "persistence-check"


async def write_data(bootstrap: str, temporal_address: str) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True)
    await producer.start()
    try:
        await producer.send_and_wait(TOPIC, b"kept across a restart")
    finally:
        await producer.stop()
    client = await Client.connect(temporal_address)
    async with build_worker(client, task_queue="persistence-check"):
        await client.execute_workflow(
            StackCheckWorkflow.run, "kept", id=WORKFLOW_ID, task_queue="persistence-check"
        )


async def read_data(bootstrap: str, temporal_address: str) -> tuple[list[bytes], object, str]:
    consumer = AIOKafkaConsumer(
        TOPIC,
        bootstrap_servers=bootstrap,
        auto_offset_reset="earliest",
        group_id=f"reader-{uuid.uuid4().hex}",
    )
    await consumer.start()
    try:
        batches = await consumer.getmany(timeout_ms=15_000)
        values = [
            record.value for records in batches.values() for record in records if record.value
        ]
    finally:
        await consumer.stop()
    client = await Client.connect(temporal_address)
    handle = client.get_workflow_handle(WORKFLOW_ID)
    described = await handle.describe()
    return values, described.status, await handle.result()


def pid_files(env: dict[str, str]) -> dict[str, str]:
    run_dir = Path(env["LIFEEVENTS_VAR_DIR"]) / "run"
    return {p.stem: p.read_text().strip() for p in run_dir.glob("*.pid")}


@pytest.mark.stack
async def test_up_twice_down_and_restart_keeps_data(
    cli_env: Callable[..., dict[str, str]],
    run_cli: Cli,
    live_processes: Callable[[str], list[int]],
) -> None:
    env = cli_env()
    var_dir = env["LIFEEVENTS_VAR_DIR"]
    bootstrap = env["LIFEEVENTS_KAFKA_BOOTSTRAP_SERVERS"]
    temporal = env["LIFEEVENTS_TEMPORAL_ADDRESS"]
    cli = lambda *args: asyncio.to_thread(run_cli, *args, env=env)  # noqa: E731

    # Stale pid files — one naming a live stranger (this test process), one a dead pid —
    # must neither stop a start nor get anyone killed.
    (Path(var_dir) / "run").mkdir(parents=True)
    (Path(var_dir) / "run" / "kafka.pid").write_text(f"{os.getpid()}\n")
    (Path(var_dir) / "run" / "temporal.pid").write_text("4194303\n")

    first = await cli("stack", "up")
    assert first.returncode == 0, first.stderr
    assert "kafka: started" in first.stdout
    assert "temporal: started" in first.stdout
    started = pid_files(env)
    assert str(os.getpid()) not in started.values()
    assert len(live_processes(var_dir)) == 2

    second = await cli("stack", "up")
    assert second.returncode == 0, second.stderr
    assert "kafka: already running" in second.stdout
    assert "temporal: already running" in second.stdout
    assert pid_files(env) == started
    assert len(live_processes(var_dir)) == 2

    status = await cli("stack", "status")
    assert status.stdout.count(" answers") == 2, status.stdout
    assert f"UI http://localhost:{env['LIFEEVENTS_TEMPORAL_UI_PORT']}" in status.stdout

    await write_data(bootstrap, temporal)

    down = await cli("stack", "down")
    assert down.returncode == 0, down.stderr
    assert live_processes(var_dir) == []
    assert pid_files(env) == {}
    assert (await cli("stack", "status")).stdout.count("does not answer") == 2

    again = await cli("stack", "up")
    assert again.returncode == 0, again.stderr
    try:
        values, status_after, result = await read_data(bootstrap, temporal)
        assert values == [b"kept across a restart"]
        assert status_after == WorkflowExecutionStatus.COMPLETED
        assert result == "echo: kept"
    finally:
        assert (await cli("stack", "down")).returncode == 0
    assert live_processes(var_dir) == []
