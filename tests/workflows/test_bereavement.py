"""BereavementWorkflow in the time-skipping environment, the resident index stood in for by
activities of the same names on its queue: the deceased is matched at their last address and
marked deceased at once, and nothing of theirs is shared."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

from temporalio import activity
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from contracts import from_structured
from contracts.consent import ShareDecision, ShareRequest
from contracts.residents import DeathRecord, MatchResult, PersonDetails, Resident
from contracts.temporal import TaskQueue
from contracts.timeline import Timeline
from tests.support.histories import keep_history
from workflows.bereavement import BereavementWorkflow
from workflows.catalogue import load_catalogue
from workflows.worker import build_worker

EXAMPLE = json.loads(
    (Path(__file__).resolve().parents[2] / "contracts/examples/death-registered.json").read_text()
)
DECEASED = "res_deceased0000000001"


async def test_the_deceased_is_marked_deceased_at_once_and_nothing_is_shared(
    time_skipping_env: WorkflowEnvironment,
) -> None:
    asked: list[PersonDetails] = []
    marked: list[DeathRecord] = []
    decided: list[ShareRequest] = []

    @activity.defn(name="residents.match_people")
    async def match_people(people: list[PersonDetails]) -> list[MatchResult]:
        asked.extend(people)
        return [MatchResult(outcome="matched", resident=DECEASED, candidates=1, rule="nhs_number")]

    @activity.defn(name="residents.mark_deceased")
    async def mark_deceased(death: DeathRecord) -> Resident:
        marked.append(death)
        return Resident(key=death.resident, channels=(), flags=("deceased",))

    @activity.defn(name="decide_share")
    async def decide_share(request: ShareRequest) -> ShareDecision:
        decided.append(request)
        raise AssertionError("nothing is shared about a death yet")

    event = from_structured({**EXAMPLE, "id": str(uuid.uuid4())})
    queue = f"death-{uuid.uuid4().hex}"
    client = time_skipping_env.client
    async with (
        build_worker(client, queue),
        Worker(client, task_queue=TaskQueue.RESIDENTS, activities=[match_people, mark_deceased]),
        Worker(client, task_queue=TaskQueue.CONSENT, activities=[decide_share]),
    ):
        handle = await client.start_workflow(
            BereavementWorkflow.run, event, id=f"death-{event.id}", task_queue=queue
        )
        outcome = await handle.result()
        seen = await handle.query(BereavementWorkflow.timeline, result_type=Timeline)
        await keep_history(handle, "bereavement-marked")

    assert outcome.stage == "complete"
    assert (seen.stage, seen.entries, seen.caseworker_tasks) == ("complete", [], [])
    [person] = asked
    assert person.name.family_name == "Testworth"
    assert person.nhs_number == "9990000034"
    assert person.address is not None
    assert person.address.postcode == "AB4 6LN"  # matched where they last lived
    [death] = marked
    assert (death.resident, death.date_of_death.isoformat()) == (DECEASED, "2025-08-07")
    assert death.workflow_id == f"death-{event.id}"
    assert decided == []


def test_the_catalogue_declares_no_step_for_a_death_until_each_has_its_data() -> None:
    # BereavementWorkflow gives no step its data yet: a death step added to the catalogue
    # before the workflow does would share nothing, so this test says where to start.
    assert load_catalogue().for_type("lifeevents.death.registered.v1") == ()
