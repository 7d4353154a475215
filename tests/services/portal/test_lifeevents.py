"""TemporalLifeEvents against a real Temporal (the time-skipping test server) running the real
MoveWorkflow, every service it calls stood in for (tests/support/standins.py): what a mover
sees and answers, what anyone else does not, and a worker that is down.

The stand-ins match the movers of every move as `res_person000000000000` (Pat, the adult)
and `res_person000000000001` (Robin, the child): the event is about them both.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from temporalio.client import Client, WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from contracts import from_structured
from contracts.timeline import EventRecord, StepStatus, Timeline
from services.portal.lifeevents import LifeEventUnavailable, TemporalLifeEvents
from services.portal.ports import Answered, EventSummary, Waiting
from services.portal.questions import FALLBACK_QUESTION, QUESTIONS
from tests.support.standins import (
    Council,
    running,
    start_as_the_orchestrator,
    statuses,
    until,
)
from tests.support.time_skipping import time_skipping
from tests.workflows.test_birth import MOTHER
from tests.workflows.test_birth import council as birth_council
from tests.workflows.test_birth import start as start_birth
from workflows.catalogue import load_catalogue
from workflows.diagnostics import StackCheckWorkflow
from workflows.move import MoveWorkflow

EXAMPLE = json.loads(
    (
        Path(__file__).resolve().parents[3] / "contracts/examples/address-changed-household.json"
    ).read_text()
)

PAT, ROBIN = "res_person000000000000", "res_person000000000001"
STRANGER = "res_stranger0000000001"
NOBODYS = "lifeevent-" + "0" * 32  # an ID no workflow was started under

SCHOOL_QUESTION = (
    "Would you like us to apply for a place at the catchment school for your new address, "
    "for each child of school age who is moving with you?"
)
NOT_WAITING = "This step is not waiting for an answer."


@pytest.fixture
async def time_skipping_env() -> AsyncIterator[WorkflowEnvironment]:
    """A server of its own per test: these tests leave moves waiting for an answer, with
    timers days ahead on a queue no worker polls once the test ends; on the shared server,
    the next test that skips time would fire them and wait for ever on their workflow
    tasks."""
    async with time_skipping() as env:
        yield env


async def start_move(client: Client, queue: str) -> WorkflowHandle[Any, Any]:
    event = from_structured({**EXAMPLE, "id": str(uuid.uuid4())})
    return await start_as_the_orchestrator(client, queue, MoveWorkflow, event)


def asking_and_idle(seen: Timeline) -> bool:
    """The school place is asked about and every other step (run beside it) is done: the
    workflow runs nothing (the test server may drop a query that arrives during a workflow
    task)."""
    return statuses(seen) == {
        "council-tax": "done",
        "electoral-register": "done",
        "school-admissions": StepStatus.WAITING_FOR_RESIDENT.value,
        "benefits": "done",
    }


def due_day(seen: Timeline, step: str) -> datetime | None:
    """The start of the day the workflow's own timeline says the answer is due, in the UK
    (None from a workflow that does not say)."""
    day = next(e for e in seen.entries if e.step == step).references.get("due")
    if day is None:
        return None
    return datetime.combine(date.fromisoformat(day), datetime.min.time(), ZoneInfo("Europe/London"))


async def test_the_movers_see_the_question_answer_it_once_and_the_timeline_moves_on(
    time_skipping_env: WorkflowEnvironment,
) -> None:
    client = time_skipping_env.client
    council = Council()
    life_events = TemporalLifeEvents(client)
    async with running(client, council) as queue:
        handle = await start_move(client, queue)
        seen = await until(handle, asking_and_idle)

        asked = Waiting(
            workflow_id=handle.id,
            step="school-admissions",
            question=SCHOOL_QUESTION,
            due=due_day(seen, "school-admissions"),
        )
        assert await life_events.waiting(PAT, [handle.id]) == [asked]
        assert await life_events.waiting(ROBIN, [handle.id]) == [asked]
        [summary] = await life_events.events(PAT, [handle.id])
        assert (summary.workflow_id, summary.event_type, summary.title, summary.stage) == (
            handle.id,
            "lifeevents.address.changed.v1",
            "Your change of address",
            "waiting_for_resident",
        )
        assert summary.started_at is not None
        assert summary.started_at.tzinfo is not None

        # A step that is not waiting, and one there is no such step: the workflow's refusal.
        assert await life_events.answer(PAT, handle.id, "council-tax", True) == Answered(
            False, NOT_WAITING
        )
        assert await life_events.answer(PAT, handle.id, "no-such-step", True) == Answered(
            False, NOT_WAITING
        )
        assert await life_events.answer(PAT, handle.id, "school-admissions", True) == Answered(
            True, "Thank you, we have your answer."
        )
        # Once: a second answer, even another one, is refused, and the first one stands.
        assert await life_events.answer(PAT, handle.id, "school-admissions", False) == Answered(
            False, NOT_WAITING
        )

        assert (await handle.result()).stage == "complete"
        after = await life_events.timeline(PAT, handle.id)
        assert after is not None
        school = next(e for e in after.entries if e.step == "school-admissions")
        assert school.status is StepStatus.DONE
        assert after.stage == "complete"
        assert await life_events.waiting(PAT, [handle.id]) == []
    assert "school-admissions" in [a.step for a in council.actions]


async def test_someone_else_sees_nothing_and_cannot_answer(
    time_skipping_env: WorkflowEnvironment,
) -> None:
    client = time_skipping_env.client
    council = Council()
    life_events = TemporalLifeEvents(client)
    async with running(client, council) as queue:
        handle = await start_move(client, queue)
        seen = await until(handle, asking_and_idle)

        assert await life_events.waiting(STRANGER, [handle.id]) == []
        assert await life_events.events(STRANGER, [handle.id]) == []
        assert await life_events.timeline(STRANGER, handle.id) is None
        with pytest.raises(LookupError):
            await life_events.answer(STRANGER, handle.id, "school-admissions", True)

        # Still waiting for the movers: the stranger's answer was never sent.
        assert await life_events.waiting(PAT, [handle.id]) == [
            Waiting(
                workflow_id=handle.id,
                step="school-admissions",
                question=SCHOOL_QUESTION,
                due=due_day(seen, "school-admissions"),
            )
        ]
        timeline = await life_events.timeline(PAT, handle.id)
        assert timeline is not None
        assert statuses(timeline)["school-admissions"] == "waiting_for_resident"
    assert "school-admissions" not in [a.step for a in council.actions]


async def test_what_is_not_a_life_event_or_not_there_is_left_out(
    time_skipping_env: WorkflowEnvironment,
) -> None:
    client = time_skipping_env.client
    life_events = TemporalLifeEvents(client)
    async with running(client, Council()) as queue:
        move = await start_move(client, queue)
        await until(move, asking_and_idle)
        check = await client.start_workflow(
            StackCheckWorkflow.run, "ping", id=f"check-{uuid.uuid4()}", task_queue=queue
        )
        await check.result()
        ids = [NOBODYS, move.id, check.id]

        assert [s.workflow_id for s in await life_events.events(PAT, ids)] == [move.id]
        assert [w.workflow_id for w in await life_events.waiting(PAT, ids)] == [move.id]
        assert await life_events.timeline(PAT, NOBODYS) is None
        assert await life_events.timeline(PAT, check.id) is None
        with pytest.raises(LookupError):
            await life_events.answer(PAT, NOBODYS, "school-admissions", True)
        with pytest.raises(LookupError):
            await life_events.answer(PAT, check.id, "school-admissions", True)


async def test_a_worker_that_is_down_makes_its_events_not_available_without_holding_the_page(
    time_skipping_env: WorkflowEnvironment,
) -> None:
    client = time_skipping_env.client
    async with running(client, Council()) as queue:
        moves = [await start_move(client, queue) for _ in range(3)]
        for move in moves:
            await until(move, asking_and_idle)
    # The workers have stopped; the workflows wait on.
    life_events = TemporalLifeEvents(client, timeout=timedelta(seconds=1))
    ids = [m.id for m in moves]

    started = time.monotonic()
    summaries = await life_events.events(PAT, ids)
    took = time.monotonic() - started

    assert summaries == [
        EventSummary(
            workflow_id=i,
            event_type="",
            title="Not available just now",
            stage="unavailable",
            started_at=None,
        )
        for i in ids
    ]
    # Side by side: one timeout (1 s and a half-second margin) for the three, not three.
    assert took < 3.0
    assert await life_events.waiting(PAT, ids) == []
    with pytest.raises(LifeEventUnavailable):
        await life_events.timeline(PAT, ids[0])
    assert await life_events.answer(PAT, ids[0], "school-admissions", True) == Answered(
        False, "We cannot take your answer just now. Please try again later."
    )


def test_every_step_that_asks_has_its_question() -> None:
    asking = {step.name for step in load_catalogue().steps if step.confirm}
    assert asking == {
        "school-admissions",
        "council-tax-discount",
        "library-card",
        "benefits-review",
    }
    assert set(QUESTIONS) == asking
    assert FALLBACK_QUESTION not in QUESTIONS.values()


async def test_a_parent_told_of_a_birth_sees_its_offers_and_answers_them() -> None:
    # The birth is about the child; the parents are those the council writes to, and asks.
    async with time_skipping() as env, running(env.client, birth_council()) as queue:
        birth = await start_birth(env, queue, "2026-08-31")
        await until(
            birth.latest, lambda t: statuses(t).get("library-card") == "waiting_for_resident"
        )
        # The question goes out beside the wait: the mother is one of the birth's people
        # once she has been asked.
        asked = ("library-card:asked", MOTHER)
        for _ in range(100):
            record = await birth.latest.query("record", result_type=EventRecord)
            if asked in {(t.step, t.resident) for t in record.told}:
                break
            await asyncio.sleep(0.1)
        else:
            raise AssertionError("the mother was never asked")
        life_events = TemporalLifeEvents(env.client)

        waiting = await life_events.waiting(MOTHER, [birth.started.id])
        assert "library-card" in {w.step for w in waiting}
        assert await life_events.waiting(STRANGER, [birth.started.id]) == []
        assert await life_events.timeline(STRANGER, birth.started.id) is None

        answered = await life_events.answer(MOTHER, birth.started.id, "library-card", False)
        assert answered == Answered(True, "Thank you, we have your answer.")
        seen = await life_events.timeline(MOTHER, birth.started.id)
        assert seen is not None
        assert statuses(seen)["library-card"] == "skipped:declined_by_resident"
