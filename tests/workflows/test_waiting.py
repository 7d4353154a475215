"""A step that waits for a resident's answer tells them so: each resident asked gets one
message (`waiting.question`) with the step, the day the answer is due and where in the portal
to give it, and one reminder (`waiting.reminder`) three days before that day if nobody has
answered; nothing is sent to a resident known to have died. Time-skipping environment, every
service stood in for (tests/support/standins.py).

The clock is set to a fixed moment first, so that every day below is written out by hand:
the move starts waiting late on Sunday 11 March 2040 (23:30, GMT). Fourteen days later, at
23:30 GMT on 25 March, the clocks have gone forward: it is then 00:30 on 26 March in the
UK, the day the answer is due. The reminder comes eleven days after the question, on
Thursday 22 March.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import WorkflowHandle
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

from contracts import from_structured
from contracts.actions import ActionOutcome
from contracts.notifications import Notification
from contracts.timeline import Confirmation, StepStatus, Timeline, answer_path
from tests.support.histories import keep_history
from tests.support.standins import Council, running, statuses, timeline, until
from tests.support.time_skipping import time_skipping
from workflows.birth import BirthWorkflow
from workflows.move import MoveWorkflow
from workflows.pipeline import RESIDENT_DECEASED

EXAMPLES = Path(__file__).resolve().parents[2] / "contracts" / "examples"
MOVE = json.loads((EXAMPLES / "address-changed-household.json").read_text())
BIRTH = json.loads((EXAMPLES / "birth-registered.json").read_text())

ASKING_STARTS = datetime(2040, 3, 11, 23, 30, tzinfo=UTC)
# The wait ends 14 days on, at 23:30 UTC on 25 March: 00:30 on 26 March in the UK, British
# Summer Time having begun that Sunday. The last whole day before it is 25 March.
DUE = "2040-03-25"
ASKED_ON = date(2040, 3, 11)
REMINDED_ON = date(2040, 3, 22)

# Keys the stand-in index gives, by place in the event: Pat first, then Sam when Sam moves.
PAT, SAM = "res_person000000000000", "res_person000000000001"
SCHOOL = "school-admissions"
WAITING = ("waiting.question", "waiting.reminder")

SAM_MOVER = {
    "name": {"given_names": "Sam", "family_name": "Placeholder"},
    "date_of_birth": "1982-03-02",
}


@pytest.fixture
async def time_skipping_env() -> AsyncIterator[WorkflowEnvironment]:
    """A server of its own per test: its clock is moved on to 2040, and years of it skipped
    on a shared server would fire every timer another test left behind."""
    async with time_skipping() as env:
        yield env


async def at_the_fixed_moment(env: WorkflowEnvironment) -> None:
    """The server's clock moved on to just before the move will wait (its first steps take
    a moment of the clock; the wait starts well before midnight)."""
    now = await env.get_current_time()
    assert now < ASKING_STARTS, "the test's fixed moment has passed: move it on"
    await env.sleep(ASKING_STARTS - timedelta(seconds=30) - now)


async def start_move(
    env: WorkflowEnvironment, queue: str, *, deceased: str | None = None, **data: Any
) -> WorkflowHandle[Any, Any]:
    event = from_structured({**MOVE, "id": str(uuid.uuid4()), "data": {**MOVE["data"], **data}})
    if deceased is None:
        return await env.client.start_workflow(
            MoveWorkflow.run, event, id=f"move-{event.id}", task_queue=queue
        )
    # Word of the death comes with the start: the move knows of it before it asks anyone.
    return await env.client.start_workflow(
        MoveWorkflow.run,
        event,
        id=f"move-{event.id}",
        task_queue=queue,
        start_signal=RESIDENT_DECEASED,
        start_signal_args=[deceased],
    )


def waiting_for(step: str) -> Callable[[Timeline], bool]:
    return lambda seen: statuses(seen).get(step) == StepStatus.WAITING_FOR_RESIDENT.value


def told(council: Council, *templates: str) -> list[tuple[str, str, str]]:
    """(template, resident, step) of each message sent, in order; only `templates` if given."""
    return [
        (n.template, n.resident, n.step)
        for n in council.notified
        if not templates or n.template in templates
    ]


def days(council: Council, *templates: str) -> list[tuple[str, date]]:
    return [(t, on) for t, on in council.sent_on if t in templates]


async def sent(council: Council, count: int, *templates: str) -> None:
    """Until `count` messages of `templates` have been sent (each goes out from an activity
    a moment after the workflow has moved on)."""
    for _ in range(100):
        if len(told(council, *templates)) >= count:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"never sent {count} of {templates}: {told(council)}")


def entry_of(seen: Timeline, step: str) -> dict[str, str]:
    return next(e for e in seen.entries if e.step == step).references


async def test_the_resident_asked_is_told_once_when_and_where_to_answer(
    time_skipping_env: WorkflowEnvironment,
) -> None:
    env = time_skipping_env
    council = Council()
    async with running(env.client, council) as queue:
        await at_the_fixed_moment(env)
        handle = await start_move(env, queue)
        seen = await until(handle, waiting_for(SCHOOL))
        # The portal shows the day the answer is due.
        assert entry_of(seen, SCHOOL) == {"due": DUE}
        await sent(council, 1, *WAITING)
        # Ten days on, a day before the reminder would go, the resident answers.
        await env.sleep(timedelta(days=10))
        await handle.execute_update(MoveWorkflow.confirm, Confirmation(step=SCHOOL, accept=True))
        outcome = await handle.result()
        seen = await timeline(handle)
        await keep_history(handle, "move-asked-and-answered")
    assert outcome.stage == "complete"
    # The adult is asked, once; the child is not written to; no reminder after the answer.
    [question] = [n for n in council.notified if n.template in WAITING]
    assert (question.template, question.resident, question.step) == (
        "waiting.question",
        PAT,
        "school-admissions:asked",
    )
    assert question.references == {
        "step": SCHOOL,
        "due": DUE,
        "path": f"/events/{handle.id}/steps/school-admissions",
    }
    assert question.workflow_id == handle.id
    assert days(council, *WAITING) == [("waiting.question", ASKED_ON)]
    # The question comes before the step's own news; the other steps, which waited on
    # nobody, were told of as they were done, beside it.
    templates = [t for t, _, _ in told(council)]
    assert sorted(templates) == [
        "move.benefits",
        "move.council-tax",
        "move.electoral-register",
        "move.school-admissions",
        "waiting.question",
    ]
    assert templates.index("waiting.question") < templates.index("move.school-admissions")
    # Answered, the step no longer shows a day due: it shows what the school service did.
    assert statuses(seen)[SCHOOL] == "done"
    assert "due" not in entry_of(seen, SCHOOL)


async def test_unanswered_the_resident_is_reminded_once_three_days_before_the_day(
    time_skipping_env: WorkflowEnvironment,
) -> None:
    env = time_skipping_env
    council = Council()
    async with running(env.client, council) as queue:
        await at_the_fixed_moment(env)
        handle = await start_move(env, queue)
        await until(handle, waiting_for(SCHOOL))
        await sent(council, 1, *WAITING)
        # A day before the reminder is due: nothing more.
        await env.sleep(timedelta(days=10))
        await asyncio.sleep(1)
        assert told(council, *WAITING) == [("waiting.question", PAT, "school-admissions:asked")]
        # Past it: one reminder.
        await env.sleep(timedelta(days=1, hours=1))
        await sent(council, 2, *WAITING)
        seen = await timeline(handle)
        assert statuses(seen)[SCHOOL] == "waiting_for_resident"
        assert entry_of(seen, SCHOOL) == {"due": DUE}
        # Past the deadline: a caseworker's, and no second reminder.
        await env.sleep(timedelta(days=3))
        seen = await until(handle, lambda t: t.needs_person)
        assert statuses(seen)[SCHOOL] == "needs_person:no_answer_in_time"
        assert "due" not in entry_of(seen, SCHOOL)
        await handle.execute_update(MoveWorkflow.resolve_task, f"confirm:{SCHOOL}")
        outcome = await handle.result()
        await keep_history(handle, "move-reminded-no-answer")
    assert outcome.stage == "complete"
    assert told(council, *WAITING) == [
        ("waiting.question", PAT, "school-admissions:asked"),
        ("waiting.reminder", PAT, "school-admissions:reminder"),
    ]
    assert days(council, *WAITING) == [
        ("waiting.question", ASKED_ON),
        ("waiting.reminder", REMINDED_ON),
    ]
    [reminder] = [n for n in council.notified if n.template == "waiting.reminder"]
    assert reminder.references == {
        "step": SCHOOL,
        "due": DUE,
        "path": f"/events/{handle.id}/steps/school-admissions",
    }
    assert SCHOOL not in [a.step for a in council.actions]


async def test_a_resident_known_to_have_died_is_neither_asked_nor_reminded(
    time_skipping_env: WorkflowEnvironment,
) -> None:
    """Pat died before the move asked anyone (the workflow was told): Pat is not written to
    at all, not even to be refused; Sam, the other adult, is asked and reminded."""
    env = time_skipping_env
    council = Council()
    movers = [MOVE["data"]["movers"][0], SAM_MOVER, MOVE["data"]["movers"][1]]
    async with running(env.client, council) as queue:
        await at_the_fixed_moment(env)
        handle = await start_move(env, queue, deceased=PAT, movers=movers)
        await until(handle, waiting_for(SCHOOL))
        await env.sleep(timedelta(days=11, hours=1))
        await sent(council, 2, *WAITING)
        await handle.execute_update(MoveWorkflow.confirm, Confirmation(step=SCHOOL, accept=False))
        outcome = await handle.result()
        await keep_history(handle, "move-asked-mover-deceased")
    assert outcome.stage == "complete"
    assert told(council, *WAITING) == [
        ("waiting.question", SAM, "school-admissions:asked"),
        ("waiting.reminder", SAM, "school-admissions:reminder"),
    ]
    assert PAT not in {n.resident for n in council.notified + council.refused}


async def test_the_only_resident_asked_dies_and_nobody_is_reminded(
    time_skipping_env: WorkflowEnvironment,
) -> None:
    env = time_skipping_env
    council = Council()
    async with running(env.client, council) as queue:
        await at_the_fixed_moment(env)
        handle = await start_move(env, queue)
        await until(handle, waiting_for(SCHOOL))
        await sent(council, 1, *WAITING)
        await handle.signal(RESIDENT_DECEASED, PAT)
        seen = await until(handle, lambda t: t.needs_person)
        assert statuses(seen)[SCHOOL] == "needs_person:resident_deceased"
        # Past the day the reminder would have gone: nothing.
        await env.sleep(timedelta(days=12))
        await asyncio.sleep(1)
        await handle.execute_update(MoveWorkflow.resolve_task, f"confirm:{SCHOOL}")
        await handle.result()
    assert told(council, *WAITING) == [("waiting.question", PAT, "school-admissions:asked")]
    assert council.refused == []


async def test_the_resident_asked_who_dies_later_is_not_reminded_the_other_is(
    time_skipping_env: WorkflowEnvironment,
) -> None:
    env = time_skipping_env
    council = Council()
    movers = [MOVE["data"]["movers"][0], SAM_MOVER, MOVE["data"]["movers"][1]]
    async with running(env.client, council) as queue:
        await at_the_fixed_moment(env)
        handle = await start_move(env, queue, movers=movers)
        await until(handle, waiting_for(SCHOOL))
        await sent(council, 2, *WAITING)
        await handle.signal(RESIDENT_DECEASED, PAT)
        await env.sleep(timedelta(days=11, hours=1))
        await sent(council, 3, *WAITING)
        await handle.execute_update(MoveWorkflow.confirm, Confirmation(step=SCHOOL, accept=True))
        await handle.result()
    assert told(council, *WAITING) == [
        ("waiting.question", PAT, "school-admissions:asked"),
        ("waiting.question", SAM, "school-admissions:asked"),
        ("waiting.reminder", SAM, "school-admissions:reminder"),
    ]
    [school] = [a for a in council.actions if a.step == SCHOOL]
    assert PAT not in school.residents


class RefusingWaitingTemplates(list[Notification]):
    """What the stand-in notification service records as sent, when it does not know the
    waiting templates yet (deployed after the workflows): it refuses them for good, as the
    real one refuses an unknown template, and records nothing."""

    refused: list[Notification]

    def append(self, notification: Notification) -> None:
        if notification.template in WAITING:
            self.refused.append(notification)
            raise ApplicationError(
                "unknown_template", type="NotificationRefused", non_retryable=True
            )
        super().append(notification)


async def test_a_question_the_notification_service_refuses_leaves_the_step_waiting(
    time_skipping_env: WorkflowEnvironment,
) -> None:
    env = time_skipping_env
    council = Council()
    refusing = RefusingWaitingTemplates()
    refusing.refused = council.refused
    council.notified = refusing
    async with running(env.client, council) as queue:
        handle = await start_move(env, queue)
        await until(handle, waiting_for(SCHOOL))
        for _ in range(100):
            if council.refused:
                break
            await asyncio.sleep(0.1)
        assert [n.template for n in council.refused] == ["waiting.question"]
        assert statuses(await timeline(handle))[SCHOOL] == "waiting_for_resident"
        await handle.execute_update(MoveWorkflow.confirm, Confirmation(step=SCHOOL, accept=True))
        outcome = await handle.result()
    assert outcome.stage == "complete"
    assert SCHOOL in [a.step for a in council.actions]


async def test_each_parent_is_asked_about_each_offer_at_birth(
    time_skipping_env: WorkflowEnvironment,
) -> None:
    """Two offers wait side by side, each asking both parents; the family answers both
    before any reminder."""
    env = time_skipping_env
    mother, father = "res_person000000000001", "res_person000000000002"
    claims = ActionOutcome(outcome="done", code="claims_found", references={"claims": "HB-1"})
    council = Council(answers={"benefits.find_claims": lambda _: claims})
    async with running(env.client, council) as queue:
        await at_the_fixed_moment(env)
        data = {**BIRTH["data"], "child": {**BIRTH["data"]["child"], "date_of_birth": "2026-08-31"}}
        data["registration"] = {**data["registration"], "registered_on": "2026-08-31"}
        event = from_structured({**BIRTH, "id": str(uuid.uuid4()), "data": data})
        # Under the ID the replay test gives its history (the fixture's name): a birth's
        # workflow compares its own ID with the one the index says recorded the birth.
        handle = await env.client.start_workflow(
            BirthWorkflow.run, event, id="birth-offers-asked", task_queue=queue
        )
        seen = await until(
            handle,
            lambda t: waiting_for("library-card")(t) and waiting_for("benefits-review")(t),
        )
        assert entry_of(seen, "library-card") == {"due": DUE}
        assert entry_of(seen, "benefits-review") == {"due": DUE}
        await sent(council, 4, *WAITING)
        for step in ("benefits-review", "library-card"):
            await handle.execute_update("confirm", Confirmation(step=step, accept=False))
        # By 2040 every dated step of a child born in 2026 has passed: the run ends here.
        outcome = await handle.result()
        await keep_history(handle, "birth-offers-asked")
    assert outcome.stage == "complete"
    assert sorted(told(council, *WAITING)) == [
        ("waiting.question", parent, f"{step}:asked")
        for parent in (mother, father)
        for step in ("benefits-review", "library-card")
    ]
    paths = {n.step: n.references["path"] for n in council.notified if n.template in WAITING}
    assert paths == {
        "benefits-review:asked": f"/events/{handle.id}/steps/benefits-review",
        "library-card:asked": f"/events/{handle.id}/steps/library-card",
    }


def test_the_portal_path_keeps_each_part_one_segment() -> None:
    assert (
        answer_path("lifeevent-0123456789abcdef0123456789abcdef/corrected-1", "library-card")
        == "/events/lifeevent-0123456789abcdef0123456789abcdef%2Fcorrected-1/steps/library-card"
    )
