"""The suite's phases on the shared run, in order; each runs once (`Run.phase`) and returns
what it injected and counted, for the tests to check and print.

1. poison: good moves with 5 % poison among them, no other fault.
2. faults: many more moves and poison, while the orchestrator, the council tax worker and
   the workflow worker are SIGKILLed and the Temporal server is killed and started again.
3. replay: the orchestrator's consumer group set back to the start of the topic.
4. stores: the council tax store locked against writers, then full, while moves need it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import resource
import signal
import sqlite3
import time
from dataclasses import dataclass, field
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from temporalio.client import WorkflowExecutionStatus

from contracts.topics import DLQ_REASON_HEADER
from services.common.topics import partitions_of
from services.orchestrator.dlq import DeadLetter, read_dead_letters
from tests.reliability.chaos import LIFE_EVENTS, Published, Run

__all__ = [
    "EVENTS",
    "POISON_BATCH",
    "Faults",
    "Poison",
    "Replay",
    "StoreFaults",
    "after_everything",
    "faults",
    "poison",
    "replay",
    "stores",
]

# Good events published while processes are killed. The issue asks for 2,000; on this
# 2-core machine, shared, the stack completes about 2.5 moves a second at a burst, and a
# killed council worker's actions in flight wait out their 2-minute start-to-close timeout
# before they are retried: 200 (300 with the poison phase's) is what fits the suite's ~8
# minutes. Raise it as the workflows get faster.
EVENTS = 200
POISON_EVERY = 20  # one poison record after every 20 good ones: 5 %
POISON_BATCH = 100  # good events of the poison phase
STORE_BATCH = 6  # moves published while the council tax store is locked, and again when full
FAULT_SECONDS = 25.0  # how long a store stays unwritable
DLQ = "lifeevents.v1.dlq"
GROUP = "lifeevents-orchestrator"
COUNCIL_TAX_DB = ("counciltax", "counciltax.db")


# --- 1. poison -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Poison:
    reasons: list[tuple[str, str]]  # per poison record: its kind, its dead letter's reason
    dead_letters: int  # records on the DLQ
    indexed: int  # poison records with an event ID found in the dead-letter index
    with_id: int  # poison records that carry an event ID (junk bytes carry none)
    near: list[float]  # publish -> workflow start, s, of the good events next to a poison
    rest: list[float]
    seconds: float


async def poison(run: Run) -> Poison:
    began = time.monotonic()
    before = len(run.poison)
    sent = await run.publish_moves(POISON_BATCH, poison_every=POISON_EVERY)
    records = run.poison[before:]
    latencies = [await _start_latency(run, p) for p in sent]
    # The good events just before and just after each poison record.
    next_to_poison = {
        j
        for k in range(1, len(records) + 1)
        for j in (
            k * POISON_EVERY - 2,
            k * POISON_EVERY - 1,
            k * POISON_EVERY,
            k * POISON_EVERY + 1,
        )
        if 0 <= j < len(sent)
    }
    letters = await _dead_letters(run, len(run.poison))
    by_value = {letter.value: letter for letter in letters}
    reasons = [(kind, by_value[r.value].header(DLQ_REASON_HEADER)) for kind, r in records]
    ids = [r.header("ce_id") for _, r in records if r.header("ce_id") and r.header("ce_source")]
    indexed = await _indexed(run, [i.decode() for i in ids if i])
    return Poison(
        reasons=reasons,
        dead_letters=len(letters),
        indexed=indexed,
        with_id=len(ids),
        near=[latencies[j] for j in sorted(next_to_poison)],
        rest=[t for j, t in enumerate(latencies) if j not in next_to_poison],
        seconds=time.monotonic() - began,
    )


async def _start_latency(run: Run, published: Published) -> float:
    handle = run.client.get_workflow_handle(published.workflow_id)
    for _ in range(600):
        with contextlib.suppress(Exception):  # not started yet
            described = await handle.describe()
            return described.start_time.timestamp() - published.at
        await asyncio.sleep(0.2)
    raise AssertionError("a good event never started a workflow")


async def _dead_letters(run: Run, at_least: int) -> list[DeadLetter]:
    for _ in range(120):
        letters = await read_dead_letters(run.bootstrap, DLQ)
        if len(letters) >= at_least:
            return letters
        await asyncio.sleep(0.5)
    raise AssertionError(f"fewer than {at_least} dead letters")


async def _indexed(run: Run, event_ids: list[str]) -> int:
    """How many of these events the intake's dead-letter index knows (it lags the topic)."""
    found = 0
    for _ in range(60):
        with contextlib.closing(sqlite3.connect(run.var / "intake" / "intake.db")) as conn:
            known = {i for (i,) in conn.execute("SELECT event_id FROM intake_dead_letters")}
        found = len(set(event_ids) & known)
        if found == len(event_ids):
            break
        await asyncio.sleep(0.5)
    return found


# --- 2. processes killed, Temporal restarted ------------------------------------------------


@dataclass(frozen=True)
class Faults:
    injected: list[str]  # what was done when, e.g. "SIGKILL orchestrator at 12.3 s"
    events: int  # good events published in the whole run so far
    workflows: int  # distinct move workflow IDs
    runs_per_workflow: dict[int, int]  # runs per workflow ID -> how many IDs
    completed: int
    missing: int  # good events without a workflow
    rows: dict[str, int]  # rows added to each store table since the run began
    good: list[Published]  # the good events those rows are for
    seconds: float


KILLED = ("orchestrator", "council-tax", "workflow-worker")


async def faults(run: Run) -> Faults:
    await run.phase("poison", poison)
    began = time.monotonic()
    # Published in chunks over a window, so every kill falls while events arrive and run.
    window = max(30.0, EVENTS / 10)
    chunks = max(1, EVENTS // 20)
    injected: list[str] = []

    async def publish() -> None:
        for c in range(chunks):
            size = EVENTS // chunks + (1 if c < EVENTS % chunks else 0)
            await run.publish_moves(size, poison_every=POISON_EVERY)
            await asyncio.sleep(window / chunks)

    async def kill(service: str, at: float) -> None:
        await asyncio.sleep(at)
        back = await run.kill(service)
        injected.append(f"SIGKILL {service} at {at:.1f} s (back in {back:.1f} s)")

    async def restart_temporal(at: float) -> None:
        await asyncio.sleep(at)
        away = await run.restart_temporal()
        injected.append(f"Temporal server SIGKILLed at {at:.1f} s, up again in {away:.1f} s")

    chance = random.Random()  # the moments of the faults: a new draw each run
    await asyncio.gather(
        publish(),
        *(kill(s, chance.uniform(3, window)) for s in KILLED),
        restart_temporal(chance.uniform(window * 0.2, window * 0.8)),
    )
    await run.until_completed(len(run.good), timeout=max(600.0, len(run.good) * 1.5))
    runs = await run.moves_by_status()
    expected = {p.workflow_id for p in run.good}
    return Faults(
        injected=sorted(injected, key=lambda s: float(s.split(" at ")[1].split(" s")[0])),
        events=len(run.good),
        workflows=len(runs),
        runs_per_workflow=_histogram(len(r) for r in runs.values()),
        completed=sum(1 for r in runs.values() if r == [WorkflowExecutionStatus.COMPLETED]),
        missing=len(expected - set(runs)),
        rows=_changed(run.baseline, run.store_rows()),
        good=list(run.good),
        seconds=time.monotonic() - began,
    )


def _histogram(values: Any) -> dict[int, int]:
    counted: dict[int, int] = {}
    for value in values:
        counted[value] = counted.get(value, 0) + 1
    return counted


def _changed(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    """Rows added per table since `before`, tables with none left out."""
    return {t: n - before.get(t, 0) for t, n in after.items() if n != before.get(t, 0)}


# --- 3. replay from the beginning -----------------------------------------------------------


@dataclass(frozen=True)
class Replay:
    records: int  # records on the life-events topic, all read again
    new_workflows: int
    new_runs: int
    new_rows: dict[str, int]
    dead_letters_before: int
    dead_letters_after: int
    seconds: float


async def replay(run: Run) -> Replay:
    await run.phase("faults", faults)
    began = time.monotonic()
    rows = run.store_rows()
    runs = await run.moves_by_status()
    letters = len(await read_dead_letters(run.bootstrap, DLQ))
    ends = await _end_offsets(run)
    await _reset_group(run)
    await _until_group_at(run, ends)
    await asyncio.sleep(10)  # the starts of the last batch, and any action they would cause
    after = await run.moves_by_status()
    return Replay(
        records=sum(ends.values()),
        new_workflows=len(set(after) - set(runs)),
        new_runs=sum(len(r) for r in after.values()) - sum(len(r) for r in runs.values()),
        new_rows=_changed(rows, run.store_rows()),
        dead_letters_before=letters,
        dead_letters_after=len(await read_dead_letters(run.bootstrap, DLQ)),
        seconds=time.monotonic() - began,
    )


async def _end_offsets(run: Run) -> dict[TopicPartition, int]:
    partitions = await partitions_of(run.bootstrap, LIFE_EVENTS)
    assert partitions, f"{LIFE_EVENTS} has no partitions"
    consumer = AIOKafkaConsumer(bootstrap_servers=run.bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        return dict(await consumer.end_offsets(partitions))
    finally:
        await consumer.stop()


async def _reset_group(run: Run) -> None:
    """Commit offset 0 for every partition in the orchestrator's group. Offsets can be set
    only while the group has no other member: the orchestrator is stopped (SIGSTOP, so its
    supervisor does not start another) until its session has expired and this has joined."""
    orchestrator = run.pid_of("orchestrator")
    os.kill(orchestrator, signal.SIGSTOP)
    try:
        consumer = AIOKafkaConsumer(
            LIFE_EVENTS,
            bootstrap_servers=run.bootstrap,
            group_id=GROUP,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
        )
        await consumer.start()
        try:
            for _ in range(240):
                if consumer.assignment():
                    break
                await consumer.getmany(timeout_ms=500, max_records=1)
            assignment = consumer.assignment()
            assert assignment, "never joined the orchestrator's group"
            await consumer.commit({tp: 0 for tp in assignment})
        finally:
            await consumer.stop()
    finally:
        os.kill(orchestrator, signal.SIGCONT)


async def _until_group_at(run: Run, ends: dict[TopicPartition, int]) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=run.bootstrap)
    await admin.start()
    try:
        for _ in range(600):
            committed = await admin.list_consumer_group_offsets(GROUP)
            if all(committed.get(tp) and committed[tp].offset >= end for tp, end in ends.items()):
                return
            await asyncio.sleep(1)
        raise AssertionError("the orchestrator never read the topic again to its end")
    finally:
        await admin.close()


# --- 4. a store locked, then full ------------------------------------------------------------


@dataclass
class StoreFaults:
    injected: list[str] = field(default_factory=list)
    sent: list[Published] = field(default_factory=list)
    rows_while_locked: dict[str, int] = field(default_factory=dict)  # council tax rows added
    rows_while_full: dict[str, int] = field(default_factory=dict)
    retries_seen: dict[str, int] = field(default_factory=dict)  # fault -> activities retried
    retried_activities: dict[str, set[str]] = field(default_factory=dict)  # fault -> types
    rows_after: dict[str, int] = field(default_factory=dict)  # every store, since the phase began
    integrity: str = ""
    seconds: float = 0.0


async def stores(run: Run) -> StoreFaults:
    await run.phase("replay", replay)
    began = time.monotonic()
    found = StoreFaults()
    start = run.store_rows()
    db = run.var.joinpath(*COUNCIL_TAX_DB)

    # Locked: a writer of our own holds the database's write lock (BEGIN EXCLUSIVE). Running
    # as root, file permissions would not stop the service; this does, after its busy wait.
    holder = sqlite3.connect(db, isolation_level=None)
    try:
        holder.execute("BEGIN EXCLUSIVE")
        found.injected.append(f"council tax store write-locked for {FAULT_SECONDS:.0f} s")
        sent = await run.publish_moves(STORE_BATCH)
        found.sent += sent
        await asyncio.sleep(FAULT_SECONDS)
        found.rows_while_locked = _council_tax(_changed(start, run.store_rows()))
        found.retries_seen["locked"], found.retried_activities["locked"] = await _retried(run, sent)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    await run.until_completed(len(run.good), timeout=300)

    # Full: the worker may not grow any file (RLIMIT_FSIZE of 1 byte, soft): SQLite's writes
    # come back short, which it reports as a full disk. Python ignores SIGXFSZ, so the
    # process lives on; the soft limit goes back up to the hard one without privilege.
    middle = run.store_rows()
    worker = run.pid_of("council-tax")
    soft, hard = resource.prlimit(worker, resource.RLIMIT_FSIZE)
    resource.prlimit(worker, resource.RLIMIT_FSIZE, (1, hard))
    try:
        found.injected.append(
            f"council tax worker's files limited to 1 byte for {FAULT_SECONDS:.0f} s"
        )
        sent = await run.publish_moves(STORE_BATCH)
        found.sent += sent
        await asyncio.sleep(FAULT_SECONDS)
        found.rows_while_full = _council_tax(_changed(middle, run.store_rows()))
        found.retries_seen["full"], found.retried_activities["full"] = await _retried(run, sent)
    finally:
        resource.prlimit(worker, resource.RLIMIT_FSIZE, (soft, hard))
    await run.until_completed(len(run.good), timeout=300)
    found.rows_after = _changed(start, run.store_rows())
    with contextlib.closing(sqlite3.connect(db)) as conn:
        (found.integrity,) = conn.execute("PRAGMA integrity_check").fetchone()
    found.seconds = time.monotonic() - began
    return found


def _council_tax(rows: dict[str, int]) -> dict[str, int]:
    return {t: n for t, n in rows.items() if t.startswith("counciltax.")}


async def _retried(run: Run, sent: list[Published]) -> tuple[int, set[str]]:
    """Activities of these workflows pending after a failed attempt, and their types."""
    retried, types = 0, set()
    for published in sent:
        described = await run.client.get_workflow_handle(published.workflow_id).describe()
        for pending in described.raw_description.pending_activities:
            if pending.attempt > 1:
                retried += 1
                types.add(pending.activity_type.name)
    return retried, types


async def after_everything(run: Run) -> None:
    """Every phase, for a check that must see the whole run (the personal-data scan)."""
    await run.phase("stores", stores)
