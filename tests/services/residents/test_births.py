"""`record_birth`: the household a child is born into and the workflow that holds the
child's reminders; `reminders_for`: those workflows, for the residents of a move.

Each birth workflow first matches its child at the parents' address (`match_people`, noted
against the workflow as the activity does), then records the birth, as BirthWorkflow does.
"""

from __future__ import annotations

import dataclasses
import io
import json
import uuid
from datetime import date, timedelta

import pytest
from temporalio import workflow
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment, WorkflowEnvironment
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from contracts.addresses import UkAddress
from contracts.residents import (
    BirthHousehold,
    BirthRecord,
    DeathRecord,
    MatchResult,
    MoveRecord,
    PersonDetails,
)
from contracts.temporal import Activity
from services.residents.activities import ResidentActivities
from services.residents.index import MatchRequest, ResidentIndex, ResidentIndexError
from tests.services.residents.support import address, person

BORN = date(2026, 5, 4)
HOME = address(21, uprn="999000000021")
UNKNOWN = "res_" + "x" * 22


def key_of(result: MatchResult) -> str:
    assert result.resident is not None
    return result.resident


async def parents(index: ResidentIndex, at: UkAddress | None = HOME) -> tuple[str, str]:
    mother, father = await index.match_people(
        [
            person("Imogen", "Larkspur", date(1992, 6, 9), address=at),
            person("Tobiah", "Larkspur", date(1990, 1, 30), address=at),
        ]
    )
    return key_of(mother), key_of(father)


async def child(
    index: ResidentIndex, workflow_id: str, given: str = "Wren", at: UkAddress | None = HOME
) -> MatchResult:
    """The child matched (or created) by `workflow_id`'s `match_people`."""
    [result] = await index.match_people(
        [person(given, "Larkspur", BORN, address=at)],
        request=MatchRequest(key=f"{workflow_id}-{given}", workflow_id=workflow_id, step="1"),
    )
    return result


def birth(
    child: str, parents: tuple[str, ...], workflow_id: str, step: str = "record_birth"
) -> BirthRecord:
    return BirthRecord(
        child=child, parents=parents, date_of_birth=BORN, workflow_id=workflow_id, step=step
    )


async def test_a_birth_is_recorded_in_the_parents_household(index: ResidentIndex) -> None:
    mother, father = await parents(index)
    wren = key_of(await child(index, "W-birth"))
    household = await index.record_birth(birth(wren, (mother, father), "W-birth"))
    assert household == BirthHousehold(
        address=HOME, residents=tuple(sorted([mother, father, wren])), recorded_by="W-birth"
    )
    resident = await index.resident(mother)
    assert resident is not None
    assert set(resident.household) == {father, wren}


async def test_a_child_without_an_address_gets_the_first_parents(index: ResidentIndex) -> None:
    mother, father = await parents(index)
    await index.record_move(
        MoveRecord(
            residents=(father,),
            new_address=address(40),
            move_date=date(2026, 1, 10),
            direction="within",
            workflow_id="W-move",
            step="record_move",
        )
    )
    wren = key_of(await child(index, "W-birth", at=None))
    household = await index.record_birth(birth(wren, (mother, father), "W-birth"))
    assert household == BirthHousehold(
        address=HOME, residents=tuple(sorted([mother, wren])), recorded_by="W-birth"
    )
    resident = await index.resident(wren)
    assert resident is not None
    assert resident.address == HOME
    # From the date of birth: a move recorded before it does not undo it, a later one does.
    before = MoveRecord(
        residents=(wren,),
        new_address=address(50),
        move_date=date(2026, 5, 1),
        direction="within",
        workflow_id="W-late",
        step="record_move",
    )
    await index.record_move(before)
    resident = await index.resident(wren)
    assert resident is not None
    assert resident.address == HOME
    later = before.model_copy(update={"move_date": date(2026, 6, 1), "step": "later_move"})
    await index.record_move(later)
    resident = await index.resident(wren)
    assert resident is not None
    assert resident.address == address(50)


async def test_a_child_whose_first_parent_has_no_address_stays_without(
    index: ResidentIndex,
) -> None:
    mother, _ = await parents(index, at=None)
    wren = key_of(await child(index, "W-birth", at=None))
    household = await index.record_birth(birth(wren, (mother,), "W-birth"))
    assert household == BirthHousehold(address=None, residents=(wren,), recorded_by="W-birth")
    # No parents named at all: the child's own address, if any, is the household's.
    alone = key_of(await child(index, "W-other", given="Sorrel"))
    household = await index.record_birth(birth(alone, (), "W-other"))
    assert (household.address, household.residents) == (HOME, (alone,))


async def test_a_repeat_of_the_step_returns_the_first_answer(index: ResidentIndex) -> None:
    mother, father = await parents(index)
    wren = key_of(await child(index, "W-birth"))
    first = await index.record_birth(birth(wren, (mother, father), "W-birth"))
    # Someone moves in afterwards: the retried step still answers what it answered.
    [lodger] = await index.match_people([person("Cass", "Otherley", date(1980, 2, 2))])
    await index.record_move(
        MoveRecord(
            residents=(key_of(lodger),),
            new_address=HOME,
            move_date=date(2026, 7, 1),
            direction="within",
            workflow_id="W-move",
            step="record_move",
        )
    )
    assert await index.record_birth(birth(wren, (mother, father), "W-birth")) == first
    # Another step of the same workflow is recorded anew, and by the same workflow.
    again = await index.record_birth(birth(wren, (mother, father), "W-birth", step="again"))
    assert again.recorded_by == "W-birth"
    assert key_of(lodger) in again.residents


async def test_twins_reported_separately_are_two_children_each_with_their_workflow(
    index: ResidentIndex,
) -> None:
    mother, father = await parents(index)
    # Two registrations, same family name, date of birth and address: the second twin is
    # another child, created, not a doubtful match for the first.
    wren = await child(index, "W-wren", given="Wren")
    sorrel = await child(index, "W-sorrel", given="Sorrel")
    assert (wren.outcome, wren.rule) == ("created", "no_candidate")
    assert (sorrel.outcome, sorrel.rule, sorrel.candidates) == ("created", "no_candidate", 0)
    assert sorrel.resident != wren.resident
    first = await index.record_birth(birth(key_of(wren), (mother, father), "W-wren"))
    second = await index.record_birth(birth(key_of(sorrel), (mother, father), "W-sorrel"))
    assert first.recorded_by == "W-wren"
    assert second.recorded_by == "W-sorrel"
    everyone = tuple(sorted([mother, father, key_of(wren), key_of(sorrel)]))
    assert second.residents == everyone
    assert await index.reminders_for([key_of(sorrel), key_of(wren)]) == ["W-wren", "W-sorrel"]


async def test_the_same_birth_reported_again_is_recorded_by_the_first_workflow(
    index: ResidentIndex,
) -> None:
    mother, father = await parents(index)
    wren = key_of(await child(index, "W-first"))
    first = await index.record_birth(birth(wren, (mother, father), "W-first"))
    # The same birth under another event ID: the same child, and the first workflow acts.
    again = await child(index, "W-second")
    assert (again.outcome, again.resident) == ("matched", wren)
    second = await index.record_birth(birth(wren, (mother, father), "W-second"))
    assert second == first
    assert await index.record_birth(birth(wren, (mother, father), "W-second")) == first
    assert await index.reminders_for([wren]) == ["W-first"]


async def test_reminders_are_for_children_whose_birth_was_recorded(index: ResidentIndex) -> None:
    mother, father = await parents(index)
    wren = key_of(await child(index, "W-birth"))
    await index.record_birth(birth(wren, (mother, father), "W-birth"))
    assert await index.reminders_for([wren]) == ["W-birth"]
    # The parents: matched by a workflow, but no birth of theirs recorded.
    assert await index.reminders_for([mother, father]) == []
    # A move about anyone: unknown keys, repeats and an empty list are no error.
    assert await index.reminders_for([father, UNKNOWN, wren, wren]) == ["W-birth"]
    assert await index.reminders_for([]) == []


async def test_the_childs_death_finds_the_birth_workflow(index: ResidentIndex) -> None:
    mother, father = await parents(index)
    wren = key_of(await child(index, "W-birth"))
    await index.record_birth(birth(wren, (mother, father), "W-birth"))
    death = DeathRecord(
        resident=wren, date_of_death=date(2026, 9, 1), workflow_id="W-death", step="mark"
    )
    await index.mark_deceased(death)
    household = await index.household_after_death(death)
    assert household.workflows == ("W-birth",)
    assert [s.resident for s in household.survivors] == sorted([mother, father])


@pytest.mark.parametrize("who", ["child", "first_parent", "second_parent"])
async def test_an_unknown_child_or_parent_is_refused(index: ResidentIndex, who: str) -> None:
    mother, father = await parents(index)
    wren = key_of(await child(index, "W-birth"))
    record = birth(
        UNKNOWN if who == "child" else wren,
        (
            UNKNOWN if who == "first_parent" else mother,
            UNKNOWN if who == "second_parent" else father,
        ),
        "W-birth",
    )
    with pytest.raises(ResidentIndexError) as refused:
        await index.record_birth(record)
    assert refused.value.code == "unknown_resident"
    assert await index.reminders_for([wren]) == []  # nothing recorded


async def test_nothing_personal_is_logged(index: ResidentIndex, output: io.StringIO) -> None:
    mother, father = await parents(index)
    wren = key_of(await child(index, "W-birth", at=None))
    await index.record_birth(birth(wren, (mother, father), "W-birth"))
    await index.reminders_for([wren, mother])
    lines = [json.loads(line) for line in output.getvalue().splitlines()]
    recorded = [line for line in lines if line["event"] == "residents.birth_recorded"]
    assert len(recorded) == 1
    assert recorded[0]["resident"] == wren
    assert (recorded[0]["parents"], recorded[0]["first"]) == (2, True)
    found = [line for line in lines if line["event"] == "residents.reminders_found"]
    assert [(line["residents"], line["workflows"]) for line in found] == [(2, 1)]
    text = output.getvalue()
    for secret in ("Larkspur", "Wren", "2026-05-04", "Imaginary Street", "AB1 2DE"):
        assert secret not in text, secret


# --- as activities --------------------------------------------------------------------------


async def test_the_activities_refuse_an_unknown_child_and_not_an_unknown_mover(
    index: ResidentIndex,
) -> None:
    activities = ResidentActivities(index)
    env = ActivityEnvironment()
    env.info = dataclasses.replace(env.info, workflow_id="W-birth", activity_id="2")
    with pytest.raises(ApplicationError) as refused:
        await env.run(activities.record_birth, birth(UNKNOWN, (), "W-birth"))
    assert (refused.value.type, refused.value.message) == ("ResidentIndexError", "unknown_resident")
    assert refused.value.non_retryable
    assert await env.run(activities.reminders_for, [UNKNOWN]) == []


TIMEOUT = timedelta(seconds=10)


@workflow.defn(name="ResidentsBirthTest")
class BirthThenMoveWorkflow:
    """Match the child at the parents' address and record the birth, as a birth workflow
    does; then ask, as a move workflow does for its movers, whose reminders they are."""

    @workflow.run
    async def run(
        self, child: PersonDetails, parents: list[str], queue: str
    ) -> tuple[BirthHousehold, list[str]]:
        [matched] = await workflow.execute_activity(
            Activity.MATCH_PEOPLE,
            [child],
            result_type=list[MatchResult],
            task_queue=queue,
            start_to_close_timeout=TIMEOUT,
        )
        assert matched.resident is not None
        household = await workflow.execute_activity(
            Activity.RECORD_BIRTH,
            BirthRecord(
                child=matched.resident,
                parents=tuple(parents),
                date_of_birth=BORN,
                workflow_id=workflow.info().workflow_id,
                step="record_birth",
            ),
            result_type=BirthHousehold,
            task_queue=queue,
            start_to_close_timeout=TIMEOUT,
        )
        reminders = await workflow.execute_activity(
            Activity.REMINDERS_FOR,
            [*parents, matched.resident],
            result_type=list[str],
            task_queue=queue,
            start_to_close_timeout=TIMEOUT,
        )
        return household, reminders


async def test_through_a_worker(
    time_skipping_env: WorkflowEnvironment, index: ResidentIndex
) -> None:
    mother, father = await parents(index)
    tag = uuid.uuid4().hex[:8]
    residents_queue, workflow_queue = f"residents-{tag}", f"workflows-{tag}"
    workflow_id = f"birth-{tag}"
    newborn = person("Wren", "Larkspur", BORN, address=HOME)
    env = time_skipping_env
    async with (
        Worker(env.client, task_queue=residents_queue, activities=ResidentActivities(index).all),
        Worker(
            env.client,
            task_queue=workflow_queue,
            workflows=[BirthThenMoveWorkflow],
            workflow_runner=UnsandboxedWorkflowRunner(),
        ),
    ):
        household, reminders = await env.client.execute_workflow(
            BirthThenMoveWorkflow.run,
            args=[newborn, [mother, father], residents_queue],
            id=workflow_id,
            task_queue=workflow_queue,
        )
    [wren] = [key for key in household.residents if key not in (mother, father)]
    assert household == BirthHousehold(
        address=HOME, residents=tuple(sorted([mother, father, wren])), recorded_by=workflow_id
    )
    assert reminders == [workflow_id]
