"""BirthWorkflow in the time-skipping environment, every service it calls stood in for
(tests/support/standins.py): the offers made at once and answered once, the dated steps on
the days the English rules give (every expected day written out by hand), a move within the
area and out of it, the child's death, a birth reported twice, and a history that stays
small however many years the workflow follows the child."""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncIterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any, cast

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.api.testservice.v1 import UnlockTimeSkippingRequest
from temporalio.client import WorkflowExecutionStatus, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from contracts import BirthRegisteredV1, CloudEvent, from_structured
from contracts.actions import ActionOutcome, ServiceAction
from contracts.residents import MoveNotice
from contracts.timeline import Confirmation, Outcome, Timeline
from tests.support.histories import keep_history
from tests.support.standins import Council, running, statuses, until
from tests.support.time_skipping import time_skipping
from workflows.bereavement import BereavementWorkflow
from workflows.birth import RESIDENT_MOVED, BirthWorkflow
from workflows.move import MoveWorkflow

EXAMPLES = Path(__file__).resolve().parents[2] / "contracts" / "examples"
BIRTH = json.loads((EXAMPLES / "birth-registered.json").read_text())
MOVE = json.loads((EXAMPLES / "address-changed-household.json").read_text())
DEATH = json.loads((EXAMPLES / "death-registered.json").read_text())

# Keys the stand-in index gives, by place in the match: the child, then the parents.
CHILD = "res_person000000000000"
MOTHER = "res_person000000000001"
FATHER = "res_person000000000002"

DATED = [
    "two-year-old-funding",
    "three-year-old-entitlement",
    "reception-window-opens",
    "reception-window-closing",
]

# The stand-in catchment map (the real one is the schools service's, tested there).
SCHOOLS = {"AB1": "Sample Close Primary School", "AB3": "Pretend Street Primary School"}
ELSEWHERE = {"CD": "Caddenham District Council"}


@pytest.fixture
async def time_skipping_env() -> AsyncIterator[WorkflowEnvironment]:
    """A server of its own per test. A birth workflow left waiting by one test has a timer
    years ahead on a queue no worker polls once that test ends; when it fires, its workflow
    task is outstanding for ever, and a shared server would skip time for no later test."""
    async with time_skipping() as env:
        yield env


def catchment(action: ServiceAction) -> ActionOutcome:
    [postcode] = {s.data["address"]["address"]["postcode"] for s in action.shares}
    area = postcode.split(" ")[0]
    if area in SCHOOLS:
        return ActionOutcome(
            outcome="done", code="catchment_found", references={"primary_school": SCHOOLS[area]}
        )
    return ActionOutcome(
        outcome="no_action",
        code="outside_the_area",
        references={"council": ELSEWHERE[area[:2]]},
    )


def council(*, claims: bool = False, **kwargs: Any) -> Council:
    answer = (
        ActionOutcome(outcome="done", code="claims_found", references={"claims": "HB-1"})
        if claims
        else ActionOutcome(outcome="no_action", code="no_claim")
    )
    return Council(
        answers={"schools.find_catchment": catchment, "benefits.find_claims": lambda _: answer},
        **kwargs,
    )


class Birth:
    """A birth workflow under test: `started` for its result (the time-skipping server skips
    time while a test waits on it, following every continue-as-new), `latest` for queries,
    signals and updates, which go to whichever run is current."""

    def __init__(self, env: WorkflowEnvironment, started: WorkflowHandle[Any, Any]) -> None:
        self.started = started
        self.client = env.client
        self.env = env
        self.latest = env.client.get_workflow_handle(started.id)

    async def result(self) -> Outcome:
        """The outcome, working around two faults of the Java test server seen on a loaded
        machine. Now and then its long poll for a run's history misses the run's completion
        (the run is completed, and every new call of result() waits on): its history, read
        without a long poll, does not. And now and then it loses count of its time-skipping
        locks when a signal meets a run continuing as new: time then never skips to the
        next timer, though the test waits on the result. That is seen as server time
        creeping at the pace of the wall clock while unlocked; one extra unlock undoes the
        lost lock (should the diagnosis be wrong, the server refuses the next unbalanced
        unlock, time stays free to skip, and the loop reads the history instead)."""
        deadline = asyncio.get_running_loop().time() + 120
        while asyncio.get_running_loop().time() < deadline:
            before = await self.env.get_current_time()
            try:
                return cast(Outcome, await asyncio.wait_for(self.started.result(), 5))
            except TimeoutError:
                pass
            except RPCError:
                await asyncio.sleep(1)
            finished = await self._finished()
            if finished is not None:
                return finished
            if await self.env.get_current_time() - before < timedelta(minutes=1):
                with contextlib.suppress(RPCError):
                    await self.client.test_service.unlock_time_skipping(UnlockTimeSkippingRequest())
        raise AssertionError("the birth workflow did not finish")

    async def _finished(self) -> Outcome | None:
        if (await self.latest.describe()).status != WorkflowExecutionStatus.COMPLETED:
            return None
        history = await self.latest.fetch_history()
        completed = history.events[-1].workflow_execution_completed_event_attributes
        [outcome] = await self.client.data_converter.decode(completed.result.payloads, [Outcome])
        return cast(Outcome, outcome)


async def start(env: WorkflowEnvironment, queue: str, born: str, **child: Any) -> Birth:
    data = {**BIRTH["data"], "child": {**BIRTH["data"]["child"], "date_of_birth": born, **child}}
    data["registration"] = {**data["registration"], "registered_on": born}
    event = from_structured({**BIRTH, "id": str(uuid.uuid4()), "data": data})
    started = await env.client.start_workflow(
        BirthWorkflow.run,
        cast(CloudEvent[BirthRegisteredV1], event),
        id=f"birth-{event.id}",
        task_queue=queue,
    )
    return Birth(env, started)


async def answer(birth: Birth, step: str, accept: bool) -> None:
    await until(birth.latest, lambda t: statuses(t).get(step) == "waiting_for_resident")
    await birth.latest.execute_update("confirm", Confirmation(step=step, accept=accept))


async def a_new_run(birth: Birth, before: str | None) -> Timeline:
    """The timeline once a run after `before` waits for the years."""
    for _ in range(100):
        if (await birth.latest.describe()).run_id != before:
            return await waiting_for_the_years(birth)
        await asyncio.sleep(0.1)
    raise AssertionError("the workflow never continued as new")


async def waiting_for_the_years(birth: Birth) -> Timeline:
    return await until(birth.latest, lambda t: t.stage == "scheduled")


def sent(council: Council, *templates: str) -> list[tuple[str, date]]:
    return [(t, on) for t, on in council.sent_on if not templates or t in templates]


async def test_the_offers_at_birth_are_made_at_once_and_answered_once(
    time_skipping_env: WorkflowEnvironment,
) -> None:
    standins = council(claims=True)
    async with running(time_skipping_env.client, standins) as queue:
        handle = await start(time_skipping_env, queue, "2026-08-31")
        # Side by side: both offers wait for the family at the same time, and what needs no
        # answer is done meanwhile.
        seen = await until(
            handle.latest,
            lambda t: (
                statuses(t).get("library-card") == "waiting_for_resident"
                and statuses(t).get("benefits-review") == "waiting_for_resident"
                and statuses(t).get("early-years") == "done"
            ),
        )
        assert seen.stage == "waiting_for_resident"
        await handle.latest.execute_update(
            "confirm", Confirmation(step="benefits-review", accept=False)
        )
        await handle.latest.execute_update(
            "confirm", Confirmation(step="library-card", accept=True)
        )
        seen = await waiting_for_the_years(handle)
        with pytest.raises(WorkflowUpdateFailedError) as refused:
            # Declined is an answer: the offer is never made again.
            await handle.latest.execute_update(
                "confirm", Confirmation(step="benefits-review", accept=True)
            )
        assert "not waiting" in str(refused.value.cause)
    assert {k: v for k, v in statuses(seen).items() if k not in DATED} == {
        "library-card": "done",
        "early-years": "done",
        "benefits-review": "skipped:declined_by_resident",
        "school-places-elsewhere": "waiting",
    }
    acted = [a.step for a in standins.actions]
    # The benefits service was asked whether there is a claim, and never acted on one.
    assert sorted(acted) == ["benefits-review", "early-years", "library-card"]
    [library] = [a for a in standins.actions if a.step == "library-card"]
    assert {s.resident for s in library.shares} == {CHILD, MOTHER, FATHER}
    child = next(s for s in library.shares if s.resident == CHILD)
    assert set(child.data) == {"identity", "birth"}
    assert all("birth" not in s.data for s in library.shares if s.resident != CHILD)
    # The parents are asked, and told; the child is never written to.
    told = {(n.template, n.resident, n.step) for n in standins.notified}
    assert told == {
        (template, parent, step)
        for template, step in (
            ("waiting.question", "library-card:asked"),
            ("waiting.question", "benefits-review:asked"),
            ("birth.library-card", "library-card"),
            ("birth.early-years", "early-years"),
        )
        for parent in (MOTHER, FATHER)
    }
    [record] = standins.births
    assert (record.child, record.parents) == (CHILD, (MOTHER, FATHER))


async def test_a_household_without_a_claim_is_not_asked_about_one(
    time_skipping_env: WorkflowEnvironment,
) -> None:
    standins = council(claims=False)
    async with running(time_skipping_env.client, standins) as queue:
        handle = await start(time_skipping_env, queue, "2026-08-31")
        # The offers go side by side: the check may answer before or after the card waits.
        seen = await until(
            handle.latest,
            lambda t: (
                statuses(t).get("library-card") == "waiting_for_resident"
                and statuses(t).get("benefits-review") != "waiting"
            ),
        )
        assert statuses(seen)["benefits-review"] == "skipped:no_claim"
    assert [a.step for a in standins.actions].count("benefits-review") == 1  # the check only


@pytest.mark.parametrize(
    ("born", "expected"),
    [
        (
            "2026-08-31",  # the last day of a school year: starts school at four
            [
                ("birth.early-education", date(2028, 9, 1)),
                ("birth.early-education", date(2029, 9, 1)),
                ("birth.reception-window-opens", date(2029, 9, 1)),
                ("birth.reception-window-closing", date(2030, 1, 1)),
            ],
        ),
        (
            "2026-09-01",  # a day later: a year later for school, and a term later for funding
            [
                ("birth.early-education", date(2029, 1, 1)),
                ("birth.early-education", date(2030, 1, 1)),
                ("birth.reception-window-opens", date(2030, 9, 1)),
                ("birth.reception-window-closing", date(2031, 1, 1)),
            ],
        ),
        (
            "2024-02-29",  # registered late: the funding for two-year-olds has begun already
            [
                ("birth.early-education", date(2027, 4, 1)),
                ("birth.reception-window-opens", date(2027, 9, 1)),
                ("birth.reception-window-closing", date(2028, 1, 1)),
            ],
        ),
    ],
)
async def test_each_dated_step_comes_on_its_day(
    time_skipping_env: WorkflowEnvironment, born: str, expected: list[tuple[str, date]]
) -> None:
    standins = council()
    async with running(time_skipping_env.client, standins) as queue:
        handle = await start(time_skipping_env, queue, born)
        await answer(handle, "library-card", accept=False)
        outcome = await handle.result()
        seen = await until(handle.latest, lambda _: True)
    assert outcome.stage == "complete"
    dated = [
        "birth.early-education",
        "birth.reception-window-opens",
        "birth.reception-window-closing",
    ]
    # Each parent is told, on the day.
    assert sent(standins, *dated) == [item for item in expected for _ in (MOTHER, FATHER)]
    if born == "2024-02-29":
        assert statuses(seen)["two-year-old-funding"] == "skipped:date_passed"
    assert statuses(seen)["school-places-elsewhere"] == "skipped:not_moved_away"
    opens = next(e for e in seen.entries if e.step == "reception-window-opens")
    assert opens.references["primary_school"] == SCHOOLS["AB1"]


async def test_a_move_within_the_area_names_the_new_catchment_school(
    time_skipping_env: WorkflowEnvironment,
) -> None:
    standins = council()
    async with running(time_skipping_env.client, standins) as queue:
        birth = await start(time_skipping_env, queue, "2026-08-31")
        await answer(birth, "library-card", accept=False)
        await waiting_for_the_years(birth)
        # The family moves: the move workflow learns from the index whose reminders are whose.
        standins.reminders = {CHILD: birth.started.id}
        move = {
            **MOVE["data"],
            # The child first: the stand-in index gives them the key it gave at the birth.
            "movers": [
                {**MOVE["data"]["movers"][1], "date_of_birth": "2026-08-31"},
                MOVE["data"]["movers"][0],
            ],
            "new_address": {**MOVE["data"]["new_address"], "postcode": "AB3 1XY"},
            "move_date": "2026-11-30",
        }
        event = from_structured({**MOVE, "id": str(uuid.uuid4()), "data": move})
        moved = await time_skipping_env.client.start_workflow(
            MoveWorkflow.run, event, id=f"move-{event.id}", task_queue=queue
        )
        await moved.result()
        outcome = await birth.result()
    assert outcome.stage == "complete"
    schools = {
        n.references.get("primary_school")
        for n in standins.notified
        if n.template.startswith("birth.reception")
    }
    assert schools == {SCHOOLS["AB3"]}


async def test_a_move_out_of_the_area_cancels_and_says_which_council(
    time_skipping_env: WorkflowEnvironment,
) -> None:
    standins = council()
    async with running(time_skipping_env.client, standins) as queue:
        handle = await start(time_skipping_env, queue, "2026-08-31")
        await answer(handle, "library-card", accept=False)
        await waiting_for_the_years(handle)
        away = {**BIRTH["data"]["parents"][0]["address"], "postcode": "CD9 9ZZ"}
        await handle.latest.signal(
            RESIDENT_MOVED,
            MoveNotice.model_validate(
                {
                    "resident": CHILD,
                    "direction": "out_of",
                    "move_date": "2026-11-30",
                    "new_address": away,
                }
            ),
        )
        outcome = await handle.result()
        seen = await until(handle.latest, lambda _: True)
    assert outcome.stage == "complete"
    assert {step: statuses(seen)[step] for step in DATED} == dict.fromkeys(
        DATED, "skipped:moved_out_of_area"
    )
    assert statuses(seen)["school-places-elsewhere"] == "done"
    [told] = {
        n.references["council"] for n in standins.notified if n.template == "birth.moved-away"
    }
    assert told == ELSEWHERE["CD"]
    assert not sent(standins, "birth.early-education", "birth.reception-window-opens")


async def test_the_childs_death_cancels_everything_and_nothing_is_sent_about_them(
    time_skipping_env: WorkflowEnvironment,
) -> None:
    standins = council()
    async with running(time_skipping_env.client, standins) as queue:
        handle = await start(time_skipping_env, queue, "2026-08-31")
        await until(
            handle.latest, lambda t: statuses(t).get("library-card") == "waiting_for_resident"
        )
        # Word of the death while an offer waits for the family: the offer is withdrawn too.
        # The bereavement workflow tells the workflows the index says involve the child.
        standins.running_workflows = (handle.started.id,)
        child = BIRTH["data"]["child"]
        death = {
            **DEATH["data"],
            "deceased": {
                **DEATH["data"]["deceased"],
                "name": child["name"],
                "date_of_birth": "2026-08-31",
                "date_of_death": "2026-10-02",
            },
            "registration": {**DEATH["data"]["registration"], "registered_on": "2026-10-05"},
        }
        event = from_structured({**DEATH, "id": str(uuid.uuid4()), "data": death})
        await time_skipping_env.client.start_workflow(
            BereavementWorkflow.run, event, id=f"death-{event.id}", task_queue=queue
        )
        outcome = await handle.result()
        seen = await until(handle.latest, lambda _: True)
    assert outcome.stage == "complete"
    assert statuses(seen)["library-card"] == "skipped:resident_deceased"
    assert {step: statuses(seen)[step] for step in DATED} == dict.fromkeys(
        DATED, "skipped:resident_deceased"
    )
    # The offer was never acted on (the bereavement workflow closes accounts of its own).
    acted = {a.step for a in standins.actions if a.workflow_id == handle.started.id}
    assert "library-card" not in acted
    assert not sent(standins, "birth.library-card", "birth.early-education")


async def test_a_birth_reported_before_is_left_to_the_workflow_that_has_it(
    time_skipping_env: WorkflowEnvironment,
) -> None:
    standins = council(born_before="lifeevent-0123456789abcdef0123456789abcdef")
    async with running(time_skipping_env.client, standins) as queue:
        handle = await start(time_skipping_env, queue, "2026-08-31")
        outcome = await handle.result()
        seen = await until(handle.latest, lambda _: True)
    assert outcome.stage == "complete"
    assert set(statuses(seen).values()) == {"skipped:already_recorded"}
    assert {e.references["handled_by"] for e in seen.entries} == {
        "lifeevent-0123456789abcdef0123456789abcdef"
    }
    assert not standins.actions
    assert not standins.notified


async def test_the_history_stays_small_however_long_the_workflow_waits(
    time_skipping_env: WorkflowEnvironment,
) -> None:
    standins = council()
    async with running(time_skipping_env.client, standins) as queue:
        handle = await start(time_skipping_env, queue, "2026-08-31")
        await answer(handle, "library-card", accept=True)
        await waiting_for_the_years(handle)
        for _ in range(25):  # a family that keeps moving within the area
            # One move at a time, each taken in by a run of its own: the test server loses
            # count of its time-skipping locks when a signal meets a run continuing as new
            # (the real server does not), and would then never skip to the reminders.
            before = (await handle.latest.describe()).run_id
            await handle.latest.signal(
                RESIDENT_MOVED,
                MoveNotice.model_validate(
                    {
                        "resident": CHILD,
                        "direction": "within",
                        "move_date": "2026-11-30",
                        "new_address": BIRTH["data"]["parents"][0]["address"],
                    }
                ),
            )
            await a_new_run(handle, before)
        await handle.result()
        await keep_history(handle.started, "birth-offers-at-birth")
        await keep_history(handle.latest, "birth-last-reminder")
        runs = await run_lengths(time_skipping_env, handle.started.id)
    print(f"events per run, first run first: {runs}")
    # The birth itself, then one run per dated step (and for the moves, however they came).
    assert len(runs) >= 1 + len(DATED)
    first, *later = runs
    assert first < 300
    # A later run is one wait and one step: a gate decision for each of the three, the
    # action, a message to each parent, their ledger entries (about 80 events), however
    # many years it waited and however many moves it heard of.
    assert max(later) < 100


async def run_lengths(env: WorkflowEnvironment, workflow_id: str) -> list[int]:
    """Events in each run of the workflow, first run first (following continue-as-new back)."""
    lengths: list[int] = []
    run_id: str | None = None
    while True:
        history = await env.client.get_workflow_handle(workflow_id, run_id=run_id).fetch_history()
        lengths.append(len(history.events))
        started = history.events[0]
        assert started.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED
        run_id = started.workflow_execution_started_event_attributes.continued_execution_run_id
        if not run_id:
            return lengths[::-1]
