"""The index as Temporal activities, called by name from a workflow through a real worker on
the time-skipping server, and at unit level with `ActivityEnvironment`."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import date, timedelta

import pytest
from temporalio import activity, workflow
from temporalio.client import WorkflowFailureError
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError
from temporalio.testing import ActivityEnvironment, WorkflowEnvironment
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from contracts.addresses import UkAddress
from contracts.residents import (
    ContactPlan,
    DeathRecord,
    Household,
    MatchResult,
    MoveRecord,
    PersonDetails,
    Resident,
)
from contracts.temporal import Activity
from services.residents.activities import ResidentActivities
from services.residents.index import ResidentIndex
from tests.services.residents.support import NHS_A, address, person

TIMEOUT = timedelta(seconds=10)


@workflow.defn(name="ResidentsScenarioTest")
class ScenarioWorkflow:
    """Match a household, move it, one of them dies: what may the council send to whom?"""

    @workflow.run
    async def run(
        self, people: list[PersonDetails], new_home: UkAddress, queue: str
    ) -> tuple[list[MatchResult], Household, list[ContactPlan]]:
        matched = await workflow.execute_activity(
            Activity.MATCH_PEOPLE,
            people,
            result_type=list[MatchResult],
            task_queue=queue,
            start_to_close_timeout=TIMEOUT,
        )
        keys = tuple(r.resident for r in matched if r.resident is not None)
        household = await workflow.execute_activity(
            Activity.RECORD_MOVE,
            MoveRecord(
                residents=keys,
                new_address=new_home,
                move_date=date(2026, 3, 1),
                direction="within",
                workflow_id=workflow.info().workflow_id,
                step="record_move",
            ),
            result_type=Household,
            task_queue=queue,
            start_to_close_timeout=TIMEOUT,
        )
        await workflow.execute_activity(
            Activity.MARK_DECEASED,
            DeathRecord(
                resident=keys[0],
                date_of_death=date(2026, 8, 7),
                workflow_id=workflow.info().workflow_id,
                step="mark_deceased",
            ),
            result_type=Resident,
            task_queue=queue,
            start_to_close_timeout=TIMEOUT,
        )
        plans = [
            await workflow.execute_activity(
                Activity.CONTACT_FOR,
                key,
                result_type=ContactPlan,
                task_queue=queue,
                start_to_close_timeout=TIMEOUT,
            )
            for key in keys
        ]
        return matched, household, plans


@workflow.defn(name="ResidentsMatchOnceTest")
class MatchWorkflow:
    @workflow.run
    async def run(self, people: list[PersonDetails], queue: str) -> list[MatchResult]:
        results: list[MatchResult] = await workflow.execute_activity(
            Activity.MATCH_PEOPLE,
            people,
            result_type=list[MatchResult],
            task_queue=queue,
            start_to_close_timeout=TIMEOUT,
            retry_policy=RetryPolicy(
                initial_interval=timedelta(milliseconds=50), maximum_attempts=2
            ),
        )
        return results


@workflow.defn(name="ResidentsContactTest")
class ContactWorkflow:
    @workflow.run
    async def run(self, resident: str, queue: str) -> ContactPlan:
        plan: ContactPlan = await workflow.execute_activity(
            Activity.CONTACT_FOR,
            resident,
            result_type=ContactPlan,
            task_queue=queue,
            start_to_close_timeout=TIMEOUT,
        )
        return plan


def queues() -> tuple[str, str]:
    tag = uuid.uuid4().hex[:8]
    return f"residents-{tag}", f"workflows-{tag}"


def workflow_worker(env: WorkflowEnvironment, queue: str, *workflows: type) -> Worker:
    return Worker(
        env.client,
        task_queue=queue,
        workflows=list(workflows),
        workflow_runner=UnsandboxedWorkflowRunner(),
    )


async def test_a_workflow_matches_moves_and_never_addresses_the_deceased(
    time_skipping_env: WorkflowEnvironment, index: ResidentIndex
) -> None:
    residents_queue, workflow_queue = queues()
    people = [
        person("Ada", "Vellacott", date(1941, 11, 3), nhs=NHS_A, address=address(1)),
        person("Bram", "Vellacott", date(1939, 2, 14), email="bram@example.org"),
    ]
    new_home = address(44, postcode="AB2 4FG", uprn="999000000044")
    env = time_skipping_env
    async with (
        Worker(env.client, task_queue=residents_queue, activities=ResidentActivities(index).all),
        workflow_worker(env, workflow_queue, ScenarioWorkflow),
    ):
        matched, household, plans = await env.client.execute_workflow(
            ScenarioWorkflow.run,
            args=[people, new_home, residents_queue],
            id=f"scenario-{uuid.uuid4().hex}",
            task_queue=workflow_queue,
        )
    assert [r.outcome for r in matched] == ["created", "created"]
    ada, bram = (r.resident for r in matched)
    assert household == Household(address=new_home, residents=tuple(sorted([ada, bram])))
    assert (plans[0].deceased, plans[0].channels) == (True, ())
    assert (plans[1].deceased, plans[1].channels) == (False, ("email", "letter"))


async def test_a_retry_after_the_commit_gets_the_first_answer(
    time_skipping_env: WorkflowEnvironment, index: ResidentIndex
) -> None:
    """The first attempt commits, then its answer is lost (the worker dies, the network
    fails): the retry must not create a second resident, nor call the person doubtful."""
    real = ResidentActivities(index)

    @activity.defn(name=Activity.MATCH_PEOPLE)
    async def loses_its_first_answer(people: list[PersonDetails]) -> list[MatchResult]:
        results = await real.match_people(people)
        if activity.info().attempt == 1:
            raise RuntimeError("answer lost")
        return results

    residents_queue, workflow_queue = queues()
    env = time_skipping_env
    async with (
        Worker(env.client, task_queue=residents_queue, activities=[loses_its_first_answer]),
        workflow_worker(env, workflow_queue, MatchWorkflow),
    ):
        # A name alone: matching this person again by the rule would be doubtful.
        [result] = await env.client.execute_workflow(
            MatchWorkflow.run,
            args=[[person(None, "Nonesuch")], residents_queue],
            id=f"match-{uuid.uuid4().hex}",
            task_queue=workflow_queue,
        )
    assert (result.outcome, result.rule) == ("created", "no_candidate")
    assert await index.keys() == [result.resident]


async def test_an_unknown_resident_fails_the_activity_without_retrying(
    time_skipping_env: WorkflowEnvironment, index: ResidentIndex
) -> None:
    residents_queue, workflow_queue = queues()
    env = time_skipping_env
    async with (
        Worker(env.client, task_queue=residents_queue, activities=ResidentActivities(index).all),
        workflow_worker(env, workflow_queue, ContactWorkflow),
    ):
        with pytest.raises(WorkflowFailureError) as failed:
            await env.client.execute_workflow(
                ContactWorkflow.run,
                args=["res_" + "z" * 22, residents_queue],
                id=f"contact-{uuid.uuid4().hex}",
                task_queue=workflow_queue,
            )
    cause = failed.value.cause
    assert isinstance(cause, ActivityError)
    assert isinstance(cause.cause, ApplicationError)
    assert (cause.cause.type, cause.cause.message) == ("ResidentIndexError", "unknown_resident")
    assert cause.cause.non_retryable


async def test_match_people_remembers_its_answer_per_activity(index: ResidentIndex) -> None:
    activities = ResidentActivities(index)
    someone = [person("Ottilie", "Farrowdene")]
    env = ActivityEnvironment()
    env.info = dataclasses.replace(env.info, workflow_id="wf-1", activity_id="1")
    [first] = await env.run(activities.match_people, someone)
    env.info = dataclasses.replace(env.info, attempt=2)
    [retried] = await env.run(activities.match_people, someone)
    env.info = dataclasses.replace(env.info, activity_id="2", attempt=1)
    [another] = await env.run(activities.match_people, someone)
    assert first.outcome == "created"
    assert retried == first
    assert (another.outcome, another.rule) == ("doubtful", "name_without_date_of_birth")
