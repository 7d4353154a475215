"""For the end-to-end tests: `lifeevents run` with every service, events published on its
Kafka, workflows followed through a Temporal client that reads the encrypted payloads."""

from __future__ import annotations

import asyncio
import re
import signal
import sqlite3
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaProducer
from sqlalchemy import text
from temporalio.client import Client, WorkflowHandle
from temporalio.service import RPCError

from contracts import CloudEvent, to_binary
from contracts.temporal import workflow_id_for
from contracts.timeline import Timeline
from deploy.local.services import SERVICES
from services.common.database import make_engine
from services.common.settings import Settings, StoreOwner
from services.common.temporal import connect

__all__ = [
    "BIN",
    "REPO_ROOT",
    "finished",
    "lifeevents_running",
    "publish",
    "rows",
    "settings_of",
    "store_rows",
    "store_url",
    "until",
]

REPO_ROOT = Path(__file__).resolve().parents[3]
BIN = Path(sys.executable).parent


@asynccontextmanager
async def lifeevents_running(env: dict[str, str], output: Path) -> AsyncIterator[Client]:
    """`lifeevents run --no-demo` until every service says it started; a Temporal client
    with the stack's payload keys. Stopped (SIGINT, as Ctrl-C) on the way out."""
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
        for _ in range(240):
            if _all_started(output):
                break
            await asyncio.sleep(0.5)
        yield await connect(settings_of(env))
    finally:
        run.send_signal(signal.SIGINT)
        await asyncio.wait_for(run.wait(), 90)


def _all_started(output: Path) -> bool:
    text = output.read_text(errors="replace")
    return all(re.search(rf"^{re.escape(s.name)} +\| started", text, re.M) for s in SERVICES)


def rows(db: Path, table: str, where: str = "", *args: Any) -> int:
    with sqlite3.connect(db) as connection:
        query = f"SELECT count(*) FROM {table} {where}"  # noqa: S608 - our own table names
        (count,) = connection.execute(query, args).fetchone()
        return int(count)


def settings_of(env: dict[str, str]) -> Settings:
    """The settings a `lifeevents` process started with `env` reads (no `.env` file)."""
    prefix = "LIFEEVENTS_"
    values = {k.removeprefix(prefix).lower(): v for k, v in env.items() if k.startswith(prefix)}
    return Settings.model_validate(values)


def store_url(env: dict[str, str], owner: StoreOwner) -> str:
    """The store of `owner` that `lifeevents run` with `env` uses."""
    return settings_of(env).database_url(owner)


async def store_rows(
    env: dict[str, str], owner: StoreOwner, sql: str, **params: Any
) -> list[tuple[Any, ...]]:
    """The rows `sql` reads from `owner`'s store, on SQLite or PostgreSQL alike."""
    engine = make_engine(store_url(env, owner))
    try:
        async with engine.connect() as conn:
            return [tuple(row) for row in await conn.execute(text(sql), params)]
    finally:
        await engine.dispose()


async def publish(bootstrap: str, event: CloudEvent[Any]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True)
    await producer.start()
    try:
        record = to_binary(event)
        await producer.send_and_wait(
            "lifeevents.v1", value=record.value, key=record.key, headers=list(record.headers)
        )
    finally:
        await producer.stop()


def handle_for(client: Client, event: CloudEvent[Any]) -> WorkflowHandle[Any, Any]:
    return client.get_workflow_handle(workflow_id_for(event.source, event.id))


async def finished(client: Client, event: CloudEvent[Any]) -> Timeline:
    """The event's timeline once its workflow has completed."""
    handle = handle_for(client, event)
    for _ in range(240):
        try:
            await asyncio.wait_for(handle.result(), 5)
            break
        except (TimeoutError, Exception):  # not started yet, or still running
            await asyncio.sleep(0.5)
    return await handle.query("timeline", result_type=Timeline)


async def until(
    client: Client, event: CloudEvent[Any], check: Callable[[Timeline], bool]
) -> Timeline:
    """The event's timeline once `check` holds (the workflow may not have started yet)."""
    return await until_workflow(client, workflow_id_for(event.source, event.id), check)


async def until_workflow(
    client: Client, workflow_id: str, check: Callable[[Timeline], bool]
) -> Timeline:
    """A workflow's timeline once `check` holds (it may not have started yet)."""
    handle = client.get_workflow_handle(workflow_id)
    seen: Timeline | None = None
    for _ in range(240):
        try:
            seen = await handle.query("timeline", result_type=Timeline)
        except RPCError:
            seen = None  # not started yet
        if seen is not None and check(seen):
            return seen
        await asyncio.sleep(0.5)
    raise AssertionError(f"timeline never got there: {seen}")
