"""One life event, however many systems report it: a move and a death reported again by
another source do nothing twice, a report that adds a mover acts for that mover alone, and
one that contradicts the first becomes a caseworker task. Time-skipping environment, every
service stood in for; the stand-in index compares reports with the index's own rule."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from contracts import from_structured
from contracts.events.common import EventReference
from contracts.timeline import AlsoReported, Confirmation, Outcome, StepStatus
from tests.support.histories import keep_history
from tests.support.standins import Council, running, statuses, timeline, until
from workflows.bereavement import BereavementWorkflow
from workflows.move import MoveWorkflow

EXAMPLES = Path(__file__).resolve().parents[2] / "contracts" / "examples"
MOVE = json.loads((EXAMPLES / "address-changed-household.json").read_text())
DEATH = json.loads((EXAMPLES / "death-registered.json").read_text())

COUNCIL_TAX, HOUSING = "/council-tax/exampleshire", "/housing/exampleshire"
PAT, ROBIN, ALEX = (f"res_person{i:012d}" for i in range(3))
MOVE_STEPS = ["council-tax", "electoral-register", "school-admissions", "benefits"]


async def report(
    env: WorkflowEnvironment, queue: str, example: dict[str, Any], source: str, **data: Any
) -> WorkflowHandle[Any, Any]:
    event = from_structured(
        {
            **example,
            "source": source,
            "id": str(uuid.uuid4()),
            "data": {**example["data"], **data},
        }
    )
    workflow = MoveWorkflow if example is MOVE else BereavementWorkflow
    return await env.client.start_workflow(
        workflow.run, event, id=f"report-{event.id}", task_queue=queue
    )


def ref(handle: WorkflowHandle[Any, Any], source: str) -> EventReference:
    return EventReference(source=source, id=handle.id.removeprefix("report-"))


async def moved(handle: WorkflowHandle[Any, Any]) -> Outcome:
    """The move's outcome, once the family has said yes to the school place."""
    await until(handle, lambda t: statuses(t).get("school-admissions") == "waiting_for_resident")
    await handle.execute_update(
        MoveWorkflow.confirm, Confirmation(step="school-admissions", accept=True)
    )
    outcome: Outcome = await handle.result()
    return outcome


async def test_the_same_move_from_another_source_does_nothing_twice(
    time_skipping_env: WorkflowEnvironment,
) -> None:
    council = Council(compare_reports=True)
    async with running(time_skipping_env.client, council) as queue:
        first = await report(time_skipping_env, queue, MOVE, COUNCIL_TAX)
        await until(first, lambda t: t.stage == "waiting_for_resident")
        # The second report comes while the first waits for the family's answer.
        second = await report(time_skipping_env, queue, MOVE, HOUSING)
        merged: Outcome = await second.result()
        seen = await timeline(second)
        waiting = await until(first, lambda t: bool(t.also_reported))
        assert (await moved(first)).stage == "complete"
        await keep_history(first, "move-also-reported")
        await keep_history(second, "move-merged")
    assert (merged.stage, merged.merged_into) == ("merged", ref(first, COUNCIL_TAX))
    assert statuses(seen) == {
        "same-event": "skipped:already_handled",
        **{step: "skipped:already_handled" for step in MOVE_STEPS},
    }
    assert {e.references["handled_by"] for e in seen.entries} == {first.id}
    assert waiting.also_reported == [
        AlsoReported(event=ref(second, HOUSING), workflow_id=second.id, added=())
    ]
    # Each service acted once, for the first report; nobody was matched into a second move.
    assert sorted(a.step for a in council.actions) == sorted(MOVE_STEPS)
    assert {a.workflow_id for a in council.actions} == {first.id}
    assert sorted(n.template for n in council.notified) == [
        "move.benefits",
        "move.council-tax",
        "move.electoral-register",
        "move.school-admissions",
        "waiting.question",
    ]


async def test_a_report_that_adds_a_mover_acts_for_that_mover_alone(
    time_skipping_env: WorkflowEnvironment,
) -> None:
    council = Council(compare_reports=True)
    alex = {
        "name": {"given_names": "Alex", "family_name": "Placeholder"},
        "date_of_birth": "1979-03-02",
    }
    async with running(time_skipping_env.client, council) as queue:
        first = await report(time_skipping_env, queue, MOVE, COUNCIL_TAX)
        await moved(first)
        before = len(council.actions)
        second = await report(
            time_skipping_env, queue, MOVE, HOUSING, movers=[*MOVE["data"]["movers"], alex]
        )
        await until(second, lambda t: t.stage in {"waiting_for_resident", "merged"})
        if (await timeline(second)).stage == "waiting_for_resident":
            await second.execute_update(
                MoveWorkflow.confirm, Confirmation(step="school-admissions", accept=True)
            )
        merged: Outcome = await second.result()
        seen = await timeline(second)
    assert (merged.stage, merged.merged_into) == ("merged", ref(first, COUNCIL_TAX))
    added = council.actions[before:]
    assert {a.workflow_id for a in added} == {second.id}
    assert {a.residents for a in added} == {(ALEX,)}
    assert statuses(seen)["council-tax"] == "done"
    assert statuses(seen)["same-event"] == "skipped:already_handled"


async def test_a_move_to_another_address_is_a_caseworker_task_not_an_action(
    time_skipping_env: WorkflowEnvironment,
) -> None:
    council = Council(compare_reports=True)
    elsewhere = {**MOVE["data"]["new_address"], "uprn": "999000000045"}
    async with running(time_skipping_env.client, council) as queue:
        first = await report(time_skipping_env, queue, MOVE, COUNCIL_TAX)
        await moved(first)
        before = len(council.actions)
        second = await report(time_skipping_env, queue, MOVE, HOUSING, new_address=elsewhere)
        waiting = await until(second, lambda t: t.needs_person)
        await second.execute_update(MoveWorkflow.resolve_task, f"contradiction:{first.id}")
        outcome: Outcome = await second.result()
        await keep_history(second, "move-contradicted")
    assert waiting.caseworker_tasks == [f"contradiction:{first.id}"]
    assert waiting.stage == "needs_person"
    report_entry = next(e for e in waiting.entries if e.step == "same-event")
    assert (report_entry.reason, report_entry.references["differs"]) == (
        "contradicts_earlier_report",
        "new_address",
    )
    assert (outcome.stage, outcome.merged_into) == ("contradicted", ref(first, COUNCIL_TAX))
    assert len(council.actions) == before


async def test_the_same_death_from_another_source_is_recorded_once(
    time_skipping_env: WorkflowEnvironment,
) -> None:
    council = Council(compare_reports=True)
    async with running(time_skipping_env.client, council) as queue:
        first = await report(time_skipping_env, queue, DEATH, "/register-office/gro")
        await until(
            first, lambda t: t.stage in {"waiting_for_resident", "needs_person", "complete"}
        )
        second = await report(time_skipping_env, queue, DEATH, "/hospital/exampleshire")
        merged: Outcome = await second.result()
        other_date = await report(
            time_skipping_env,
            queue,
            DEATH,
            "/coroner/exampleshire",
            deceased={**DEATH["data"]["deceased"], "date_of_death": "2025-08-01"},
        )
        contradicting = await until(other_date, lambda t: t.needs_person)
    assert (merged.stage, merged.merged_into) == ("merged", ref(first, "/register-office/gro"))
    # The index, the gate and the notification service were told of the death once.
    assert {where: len(records) for where, records in council.deaths.items()} == {
        "residents": 1,
        "consent": 1,
        "notifications": 1,
    }
    assert {a.workflow_id for a in council.actions} <= {first.id}
    assert contradicting.caseworker_tasks == [f"contradiction:{first.id}"]
    assert StepStatus.SKIPPED in {e.status for e in contradicting.entries}
