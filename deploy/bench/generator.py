"""The load generator: a realistic mix of synthetic life events, published at a chosen rate
on Kafka (binary mode, as a back-office system's producer) and through the intake API
(structured mode, with a source system's key).

A plan is a list of `Outgoing` events, made before publishing so that the deaths' households
can move in first (untimed). Its mix: each kind's share of the new life events; a share of
duplicates, half the same event re-sent by its source (same id: the workflow ID dedupes it),
half the same fact reported by another source with a new id (a move by housing, a death by
the hospital: the pipeline's `recognise` merges it; a birth has no second reporter here, so
it is re-sent instead); a share of invalid events (moves whose date is not a date: on Kafka
they reach the dead-letter topic, through the intake they are refused with a 4xx).
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx
from aiokafka import AIOKafkaProducer

from contracts import CloudEvent, KafkaRecord, to_binary, to_structured
from contracts.temporal import workflow_id_for
from contracts.topics import LIFE_EVENTS
from deploy.bench import events

__all__ = [
    "BUILDERS",
    "Counters",
    "Kind",
    "Mix",
    "Outgoing",
    "Plan",
    "Publisher",
    "Sent",
    "make_plan",
]

Kind = Literal["move", "death", "birth"]
Role = Literal["original", "resent", "other_source", "invalid"]
Route = Literal["kafka", "intake"]
BUILDERS: dict[Kind, Callable[[int], CloudEvent[Any]]] = {
    "move": events.move,
    "death": events.death,
    "birth": events.birth,
}


@dataclass(frozen=True)
class Mix:
    """Shares of what is published. `moves`, `deaths`, `births`: of the new life events;
    `duplicates`, `invalid`, `intake`: of everything published."""

    moves: float = 0.6
    deaths: float = 0.2
    births: float = 0.2
    duplicates: float = 0.1
    invalid: float = 0.05
    intake: float = 0.25

    def __post_init__(self) -> None:
        shares = (self.moves, self.deaths, self.births, self.duplicates, self.invalid, self.intake)
        if any(not 0 <= s <= 1 for s in shares) or self.moves + self.deaths + self.births <= 0:
            raise ValueError("shares are between 0 and 1, and some kind of event is needed")
        if self.duplicates + self.invalid >= 1:
            raise ValueError("duplicates and invalid events leave no room for new events")

    def describe(self) -> str:
        kinds = self.moves + self.deaths + self.births
        return (
            f"moves {self.moves / kinds:.0%}, deaths {self.deaths / kinds:.0%}, "
            f"births {self.births / kinds:.0%}; duplicates {self.duplicates:.0%} "
            f"(half re-sent, half from another source), invalid {self.invalid:.0%}, "
            f"through the intake API {self.intake:.0%}"
        )


@dataclass(frozen=True)
class Outgoing:
    kind: Kind
    role: Role
    route: Route
    event: CloudEvent[Any] | None  # None for an invalid event
    index: int  # the synthetic resident's (household's, child's) number

    @property
    def workflow_id(self) -> str | None:
        """The workflow it starts; None when it starts none (invalid, or re-sent)."""
        if self.event is None or self.role == "resent":
            return None
        return workflow_id_for(self.event.source, self.event.id)

    def record(self) -> KafkaRecord:
        return events.invalid_record(self.index) if self.event is None else to_binary(self.event)

    def document(self) -> bytes:
        if self.event is None:
            return json.dumps(events.invalid_document(self.index)).encode()
        return to_structured(self.event)

    @property
    def source(self) -> str:
        return self.event.source if self.event is not None else events.SOURCES["move"]


@dataclass
class Plan:
    outgoing: list[Outgoing]

    @property
    def households(self) -> list[int]:
        """The deaths' households, which move in before the plan is published."""
        return [o.index for o in self.outgoing if o.kind == "death" and o.role == "original"]

    def tracked(self) -> dict[str, Outgoing]:
        """Every workflow the plan starts, by ID."""
        return {o.workflow_id: o for o in self.outgoing if o.workflow_id is not None}


@dataclass
class Counters:
    """Where each kind's next synthetic resident starts, so no two events share one."""

    next: Counter[str] = field(default_factory=Counter)

    def take(self, kind: str) -> int:
        self.next[kind] += 1
        return self.next[kind] - 1


def make_plan(mix: Mix, count: int, counters: Counters, rng: random.Random) -> Plan:
    kinds: list[Kind] = ["move", "death", "birth"]
    weights = [mix.moves, mix.deaths, mix.births]
    outgoing: list[Outgoing] = []
    originals: list[Outgoing] = []
    for _ in range(count):
        route: Route = "intake" if rng.random() < mix.intake else "kafka"
        draw = rng.random()
        if draw < mix.invalid:
            outgoing.append(Outgoing("move", "invalid", route, None, counters.take("invalid")))
        elif draw < mix.invalid + mix.duplicates and originals:
            outgoing.append(_duplicate(rng.choice(originals[-20:]), rng))
        else:
            kind = rng.choices(kinds, weights)[0]
            index = counters.take(kind)
            original = Outgoing(kind, "original", route, BUILDERS[kind](index), index)
            outgoing.append(original)
            originals.append(original)
    return Plan(outgoing)


def _duplicate(original: Outgoing, rng: random.Random) -> Outgoing:
    assert original.event is not None
    if original.kind != "birth" and rng.random() < 0.5:
        # Another system's report comes in on its own channel: Kafka, as most do.
        other = events.from_other_source(original.event)
        return Outgoing(original.kind, "other_source", "kafka", other, original.index)
    return Outgoing(original.kind, "resent", original.route, original.event, original.index)


@dataclass
class Sent:
    """What was published: when each tracked workflow's event went out, and counts."""

    at: dict[str, float] = field(default_factory=dict)  # workflow ID -> epoch seconds
    counts: Counter[str] = field(default_factory=Counter)  # role, route, refused, errors
    first: float | None = None
    last: float | None = None

    @property
    def published(self) -> int:
        return self.counts["published"]


class Publisher:
    """A Kafka producer and an intake API client, with a key per source system."""

    def __init__(self, bootstrap: str, intake_url: str, keys: dict[str, str]) -> None:
        self.producer = AIOKafkaProducer(
            bootstrap_servers=bootstrap, acks="all", enable_idempotence=True, linger_ms=5
        )
        self.http = httpx.AsyncClient(base_url=intake_url, timeout=60)
        self.keys = keys
        # The intake answers after Kafka's ack; a few requests at a time keep its order.
        self._posting = asyncio.Semaphore(16)

    async def __aenter__(self) -> Publisher:
        await self.producer.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.producer.stop()
        await self.http.aclose()

    async def publish(self, plan: Iterable[Outgoing], rate: float | None, sent: Sent) -> None:
        """Each event at its time (`rate` per second), or all at once (`rate` None)."""
        begun = time.monotonic()
        pending: list[asyncio.Task[None]] = []
        for number, outgoing in enumerate(plan):
            if rate:
                await asyncio.sleep(max(0.0, begun + number / rate - time.monotonic()))
            pending.append(asyncio.create_task(self._send(outgoing, sent)))
        await asyncio.gather(*pending)

    async def _send(self, outgoing: Outgoing, sent: Sent) -> None:
        now = time.time()
        sent.first = sent.first or now
        if outgoing.workflow_id is not None:
            sent.at.setdefault(outgoing.workflow_id, now)
        try:
            if outgoing.route == "kafka":
                await self._to_kafka(outgoing.record())
            else:
                await self._to_intake(outgoing, sent)
        except Exception as error:  # a figure, not a crash: the run goes on and says so
            sent.counts[f"error:{type(error).__name__}"] += 1
            return
        sent.counts["published"] += 1
        sent.counts[outgoing.role] += 1
        sent.counts[outgoing.route] += 1
        sent.last = time.time()

    async def _to_kafka(self, record: KafkaRecord) -> None:
        delivered = await self.producer.send(
            LIFE_EVENTS, value=record.value, key=record.key, headers=list(record.headers)
        )
        await delivered

    async def _to_intake(self, outgoing: Outgoing, sent: Sent) -> None:
        async with self._posting:
            answer = await self.http.post(
                "/v1/events",
                content=outgoing.document(),
                headers={
                    "Content-Type": "application/cloudevents+json",
                    "Authorization": f"Bearer {self.keys[outgoing.source]}",
                },
            )
        if answer.status_code != 202:
            sent.counts[f"intake:{answer.status_code}"] += 1
            if outgoing.role != "invalid":
                raise RuntimeError(f"intake answered {answer.status_code}")
