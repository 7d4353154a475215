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
import os
import random
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

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
from deploy.bench.processes import Sampler
from deploy.bench.results import Phase, baseline_rows, flatness, phase_rows
from deploy.bench.watch import DeadLetterCount, Tracker, explain, first_told

__all__ = ["Options", "run"]

DOCS = REPO_ROOT / "docs" / "benchmarks.md"
SETTLE_SECONDS = 900.0


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
        capacity = burst.capacity  # workflows/s
        if capacity is None:
            raise SystemExit("nothing completed in the burst: see the progress lines above")
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
                burst.profile,
                steady.profile,
            ]
        )

    async def soak(self, seconds: float) -> str:
        rate = self.options.rate
        if rate is None:
            raise SystemExit("a soak needs --rate (events/s; twice the expected peak)")
        count = max(1, round(rate * seconds))
        plan = make_plan(self.options.mix, count, self.counters, self.rng)
        phase = await self.phase("soak", plan, rate, soak=True)
        rows = phase_rows(phase, first_told(self.system.var))
        return "\n\n".join([figures.table(rows), flatness(phase.usage)])

    async def phase(self, name: str, plan: Plan, rate: float | None, soak: bool = False) -> Phase:
        await self.households(plan.households)
        tracker = Tracker(self.system.client)
        tracker.follow({w: o.kind for w, o in plan.tracked().items()})
        sent = Sent()
        # A soak's memory each minute, said as it goes; a phase's every second, for its peak.
        sampler = Sampler(self.pids, 60.0, _say_memory(name)) if soak else Sampler(self.pids)
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
        await self.explain_unfinished(name, tracker)
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

    async def explain_unfinished(self, name: str, tracker: Tracker, at_most: int = 5) -> None:
        unfinished = [w for w in tracker.kinds if w not in tracker.closed]
        if unfinished:
            say(f"{name}: {len(unfinished)} did not complete; the first {at_most}:")
        for workflow_id in unfinished[:at_most]:
            status = tracker.failed.get(workflow_id, "RUNNING")
            say(await explain(self.system.client, workflow_id, status))

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

    async def rows(self, phase: Phase, rate: float | None) -> list[Row]:
        rows = phase_rows(phase, first_told(self.system.var))
        client, bootstrap = self.system.client, self.system.bootstrap
        return rows + await baseline_rows(phase, rate, client, bootstrap, rows)


def _say_memory(phase: str) -> Callable[[dict[str, float]], None]:
    def say_memory(rss: dict[str, float]) -> None:
        said = ", ".join(f"{name} {mib:.0f}" for name, mib in sorted(rss.items()))
        say(f"{phase}: RSS MiB: {said}")

    return say_memory
