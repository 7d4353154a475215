"""After the suite's faults, on the same run: the residents' personal data is only where it
may be (DESIGN.md, rules that keep personal data safe).

Looked for: the names, dates of birth, addresses, National Insurance numbers and e-mail
addresses of every synthetic resident the suite published. Looked in: every log file of the
run, the Temporal database, every service's store (the files as they are on disk, WAL too,
so a row deleted or a page freed still counts), every Kafka topic's record keys and headers
and the values of every topic but the life-events topic and its dead-letter topic (which
carry the events byte for byte), and the dead-letter index.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterable
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer

from services.common.topics import partitions_of
from tests.reliability.chaos import Run, suite_run
from tests.reliability.events import Person
from tests.reliability.phases import after_everything

__all__ = ["suite_run"]

pytestmark = [pytest.mark.stack, pytest.mark.reliability]

KINDS = ("name", "date_of_birth", "address", "ni_number", "email")
EVENT_TOPICS = {"lifeevents.v1", "lifeevents.v1.dlq"}

# What each place may hold. Every place not named here may hold none of it.
ALLOWED: dict[str, set[str]] = {
    # The resident index: who is who, and how to reach them.
    "store residents": {"name", "date_of_birth", "address", "ni_number", "email"},
    # Council services hold what their purpose needs: who is liable or registered, where.
    "store counciltax": {"name", "address"},
    "store electoral": {"name", "address"},
    "store benefits": {"name", "address"},
    # The resident is told what was done, on their own channel.
    "store notifications": {"name", "address", "email"},
    "store mail-catcher": {"name", "address", "email"},
}


def patterns(people: Iterable[Person]) -> dict[str, re.Pattern[bytes]]:
    people = list(people)
    return {
        "name": re.compile(rb"faultsim[a-z]{4}", re.I),
        "date_of_birth": re.compile(
            b"|".join(re.escape(d.encode()) for d in {p.date_of_birth for p in people})
        ),
        "address": re.compile(rb"\d+ (?:chaos lane|recovery road)", re.I),
        # Exactly as issued, upper case: hex digests hold `ce123456a` by chance.
        "ni_number": re.compile(
            b"|".join(re.escape(n.encode()) for n in {p.ni_number for p in people})
        ),
        "email": re.compile(rb"faultsim\.\d{5}@example\.org", re.I),
    }


def kinds_in(data: bytes, found: dict[str, re.Pattern[bytes]]) -> set[str]:
    return {kind for kind, pattern in found.items() if pattern.search(data)}


def files(var: Path, output: Path) -> dict[str, list[Path]]:
    """The run's files to read, by place."""
    places: dict[str, list[Path]] = {"logs": [output, *sorted(var.glob("log/*"))]}
    places["temporal database"] = sorted(var.glob("temporal/temporal.db*"))
    for store in sorted(var.glob("*/*.db")):
        if store.parent.name not in {"temporal", "kafka"}:
            name = f"store {store.parent.name}"
            places[name] = sorted(store.parent.glob(store.name + "*"))
    return places


async def kafka(bootstrap: str) -> dict[str, list[bytes]]:
    """Per topic: every record's key and headers, and its value outside the event topics."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        topics = sorted(t for t in await consumer.topics() if not t.startswith("__"))
        partitions = [tp for t in topics for tp in await partitions_of(bootstrap, t)]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        seen: dict[str, list[bytes]] = {t: [] for t in topics}
        while [tp for tp in partitions if await consumer.position(tp) < ends[tp]]:
            for tp, records in (await consumer.getmany(timeout_ms=1000)).items():
                for r in records:
                    parts = [r.key or b"", *(k.encode() + b"=" + v for k, v in r.headers)]
                    if tp.topic not in EVENT_TOPICS:
                        parts.append(r.value or b"")
                    seen[tp.topic].append(b"\n".join(parts))
        return seen
    finally:
        await consumer.stop()


def dead_letter_index(var: Path) -> bytes:
    with sqlite3.connect(f"file:{var / 'intake' / 'intake.db'}?mode=ro", uri=True) as conn:
        rows = conn.execute("SELECT * FROM intake_dead_letters").fetchall()
    return repr(rows).encode()


async def test_personal_data_is_only_where_it_may_be(suite_run: Run) -> None:
    await after_everything(suite_run)
    people = suite_run.people
    looked_for = patterns(people)
    found: dict[str, set[str]] = {}
    sizes: dict[str, int] = {}
    for place, paths in files(suite_run.var, suite_run.output).items():
        data = b"".join(p.read_bytes() for p in paths if p.is_file())
        sizes[place] = len(data)
        found[place] = kinds_in(data, looked_for)
    records = await kafka(suite_run.bootstrap)
    for topic, parts in records.items():
        found[f"kafka {topic}"] = kinds_in(b"\n".join(parts), looked_for)
        sizes[f"kafka {topic}"] = len(parts)
    found["dead-letter index"] = kinds_in(dead_letter_index(suite_run.var), looked_for)

    # The scan must be able to find what it looks for: the resident index holds it all.
    assert found["store residents"] == set(KINDS)
    wrong = {
        place: sorted(kinds - ALLOWED.get(place, set()))
        for place, kinds in found.items()
        if kinds - ALLOWED.get(place, set())
    }
    print(
        f"\nlooked for: {len(people)} residents' {', '.join(KINDS)}; in {len(found)} places "
        f"({sum(n for p, n in sizes.items() if not p.startswith('kafka'))} bytes of files, "
        f"{sum(len(v) for v in records.values())} Kafka records); "
        f"found: { {p: sorted(k) for p, k in found.items() if k} }; not allowed: {wrong}"
    )
    assert wrong == {}
