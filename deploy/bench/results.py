"""A phase's figures as rows of the table: what the system did, and its raw baselines run
on the same broker and server (at once, or at the phase's rate)."""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from typing import TypeVar

from temporalio.client import Client

from deploy.bench.figures import Row, latencies
from deploy.bench.generator import Plan, Sent
from deploy.bench.processes import Usage
from deploy.bench.profile import activity_times, profile_table
from deploy.bench.rawkafka import produce_consume
from deploy.bench.shape import baseline, history_of, parents_from_history
from deploy.bench.watch import Tracker

__all__ = ["Phase", "baseline_rows", "flatness", "phase_rows"]

_T = TypeVar("_T")

FLAT = 0.10  # a process whose memory grew less than this between the first and last third
_KINDS = {
    "move": "moves, publish → timeline complete",
    "death": "deaths, publish → timeline complete (the benchmark answers as the survivor)",
    "birth": "births, publish → offers done, waiting for later dates (the family answers)",
}


@dataclass
class Phase:
    name: str
    plan: Plan
    sent: Sent
    tracker: Tracker
    usage: dict[str, Usage]
    seconds: float
    dead_lettered: int
    profile: str = ""  # where its workflows' time went, by activity (after its baselines)

    @property
    def first(self) -> float:
        return self.sent.first or time.time()

    @property
    def capacity(self) -> float | None:
        """Workflows completed per second, from the first publish to the last close."""
        closed = self.tracker.closed
        return per_second(len(closed), self.first, max(closed.values(), default=None))

    @property
    def originals(self) -> dict[str, float]:
        """When each new life event (not a duplicate) was published, by workflow ID."""
        tracked = self.plan.tracked()
        return {w: self.sent.at[w] for w, o in tracked.items() if o.role == "original"}


def per_second(count: int, first: float, last: float | None) -> float | None:
    if last is None or last <= first or count == 0:
        return None
    return count / (last - first)


def phase_rows(phase: Phase, told: dict[str, float]) -> list[Row]:
    """Ingested, completed (all, then per kind), told, dead-lettered, unfinished."""
    name, sent, tracker = phase.name, phase.sent, phase.tracker
    tracked, originals = phase.plan.tracked(), phase.originals
    rows = [
        Row(
            name,
            "events ingested (Kafka acks, intake 202s)",
            sent.published,
            per_second(sent.published, phase.first, sent.last),
            [],
        ),
        Row(
            name,
            "workflows, publish → timeline complete",
            len(tracker.closed),
            phase.capacity,
            latencies(originals, tracker.closed),
        ),
    ]
    for kind, about in _KINDS.items():
        of_kind = {w: t for w, t in originals.items() if tracked[w].kind == kind}
        if of_kind:
            rows.append(Row(name, about, len(of_kind), None, latencies(of_kind, tracker.closed)))
    told_row = "publish → first resident notification"
    rows.append(Row(name, told_row, len(originals), None, latencies(originals, told)))
    refused = sum(n for k, n in sent.counts.items() if k.startswith("intake:4"))
    invalid = f"invalid: dead-lettered (+ {refused} refused by the intake)"
    rows.append(Row(name, invalid, phase.dead_lettered, None, []))
    unfinished = f"workflows failed or unfinished ({len(tracker.failed)} failed)"
    rows.append(Row(name, unfinished, len(tracked) - len(tracker.closed), None, []))
    return rows


async def baseline_rows(
    phase: Phase, rate: float | None, client: Client, bootstrap: str, rows: list[Row]
) -> list[Row]:
    """Plain aiokafka for as many records of the mix's mean size, and one no-op workflow
    per workflow completed, of its activity tree; each set beside its row in `rows`."""
    ingested, completed = rows[0], rows[1]
    size = statistics.mean(len(o.record().value) for o in phase.plan.outgoing)
    print(f"{phase.name}: raw aiokafka ({ingested.count} records of ~{size:.0f} B)", flush=True)
    sent_at, received = await produce_consume(bootstrap, ingested.count, round(size), rate)
    ingested.baseline = Row(
        phase.name,
        "raw: plain aiokafka produce → consume",
        len(sent_at),
        per_second(len(sent_at), min(sent_at), max(received)),
        [r - s for s, r in zip(sent_at, received, strict=True)],
    )
    runs = phase.tracker.runs
    histories = await _bounded(
        [partial(history_of, client, w, runs[w]) for w in phase.tracker.closed]
    )
    phase.profile = profile_table(phase.name, (t for h in histories for t in activity_times(h)))
    shapes = [parents_from_history(h) for h in histories]
    workflow_rate = None
    if rate is not None:
        workflow_rate = rate * len(phase.plan.tracked()) / max(1, len(phase.plan.outgoing))
    activities = sum(len(s) for s in shapes)
    print(f"{phase.name}: no-op workflows ({len(shapes)}, {activities} activities)", flush=True)
    starts, closes = await baseline(client, shapes, workflow_rate)
    completed.baseline = Row(
        phase.name,
        f"raw: no-op workflows of the same activity trees ({activities} activities)",
        len(starts),
        per_second(len(starts), min(starts, default=0.0), max(closes, default=None)),
        [c - s for s, c in zip(starts, closes, strict=True)],
    )
    return [ingested.baseline, completed.baseline]


async def _bounded(calls: list[Callable[[], Awaitable[_T]]], at_once: int = 8) -> list[_T]:
    """Every call, no more than `at_once` at a time (history fetches, after the phase)."""
    gate = asyncio.Semaphore(at_once)

    async def one(call: Callable[[], Awaitable[_T]]) -> _T:
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
        flat = "yes" if change < FLAT else "NO"
        lines.append(f"| {name} | {first:.0f} | {last:.0f} | {change:+.0%} | {flat} |")
    return "\n".join(lines)
