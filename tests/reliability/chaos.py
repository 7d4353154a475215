"""The reliability suite's stack and faults: one `lifeevents run --no-demo` shared by every
test of the suite, events published on its Kafka, and the faults the tests inject (a service
SIGKILLed for the supervisor to restart, the Temporal server killed and started again on its
database, a store locked or full), with the counts the tests compare.

The run is shared through `suite_run`, not a fixture per module: the personal-data scan must
see what the fault tests did, whichever module pytest collects first, so each phase runs once,
when a test first needs it (`Run.phase`).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import sqlite3
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer
from temporalio.client import Client, WorkflowExecutionStatus

from contracts import CloudEvent, KafkaRecord, to_binary
from contracts.temporal import workflow_id_for
from deploy.local.stack import StackConfig, TemporalProcess
from services.common.settings import Settings
from tests.conftest import _free_port
from tests.deploy.local.running import lifeevents_running
from tests.reliability.events import Person, move, person, poison
from tests.support import subprocess_env

__all__ = ["Published", "Run", "suite_run"]

LIFE_EVENTS = "lifeevents.v1"
MOVES = "LifeEventType = 'lifeevents.address.changed.v1'"
# Stores of the run that are not a service's: Kafka's and Temporal's own files.
NOT_SERVICE_STORES = {"kafka", "temporal"}


@dataclass(frozen=True)
class Published:
    event: CloudEvent[Any]
    people: tuple[Person, ...]
    at: float  # wall clock, to compare with the workflow's start time

    @property
    def workflow_id(self) -> str:
        return workflow_id_for(self.event.source, self.event.id)


@dataclass
class Run:
    """`lifeevents run` with what the suite published on it and what its phases found."""

    env: dict[str, str]
    output: Path
    client: Client
    producer: AIOKafkaProducer
    good: list[Published] = field(default_factory=list)
    poison: list[tuple[str, KafkaRecord]] = field(default_factory=list)
    baseline: dict[str, int] = field(default_factory=dict)  # store rows before any event
    _next: int = 0
    _running: dict[str, asyncio.Task[Any]] = field(default_factory=dict)

    @property
    def var(self) -> Path:
        return Path(self.env["LIFEEVENTS_VAR_DIR"])

    @property
    def bootstrap(self) -> str:
        return self.env["LIFEEVENTS_KAFKA_BOOTSTRAP_SERVERS"]

    @property
    def people(self) -> list[Person]:
        return [p for g in self.good for p in g.people]

    async def phase(self, name: str, run: Callable[[Run], Awaitable[Any]]) -> Any:
        """What the phase found; run now if no test has asked for it yet (once per run)."""
        if name not in self._running:
            self._running[name] = asyncio.ensure_future(run(self))
        return await asyncio.shield(self._running[name])

    # --- publishing -----------------------------------------------------------------------

    async def publish_moves(self, count: int, *, poison_every: int = 0) -> list[Published]:
        """`count` moves (every fourth a household of two), each mover a new person, with a
        poison record after every `poison_every` good ones when that is set."""
        sent: list[Published] = []
        for n in range(count):
            i = self._next
            self._next += 1
            people = (person(2 * i), person(2 * i + 1)) if i % 4 == 3 else (person(2 * i),)
            event = move(i, list(people))
            await self._send(to_binary(event))
            sent.append(Published(event, people, time.time()))
            if poison_every and (n + 1) % poison_every == 0:
                kind, record = poison(len(self.poison))
                await self._send(record)
                self.poison.append((kind, record))
        self.good.extend(sent)
        return sent

    async def _send(self, record: KafkaRecord) -> None:
        await self.producer.send_and_wait(
            LIFE_EVENTS, value=record.value, key=record.key, headers=list(record.headers)
        )

    # --- processes --------------------------------------------------------------------------

    def pid_of(self, service: str) -> int:
        """The live pid of a service of THIS run, as its supervisor last started it."""
        found = re.findall(
            rf"^{re.escape(service)} +\| started \(pid (\d+)\)", self.output.read_text(), re.M
        )
        assert found, f"{service} never started"
        pid = int(found[-1])
        environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
        assert f"LIFEEVENTS_VAR_DIR={self.var}".encode() in environ, "not this run's process"
        return pid

    async def kill(self, service: str) -> float:
        """SIGKILL a supervised service; seconds until the supervisor started it again."""
        old = self.pid_of(service)
        os.kill(old, signal.SIGKILL)
        killed = time.monotonic()
        for _ in range(600):
            with contextlib.suppress(AssertionError, OSError):
                if self.pid_of(service) != old:
                    return time.monotonic() - killed
            await asyncio.sleep(0.1)
        raise AssertionError(f"{service} was not restarted")

    def temporal(self) -> TemporalProcess:
        settings = Settings(
            var_dir=self.var,
            temporal_address=self.env["LIFEEVENTS_TEMPORAL_ADDRESS"],
            kafka_bootstrap_servers=self.bootstrap,
            temporal_ui_port=int(self.env["LIFEEVENTS_TEMPORAL_UI_PORT"]),
        )
        return TemporalProcess(StackConfig.from_settings(settings))

    async def restart_temporal(self) -> float:
        """SIGKILL the Temporal dev server (nothing restarts it: `lifeevents run` starts it
        once) and start it again on the same database file and port, as `lifeevents run`
        would; seconds it was away."""
        temporal = self.temporal()
        pid = temporal.pid()
        assert pid is not None, "the run's Temporal server is not running"
        os.killpg(pid, signal.SIGKILL)
        down = time.monotonic()
        for _ in range(300):
            if _state(pid) in {"Z", "X", ""}:
                break
            await asyncio.sleep(0.1)
        # It answers only once it has opened the database; blocking, so off the loop.
        await asyncio.to_thread(_start_when_port_free, temporal)
        return time.monotonic() - down

    # --- counting ---------------------------------------------------------------------------

    async def moves_by_status(self) -> dict[str, list[WorkflowExecutionStatus | None]]:
        """Every run of every move workflow, by workflow ID."""
        runs: dict[str, list[WorkflowExecutionStatus | None]] = {}
        async for execution in self.client.list_workflows(MOVES):
            runs.setdefault(execution.id, []).append(execution.status)
        return runs

    async def until_completed(self, expected: int, timeout: float) -> float:
        """Seconds until `expected` move workflows have completed and none runs."""
        began = time.monotonic()
        while time.monotonic() - began < timeout:
            with contextlib.suppress(Exception):  # Temporal may be restarting
                done = await self.client.count_workflows(f"{MOVES} AND ExecutionStatus='Completed'")
                running = await self.client.count_workflows(
                    f"{MOVES} AND ExecutionStatus='Running'"
                )
                if done.count >= expected and running.count == 0:
                    return time.monotonic() - began
            await asyncio.sleep(2)
        raise AssertionError(f"{expected} moves not completed within {timeout:.0f} s")

    def store_rows(self) -> dict[str, int]:
        """Rows of every table of every service store of the run, as `store.table`."""
        counts: dict[str, int] = {}
        for db in sorted(self.var.glob("*/*.db")):
            if db.parent.name in NOT_SERVICE_STORES:
                continue
            with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as conn:
                tables = [
                    t for (t,) in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")
                ]
                for table in tables:
                    (n,) = conn.execute(f'SELECT count(*) FROM "{table}"').fetchone()  # noqa: S608
                    counts[f"{db.parent.name}.{table}"] = int(n)
        return counts


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return ""


def _start_when_port_free(temporal: TemporalProcess) -> None:
    for _ in range(100):
        try:
            temporal.start(timeout=120)
            return
        except Exception as error:  # the killed server's port is released a moment later
            if "already in use" not in str(error):
                raise
            time.sleep(0.2)
    raise AssertionError("the Temporal port never came free")


def _env(var_dir: Path) -> dict[str, str]:
    """As tests/conftest.py's `cli_env` makes it (a function fixture; this run is shared)."""
    consent_port, portal_port = _free_port(), _free_port()
    return subprocess_env(
        LIFEEVENTS_VAR_DIR=str(var_dir),
        LIFEEVENTS_LOG_FORMAT="json",
        LIFEEVENTS_KAFKA_BOOTSTRAP_SERVERS=f"localhost:{_free_port()}",
        LIFEEVENTS_KAFKA_CONTROLLER_PORT=str(_free_port()),
        LIFEEVENTS_TEMPORAL_ADDRESS=f"localhost:{_free_port()}",
        LIFEEVENTS_TEMPORAL_UI_PORT=str(_free_port()),
        LIFEEVENTS_INTAKE_PORT=str(_free_port()),
        LIFEEVENTS_CODEC_PORT=str(_free_port()),
        LIFEEVENTS_MAIL_CATCHER_SMTP_PORT=str(_free_port()),
        LIFEEVENTS_MAIL_CATCHER_HTTP_PORT=str(_free_port()),
        LIFEEVENTS_PORTAL_PORT=str(portal_port),
        LIFEEVENTS_PORTAL_PUBLIC_URL=f"http://localhost:{portal_port}",
        LIFEEVENTS_CONSENT_HTTP_PORT=str(consent_port),
        LIFEEVENTS_SHARE_TOKEN_KEY_URL=f"http://127.0.0.1:{consent_port}/share-token-key",
    )


async def _topic_ready(producer: AIOKafkaProducer) -> None:
    """The orchestrator creates the topic at start; publishing before that is refused."""
    for _ in range(240):
        partitions = await producer.partitions_for(LIFE_EVENTS)
        if partitions:
            return
        await asyncio.sleep(0.5)
    raise AssertionError(f"{LIFE_EVENTS} never appeared")


_shared: Run | None = None
_users = 0
_stack = AsyncExitStack()


@pytest.fixture(scope="session")
async def suite_run(
    tmp_path_factory: pytest.TempPathFactory, kafka_lib: Path
) -> AsyncIterator[Run]:
    """The suite's one `lifeevents run`. Each test module that imports this fixture gets a
    fixture of its own from pytest, so the run itself is kept here and stopped by the last."""
    global _shared, _users
    if _shared is None:
        var = tmp_path_factory.mktemp("reliability") / "var"
        (var / "kafka").mkdir(parents=True)
        (var / "kafka" / "lib").symlink_to(kafka_lib)
        env = _env(var)
        output = var.parent / "run.out"
        client = await _stack.enter_async_context(lifeevents_running(env, output))
        producer = AIOKafkaProducer(
            bootstrap_servers=env["LIFEEVENTS_KAFKA_BOOTSTRAP_SERVERS"],
            acks="all",
            enable_idempotence=True,
        )
        await producer.start()
        _stack.push_async_callback(producer.stop)
        await _topic_ready(producer)
        _shared = Run(env, output, client, producer)
        _shared.baseline = _shared.store_rows()
    _users += 1
    try:
        yield _shared
    finally:
        _users -= 1
        if _users == 0:
            # A Temporal server this suite restarted is its own child, not `lifeevents run`'s.
            with contextlib.suppress(Exception):
                await _stack.aclose()
            _shared.temporal().stop()
            _shared = None
