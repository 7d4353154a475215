"""`lifeevents bench`: the generator against the whole system, in phases, and the report.

1. A warm-up, untimed: one event of each kind in the mix, so every process has run once.
2. The burst: `burst` events of the mix published at once; its completions per second are
   the system's capacity.
3. The steady phase: the mix at a rate (half the burst's capacity unless given) for
   `steady_seconds`.
Each timed phase is followed by its raw baselines on the same broker and server, at once or
at the same rate: plain aiokafka produce/consume of as many records of the same size, and
one no-op workflow per workflow the phase completed, each of the activity tree that
workflow's own history shows (deploy.bench.shape).

Before a phase, the households whose deaths it publishes move in (untimed), so that each
death finds the council tax account it acts on.

The soak (`soak_seconds`) replaces the burst and steady phases: the mix at `rate` for that
long, every process's memory sampled each minute, and whether it stayed flat.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from aiokafka import AIOKafkaConsumer

from contracts.topics import LIFE_EVENTS_DLQ
from deploy.bench import events, figures
from deploy.bench.embedded import REPO_ROOT, Embedded, embedded
from deploy.bench.figures import Row
from deploy.bench.generator import (
    BUILDERS,
    Counters,
    Kind,
    Mix,
    Outgoing,
    Plan,
    Publisher,
    Sent,
    make_plan,
)
from deploy.bench.processes import Sampler, Usage
from deploy.bench.rawkafka import produce_consume
from deploy.bench.shape import baseline, shape_of
from deploy.bench.watch import Tracker, first_told

__all__ = ["Options", "run"]

DOCS = REPO_ROOT / "docs" / "benchmarks.md"
SETTLE_SECONDS = 900.0
FLAT = 0.10  # a process whose memory grew less than this between the first and last third


@dataclass(frozen=True)
class Options:
    burst: int = 100
    steady_seconds: float = 120.0
    rate: float | None = None  # events/s of the steady phase (or the soak)
    mix: Mix = field(default_factory=Mix)
    soak_seconds: float | None = None
    seed: int = 14
    docs: Path | None = DOCS
    command: str = "lifeevents bench"


@dataclass
class Phase:
    name: str
    plan: Plan
    sent: Sent
    tracker: Tracker
    usage: dict[str, Usage]
    seconds: float
    dead_lettered: int


def say(line: str) -> None:
    print(line, flush=True)


async def run(options: Options) -> str:
    """Run the benchmark; the report (Markdown), also printed as it comes."""
    load = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="lifeevents-bench-") as folder:
        say(f"starting lifeevents run --no-demo in {folder} ...")
        async with embedded(Path(folder)) as system, DeadLetterCount(system.bootstrap) as dlq:
            bench = Bench(system, options, dlq)
            async with Publisher(system.bootstrap, system.intake_url, system.intake_keys) as pub:
                bench.publisher = pub
                await bench.warm_up()
                if options.soak_seconds is not None:
                    body = await bench.soak(options.soak_seconds)
                else:
                    body = await bench.burst_and_steady()
    report = "\n\n".join(
        [
            f"`{options.command}`, mix: {options.mix.describe()}.",
            body,
            figures.environment(REPO_ROOT / "var" / "kafka" / "lib", load),
        ]
    )
    say("\n" + report)
    if options.docs is not None and options.soak_seconds is None:
        figures.write_docs(options.docs, report)
        say(f"\nwritten to {options.docs}")
    return report


class DeadLetterCount:
    """Counts the records on the dead-letter topic, in the background."""

    def __init__(self, bootstrap: str) -> None:
        self.count = 0
        self._consumer = AIOKafkaConsumer(
            LIFE_EVENTS_DLQ,
            bootstrap_servers=bootstrap,
            auto_offset_reset="earliest",
            # The services may make the topic after we subscribe: look again soon, not in 5 min.
            metadata_max_age_ms=1000,
        )
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> DeadLetterCount:
        await self._consumer.start()
        self._task = asyncio.create_task(self._count())
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._consumer.stop()

    async def _count(self) -> None:
        async for _ in self._consumer:
            self.count += 1


class Bench:
    def __init__(self, system: Embedded, options: Options, dlq: DeadLetterCount) -> None:
        self.system = system
        self.options = options
        self.dlq = dlq
        self.counters = Counters()
        self.rng = random.Random(options.seed)  # noqa: S311 - a mix to repeat, not a secret
        self.publisher: Publisher  # set once its connections are open

    def pids(self) -> dict[str, int]:
        return {**self.system.processes(), "bench (generator)": os.getpid()}

    # --- phases ---------------------------------------------------------------------------

    async def warm_up(self) -> None:
        mix = self.options.mix
        shares: dict[Kind, float] = {"move": mix.moves, "death": mix.deaths, "birth": mix.births}
        warm = [
            Outgoing(kind, "original", "kafka", BUILDERS[kind](i), i)
            for kind, share in shares.items()
            if share > 0
            for i in [self.counters.take(kind)]
        ]
        phase = await self.phase("warm-up", Plan(warm), rate=None)
        for outgoing in warm:
            workflow_id = outgoing.workflow_id
            assert workflow_id is not None
            state = "done" if workflow_id in phase.tracker.closed else "NOT DONE"
            say(f"warm-up: one {outgoing.kind}: {state} ({phase.seconds:.0f} s for all)")

    async def burst_and_steady(self) -> str:
        options = self.options
        rows: list[Row] = []
        burst = await self.phase(
            "burst", make_plan(options.mix, options.burst, self.counters, self.rng), None
        )
        rows += await self.rows(burst, None)
        capacity = _rate(rows[_COMPLETED])  # workflows/s
        per_workflow = burst.sent.published / max(1, len(burst.plan.tracked()))
        rate = options.rate or max(0.1, capacity * per_workflow / 2)
        count = max(1, round(rate * options.steady_seconds))
        say(f"steady: {rate:.2f} events/s for {options.steady_seconds:.0f} s ({count} events)")
        steady = await self.phase(
            "steady", make_plan(options.mix, count, self.counters, self.rng), rate
        )
        rows += await self.rows(steady, rate)
        return "\n\n".join(
            [
                figures.table(rows),
                figures.processes_table({p.name: (p.seconds, p.usage) for p in (burst, steady)}),
            ]
        )

    async def soak(self, seconds: float) -> str:
        rate = self.options.rate
        if rate is None:
            raise SystemExit("a soak needs --rate (events/s; twice the expected peak)")
        count = max(1, round(rate * seconds))
        plan = make_plan(self.options.mix, count, self.counters, self.rng)
        phase = await self.phase("soak", plan, rate, sample_every=60.0)
        rows = await self.rows(phase, rate, baselines=False)
        return "\n\n".join([figures.table(rows), flatness(phase.usage)])

    async def phase(
        self, name: str, plan: Plan, rate: float | None, sample_every: float = 1.0
    ) -> Phase:
        await self.households(plan.households)
        tracker = Tracker(self.system.client)
        tracker.follow({w: o.kind for w, o in plan.tracked().items()})
        sent = Sent()
        sampler = Sampler(self.pids, sample_every)
        dead_before = self.dlq.count
        begun = time.monotonic()
        background = [
            asyncio.create_task(tracker.run()),
            asyncio.create_task(sampler.run()),
            asyncio.create_task(self.progress(name, len(plan.outgoing), sent, tracker)),
        ]
        try:
            await self.publisher.publish(plan.outgoing, rate, sent)
            await tracker.until_settled(SETTLE_SECONDS)
            await tracker.poll()
            # An invalid event reaches the dead-letter topic a moment after it was sent.
            invalid = sum(1 for o in plan.outgoing if o.role == "invalid" and o.route == "kafka")
            for _ in range(60):
                if self.dlq.count - dead_before >= invalid:
                    break
                await asyncio.sleep(0.5)
        finally:
            for task in background:
                task.cancel()
            await asyncio.gather(*background, return_exceptions=True)
        seconds = time.monotonic() - begun
        self.report_progress(name, len(plan.outgoing), sent, tracker)
        return Phase(
            name, plan, sent, tracker, sampler.usage, seconds, self.dlq.count - dead_before
        )

    async def households(self, indices: list[int]) -> None:
        """The deaths' households move in first (untimed)."""
        if not indices:
            return
        moves = [Outgoing("move", "original", "kafka", events.move_in(i), i) for i in indices]
        tracker = Tracker(self.system.client)
        tracker.follow({w: "move" for w in Plan(moves).tracked()})
        watching = asyncio.create_task(tracker.run())
        try:
            await self.publisher.publish(moves, None, Sent())
            await tracker.until_settled(SETTLE_SECONDS)
        finally:
            watching.cancel()
        say(f"{len(tracker.closed)} of {len(indices)} households moved in first (untimed)")

    async def progress(self, name: str, planned: int, sent: Sent, tracker: Tracker) -> None:
        while True:
            await asyncio.sleep(5)
            self.report_progress(name, planned, sent, tracker)

    def report_progress(self, name: str, planned: int, sent: Sent, tracker: Tracker) -> None:
        errors = sum(n for k, n in sent.counts.items() if k.startswith("error:"))
        say(
            f"{name}: published {sent.published}/{planned}, completed {len(tracker.closed)}"
            f"/{len(tracker.kinds)}, failed {len(tracker.failed)}, answered as the resident "
            f"{len(tracker.answered)}, dead-lettered {self.dlq.count}, send errors {errors}"
        )

    # --- figures --------------------------------------------------------------------------

    async def rows(self, phase: Phase, rate: float | None, baselines: bool = True) -> list[Row]:
        name, sent, tracker = phase.name, phase.sent, phase.tracker
        tracked = phase.plan.tracked()
        originals = {w: sent.at[w] for w, o in tracked.items() if o.role == "original"}
        first = sent.first or time.time()
        published = Row(
            name,
            "events ingested (Kafka acks, intake 202s)",
            sent.published,
            _per_second(sent.published, first, sent.last),
            [],
        )
        completed = Row(
            name,
            "workflows, publish → timeline complete",
            len(tracker.closed),
            _per_second(len(tracker.closed), first, max(tracker.closed.values(), default=None)),
            figures.latencies(originals, tracker.closed),
        )
        told = first_told(self.system.var)
        rows = [published, completed]
        for kind, about in _KINDS.items():
            of_kind = {w: t for w, t in originals.items() if tracked[w].kind == kind}
            if of_kind:
                rows.append(
                    Row(name, about, len(of_kind), None, figures.latencies(of_kind, tracker.closed))
                )
        rows.append(
            Row(
                name,
                "publish → first resident notification",
                len(originals),
                None,
                figures.latencies(originals, told),
            )
        )
        refused = sum(n for k, n in sent.counts.items() if k.startswith("intake:4"))
        rows.append(
            Row(
                name,
                f"invalid: dead-lettered (+ {refused} refused by the intake)",
                phase.dead_lettered,
                None,
                [],
            )
        )
        unfinished = len(tracked) - len(tracker.closed)
        rows.append(
            Row(
                name,
                f"workflows failed or unfinished ({len(tracker.failed)} failed)",
                unfinished,
                None,
                [],
            )
        )
        if baselines:
            rows += await self.baselines(phase, rate, published, completed)
        return rows

    async def baselines(
        self, phase: Phase, rate: float | None, published: Row, completed: Row
    ) -> list[Row]:
        size = statistics.mean(len(o.record().value) for o in phase.plan.outgoing)
        say(f"{phase.name}: raw aiokafka baseline ({published.count} records of ~{size:.0f} B)")
        sent_at, received = await produce_consume(
            self.system.bootstrap, published.count, round(size), rate
        )
        raw_kafka = Row(
            phase.name,
            "raw: plain aiokafka produce → consume",
            len(sent_at),
            _per_second(len(sent_at), min(sent_at), max(received)),
            [r - s for s, r in zip(sent_at, received, strict=True)],
        )
        published.baseline = raw_kafka
        shapes = await _bounded(
            [
                partial(shape_of, self.system.client, w, phase.tracker.runs[w])
                for w in phase.tracker.closed
            ]
        )
        workflow_rate = None
        if rate is not None:
            workflow_rate = rate * len(phase.plan.tracked()) / max(1, len(phase.plan.outgoing))
        activities = sum(len(s) for s in shapes)
        say(f"{phase.name}: no-op baseline ({len(shapes)} workflows, {activities} activities)")
        starts, closes = await baseline(self.system.client, shapes, workflow_rate)
        raw_temporal = Row(
            phase.name,
            f"raw: no-op workflows of the same activity trees ({activities} activities)",
            len(starts),
            _per_second(len(starts), min(starts, default=0.0), max(closes, default=None)),
            [c - s for s, c in zip(starts, closes, strict=True)],
        )
        completed.baseline = raw_temporal
        return [raw_kafka, raw_temporal]


_COMPLETED = 1  # the row of the workflows completed, in `rows`
_KINDS = {
    "move": "moves, publish → timeline complete",
    "death": "deaths, publish → timeline complete (the benchmark answers as the survivor)",
    "birth": "births, publish → offers done, waiting for later dates (the family answers)",
}


def _rate(row: Row) -> float:
    if not row.rate:
        raise SystemExit("nothing completed in the burst: see the progress lines above")
    return row.rate


def _per_second(count: int, first: float, last: float | None) -> float | None:
    if last is None or last <= first or count == 0:
        return None
    return count / (last - first)


async def _bounded(
    calls: list[Callable[[], Awaitable[list[int]]]], at_once: int = 8
) -> list[list[int]]:
    gate = asyncio.Semaphore(at_once)

    async def one(call: Callable[[], Awaitable[list[int]]]) -> list[int]:
        async with gate:
            return await call()

    return await asyncio.gather(*(one(c) for c in calls))


def flatness(usage: dict[str, Usage]) -> str:
    """Each process's memory in the first and the last third of the soak's samples."""
    lines = [
        "| process | first third MiB | last third MiB | change | flat |",
        "| --- | --- | --- | --- | --- |",
    ]
    for name, u in sorted(usage.items()):
        if not u.rss:
            continue
        third = max(1, len(u.rss) // 3)
        first, last = statistics.mean(u.rss[:third]), statistics.mean(u.rss[-third:])
        change = (last - first) / first if first else 0.0
        lines.append(
            f"| {name} | {first:.0f} | {last:.0f} | {change:+.0%} | "
            f"{'yes' if change < FLAT else 'NO'} |"
        )
    return "\n".join(lines)
