"""`household_after_death`: who a death leaves behind at the deceased's address, and which
other workflows recorded a step about the deceased.

Residents get keys written down here (`KEYS`), so the expected survivors, sorted by key,
are written down by hand too.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Callable, Iterator
from datetime import date, timedelta

import pytest
from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.testing import ActivityEnvironment, WorkflowEnvironment
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from contracts.people import PersonName
from contracts.residents import (
    CaseworkerDecision,
    DeathHousehold,
    DeathRecord,
    MoveRecord,
    Resident,
    SupportFlag,
    Survivor,
)
from contracts.temporal import Activity
from services.residents.activities import ResidentActivities
from services.residents.index import MatchRequest, ResidentIndex, ResidentIndexError
from tests.services.residents.support import NHS_A, NHS_B, address, person

DECEASED = "res_1-deceased-000000000"
SPOUSE = "res_2-spouse-00000000000"
LODGER = "res_3-lodger-00000000000"
SUPPORTED = "res_4-supported-00000000"
NEIGHBOUR = "res_5-neighbour-00000000"
DIED_BEFORE = "res_6-died-before-000000"
KEYS = (DECEASED, SPOUSE, LODGER, SUPPORTED, NEIGHBOUR, DIED_BEFORE)

DIED = date(2025, 8, 7)
HOME = address(12, uprn="999000000012")
OLD_HOME = address(3, postcode="AB9 9ZZ")


def keys_in_order(*keys: str) -> Callable[[], str]:
    """The index's key maker, handing out `keys` in order."""
    given: Iterator[str] = iter(keys)
    return lambda: next(given)


def with_keys(index: ResidentIndex, *keys: str) -> ResidentIndex:
    return ResidentIndex(index.store, new_key=keys_in_order(*keys))


def death(workflow_id: str = "wf-death", resident: str = DECEASED) -> DeathRecord:
    return DeathRecord(
        resident=resident, date_of_death=DIED, workflow_id=workflow_id, step="mark_deceased"
    )


def move(keys: tuple[str, ...], workflow_id: str, step: str = "record_move") -> MoveRecord:
    return MoveRecord(
        residents=keys,
        new_address=HOME,
        move_date=date(2025, 3, 1),
        direction="within",
        workflow_id=workflow_id,
        step=step,
    )


async def the_household(index: ResidentIndex) -> None:
    """The deceased and spouse, moved to HOME by workflow W1; a lodger with no date of birth
    and a resident flagged as needing support (by W2) live there; a neighbour lives next
    door; someone who lived at HOME died the year before."""
    index = with_keys(index, *KEYS)
    results = await index.match_people(
        [
            person("Bram", "Vellacott", date(1939, 2, 14), address=OLD_HOME),
            person("Ada", "Vellacott", date(1941, 11, 3), nhs=NHS_A, address=OLD_HOME),
            person("Lorcan", "Tennerby", None, address=HOME),
            # The same postcode and lines, no UPRN: the same address.
            person("Wynne", "Ashgarth", date(1990, 5, 20), address=address(12)),
            person("Nell", "Pardew", date(1950, 1, 1), address=address(14)),
            person("Edwin", "Marlow", date(1920, 1, 1), address=HOME),
        ]
    )
    assert [r.resident for r in results] == list(KEYS)
    await index.record_move(move((DECEASED, SPOUSE), "W1"))
    await index.flag_support(
        SupportFlag(resident=SUPPORTED, reason="vulnerable", workflow_id="W2", step="flag")
    )
    await index.mark_deceased(
        DeathRecord(
            resident=DIED_BEFORE,
            date_of_death=date(2024, 1, 5),
            workflow_id="wf-earlier-death",
            step="mark_deceased",
        )
    )
    # The death workflow marks the deceased at once, then asks who is left.
    await index.mark_deceased(death())


EXPECTED = DeathHousehold(
    address=HOME,
    survivors=(
        Survivor(
            resident=SPOUSE,
            name=PersonName(given_names="Ada", family_name="Vellacott"),
            date_of_birth=date(1941, 11, 3),
            age=83,
            may_need_support=False,
        ),
        Survivor(
            resident=LODGER,
            name=PersonName(given_names="Lorcan", family_name="Tennerby"),
            date_of_birth=None,
            age=None,
            may_need_support=False,
        ),
        Survivor(
            resident=SUPPORTED,
            name=PersonName(given_names="Wynne", family_name="Ashgarth"),
            date_of_birth=date(1990, 5, 20),
            age=35,
            may_need_support=True,
        ),
    ),
    workflows=("W1",),
)


async def test_who_a_death_leaves_behind(index: ResidentIndex) -> None:
    await the_household(index)
    assert await index.household_after_death(death()) == EXPECTED


async def test_it_is_a_query_asked_again_with_the_same_answer(index: ResidentIndex) -> None:
    await the_household(index)
    first = await index.household_after_death(death())
    assert await index.household_after_death(death()) == first
    # Asked by another workflow, the death workflow's own step shows.
    again = await index.household_after_death(death(workflow_id="wf-other"))
    assert again.workflows == ("W1", "wf-death")


async def test_a_survivor_is_named_as_first_recorded(index: ResidentIndex) -> None:
    await the_household(index)
    # The spouse matched again (by NHS number) under a longer given name: the index adds that
    # spelling, and the survivor keeps the name first recorded.
    [again] = await index.match_people(
        [person("Adelaide Mary", "Vellacott", date(1941, 11, 3), nhs=NHS_A)]
    )
    assert (again.outcome, again.resident) == ("matched", SPOUSE)
    household = await index.household_after_death(death())
    assert household.survivors[0].name == PersonName(given_names="Ada", family_name="Vellacott")


async def test_workflows_oldest_first_once_each_without_the_death_workflow(
    index: ResidentIndex,
) -> None:
    await with_keys(index, DECEASED, SPOUSE).match_people(
        [
            person("Bram", "Vellacott", date(1939, 2, 14), nhs=NHS_B, address=OLD_HOME),
            person("Ada", "Vellacott", date(1941, 11, 3), address=OLD_HOME),
        ]
    )
    # A birth workflow matched him (a parent's details) ...
    await index.match_people(
        [person("Bram", "Vellacott", date(1939, 2, 14), nhs=NHS_B)],
        request=MatchRequest(key="request-1", workflow_id="W-match", step="1"),
    )
    # ... a move (two steps of W1, and a retry of the first) ...
    await index.record_move(move((DECEASED, SPOUSE), "W1"))
    await index.record_move(move((DECEASED, SPOUSE), "W1", step="second_move"))
    await index.record_move(move((DECEASED, SPOUSE), "W1"))
    # ... a support flag, a caseworker's link, and W1 again, later ...
    await index.flag_support(
        SupportFlag(resident=DECEASED, reason="bereaved", workflow_id="W2", step="flag")
    )
    await index.resolve_doubtful(
        CaseworkerDecision(
            person=person("Bram", "Vellacott"),
            decision="link",
            resident=DECEASED,
            workflow_id="W3",
            step="caseworker",
        )
    )
    await index.flag_support(
        SupportFlag(resident=DECEASED, reason="bereaved", workflow_id="W1", step="flag")
    )
    # ... and a workflow about the spouse only.
    await index.flag_support(
        SupportFlag(resident=SPOUSE, reason="bereaved", workflow_id="W4", step="flag")
    )
    await index.mark_deceased(death())
    await index.mark_deceased(death())  # a retry
    household = await index.household_after_death(death())
    assert household.workflows == ("W-match", "W1", "W2", "W3")


async def test_a_child_born_after_the_death_has_no_age_on_it(index: ResidentIndex) -> None:
    await with_keys(index, DECEASED, SPOUSE).match_people(
        [
            person("Bram", "Vellacott", date(1985, 2, 14), address=HOME),
            person("Posthumous", "Vellacott", date(2025, 10, 1), address=HOME),
        ]
    )
    household = await index.household_after_death(death())
    assert [(s.resident, s.age) for s in household.survivors] == [(SPOUSE, None)]


async def test_a_deceased_with_no_known_address(index: ResidentIndex) -> None:
    await with_keys(index, DECEASED).match_people([person("Bram", "Vellacott")])
    household = await index.household_after_death(death())
    assert household == DeathHousehold(address=None, survivors=(), workflows=())


async def test_an_unknown_deceased_is_refused(index: ResidentIndex) -> None:
    with pytest.raises(ResidentIndexError) as refused:
        await index.household_after_death(death(resident="res_" + "x" * 22))
    assert refused.value.code == "unknown_resident"


# --- as an activity -----------------------------------------------------------------------------


async def test_the_match_people_activity_notes_its_workflow(index: ResidentIndex) -> None:
    activities = ResidentActivities(with_keys(index, DECEASED))
    env = ActivityEnvironment()
    env.info = dataclasses.replace(env.info, workflow_id="wf-birth", activity_id="3")
    [matched] = await env.run(
        activities.match_people, [person("Bram", "Vellacott", date(1939, 2, 14), address=HOME)]
    )
    assert matched.resident == DECEASED
    household = await env.run(activities.household_after_death, death())
    assert household == DeathHousehold(address=HOME, survivors=(), workflows=("wf-birth",))


# --- through a real worker --------------------------------------------------------------------

TIMEOUT = timedelta(seconds=10)
ONCE_OR_TWICE = RetryPolicy(initial_interval=timedelta(milliseconds=50), maximum_attempts=2)


@workflow.defn(name="ResidentsDeathHouseholdTest")
class DeathHouseholdWorkflow:
    """Mark the deceased, then ask who is left and which other workflows involve them."""

    @workflow.run
    async def run(self, deceased: str, queue: str) -> DeathHousehold:
        record = DeathRecord(
            resident=deceased,
            date_of_death=DIED,
            workflow_id=workflow.info().workflow_id,
            step="mark_deceased",
        )
        await workflow.execute_activity(
            Activity.MARK_DECEASED,
            record,
            result_type=Resident,
            task_queue=queue,
            start_to_close_timeout=TIMEOUT,
            retry_policy=ONCE_OR_TWICE,
        )
        household: DeathHousehold = await workflow.execute_activity(
            Activity.HOUSEHOLD_AFTER_DEATH,
            record.model_copy(update={"step": "household_after_death"}),
            result_type=DeathHousehold,
            task_queue=queue,
            start_to_close_timeout=TIMEOUT,
            retry_policy=ONCE_OR_TWICE,
        )
        return household


async def test_through_a_worker(
    time_skipping_env: WorkflowEnvironment, index: ResidentIndex
) -> None:
    await with_keys(index, DECEASED, SPOUSE).match_people(
        [
            person("Bram", "Vellacott", date(1939, 2, 14), address=OLD_HOME),
            person("Ada", "Vellacott", date(1941, 11, 3), address=OLD_HOME),
        ]
    )
    await index.record_move(move((DECEASED, SPOUSE), "W1"))
    tag = uuid.uuid4().hex[:8]
    residents_queue, workflow_queue = f"residents-{tag}", f"workflows-{tag}"
    env = time_skipping_env
    async with (
        Worker(env.client, task_queue=residents_queue, activities=ResidentActivities(index).all),
        Worker(
            env.client,
            task_queue=workflow_queue,
            workflows=[DeathHouseholdWorkflow],
            workflow_runner=UnsandboxedWorkflowRunner(),
        ),
    ):
        household = await env.client.execute_workflow(
            DeathHouseholdWorkflow.run,
            args=[DECEASED, residents_queue],
            id=f"death-{tag}",
            task_queue=workflow_queue,
        )
    assert household == DeathHousehold(
        address=HOME,
        survivors=(
            Survivor(
                resident=SPOUSE,
                name=PersonName(given_names="Ada", family_name="Vellacott"),
                date_of_birth=date(1941, 11, 3),
                age=83,
            ),
        ),
        workflows=("W1",),
    )
