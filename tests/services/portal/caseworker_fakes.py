"""In-memory fakes of what the caseworker console's pages need (the queue, the ledger, whom
an event is about), two cases (a doubtful match, a contradiction escalated on a corrected
run), and the console served in the portal's app with two caseworkers, Kim and Lee.

A plain module: the pages' tests and the browser's share it. Synthetic people only.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from argon2 import PasswordHasher
from sqlalchemy.pool import NullPool

from contracts.timeline import Timeline
from services.common.database import make_engine
from services.portal.caseworker_ledger import LedgerUnavailable
from services.portal.caseworker_pages import caseworker_routes
from services.portal.caseworkers import Caseworker, Caseworkers
from services.portal.ports import Answered, Candidate, Case, QueueItem
from tests.services.portal.portal_fakes import Portal, serve

PASSWORD = "a long synthetic passphrase"
QUICK = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
MOVE = "lifeevent-" + "c" * 32
DEATH = "lifeevent-" + "d" * 32 + "/corrected-1"  # a corrected run: a slash in its ID
CONTRADICTION = "contradiction:lifeevent-" + "e" * 32 + "/corrected-2"
MOVER = "res_Mover0000000000000001"
FIRST, SECOND = "res_Candidate0000000001", "res_Candidate0000000002"
DECEASED = "res_Deceased000000000001"
SINCE = datetime(2026, 2, 20, 10, 30, tzinfo=UTC)
UI = "http://temporal-ui.example"


def timeline(stage: str, tasks: list[str]) -> Timeline:
    return Timeline.model_validate(
        {
            "event_id": "evt-1",
            "stage": stage,
            "needs_person": True,
            "entries": [
                {
                    "step": "council-tax",
                    "service": "council-tax",
                    "status": "waiting",
                }
            ],
            "caseworker_tasks": tasks,
        }
    )


def doubtful_move() -> Case:
    return Case(
        item=QueueItem(
            workflow_id=MOVE,
            event_type="lifeevents.address.changed.v1",
            stage="matching",
            tasks=("match:0",),
            started_at=SINCE,
            temporal_ui_url=f"{UI}/namespaces/default/workflows/{MOVE}/run-1/history",
        ),
        timeline=timeline("matching", ["match:0"]),
        person={"given_names": "Ada", "family_name": "Testworth", "date_of_birth": "1980-01-02"},
        candidates=(
            Candidate(
                FIRST,
                {"given_names": "Ada", "family_name": "Testworth"},
                frozenset({"given_names", "family_name"}),
            ),
            Candidate(
                SECOND,
                {"given_names": "A.", "family_name": "Testworth", "date_of_birth": "1980-01-02"},
                frozenset({"family_name", "date_of_birth"}),
            ),
        ),
    )


def contradicted_death() -> Case:
    return Case(
        item=QueueItem(
            workflow_id=DEATH,
            event_type="lifeevents.death.registered.v1",
            stage="escalated",
            tasks=(CONTRADICTION,),
            started_at=SINCE + timedelta(days=1),
            temporal_ui_url=f"{UI}/namespaces/default/workflows/x/run-2/history",
        ),
        timeline=timeline("escalated", [CONTRADICTION]),
        person={},
    )


@dataclass
class FakeQueue:
    cases: dict[tuple[str, str], Case] = field(
        default_factory=lambda: {
            (DEATH, CONTRADICTION): contradicted_death(),
            (MOVE, "match:0"): doubtful_move(),
        }
    )
    decided: list[tuple[str, str, str, str | None]] = field(default_factory=list)
    resolved: list[tuple[str, str]] = field(default_factory=list)
    refuse_with: str | None = None

    async def items(self) -> Sequence[QueueItem]:
        return [case.item for case in self.cases.values()]

    async def case(self, workflow_id: str, task: str) -> Case | None:
        return self.cases.get((workflow_id, task))

    async def decide_match(
        self, workflow_id: str, task: str, decision: Literal["link", "create"], resident: str | None
    ) -> Answered:
        self.decided.append((workflow_id, task, decision, resident))
        if self.refuse_with is not None:
            return Answered(False, self.refuse_with)
        del self.cases[(workflow_id, task)]
        return Answered(True, "Decision recorded.")

    async def resolve(self, workflow_id: str, task: str) -> Answered:
        self.resolved.append((workflow_id, task))
        if self.refuse_with is not None:
            return Answered(False, self.refuse_with)
        del self.cases[(workflow_id, task)]
        return Answered(True, "Task closed.")


@dataclass
class FakeLedger:
    entries: list[tuple[str, str, str, str, tuple[str, ...]]] = field(default_factory=list)
    down: bool = False

    async def record(
        self, caseworker: str, action: str, workflow_id: str, task: str, residents: Sequence[str]
    ) -> None:
        if self.down:
            raise LedgerUnavailable("unreachable")
        self.entries.append((caseworker, action, workflow_id, task, tuple(residents)))


@dataclass
class FakeResidents:
    about_: dict[str, tuple[str, ...]] = field(
        default_factory=lambda: {MOVE: (), DEATH: (DECEASED,)}
    )

    async def about(self, workflow_id: str) -> tuple[str, ...]:
        return self.about_.get(workflow_id, ())


@dataclass
class Console:
    portal: Portal
    caseworkers: Caseworkers
    queue: FakeQueue
    ledger: Any
    kim: Caseworker
    lee: Caseworker


async def console_parts(
    url: str, ledger: Any
) -> tuple[Caseworkers, FakeQueue, Any, Caseworker, Caseworker, Any]:
    """Accounts for Kim and Lee on the portal's database at `url`, and the console's router."""
    # No pool: the browser's tests serve the app on a loop of its own.
    engine = make_engine(url, poolclass=NullPool)
    # A clock that stands still: a lock set at sign-in lasts exactly its 15 minutes.
    caseworkers = Caseworkers(engine, b"k" * 48, hasher=QUICK, clock=lambda: SINCE)
    await caseworkers.create_tables()
    kim = await caseworkers.add("kim", "Kim Caseworker", PASSWORD)
    lee = await caseworkers.add("lee", "Lee Caseworker", PASSWORD)
    queue = FakeQueue()
    router = caseworker_routes(
        caseworkers=caseworkers, queue=queue, ledger=ledger, residents=FakeResidents()
    )
    return caseworkers, queue, router, kim, lee, engine


@asynccontextmanager
async def console_with(tmp_path: Path, ledger: Any) -> AsyncIterator[Console]:
    caseworkers, queue, router, kim, lee, engine = await console_parts(
        f"sqlite+aiosqlite:///{tmp_path / 'portal.db'}", ledger
    )
    try:
        async with serve(tmp_path, routers=[router]) as portal:
            yield Console(portal, caseworkers, queue, ledger, kim, lee)
    finally:
        await engine.dispose()
