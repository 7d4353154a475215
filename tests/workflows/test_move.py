"""MoveWorkflow in the time-skipping environment, with every service it calls stood in for by
activities of the same names on the same task queues (the real services have their own
tests; the end-to-end test runs them all)."""

from __future__ import annotations

import json
import uuid
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError
from temporalio.testing import WorkflowEnvironment

from contracts import from_structured
from contracts.residents import DeathRecord, Household
from contracts.timeline import Confirmation, MatchDecision, StepStatus, Timeline
from tests.support.histories import keep_history
from tests.support.standins import Council, running, statuses, timeline, until
from workflows.catalogue import load_catalogue
from workflows.move import MoveWorkflow, mover_data
from workflows.pipeline import CONFIRM_WITHIN

EXAMPLE = json.loads(
    (
        Path(__file__).resolve().parents[2] / "contracts/examples/address-changed-household.json"
    ).read_text()
)


async def start(env: WorkflowEnvironment, task_queue: str, **data: Any) -> WorkflowHandle[Any, Any]:
    event = from_structured(
        {**EXAMPLE, "id": str(uuid.uuid4()), "data": {**EXAMPLE["data"], **data}}
    )
    return await env.client.start_workflow(
        MoveWorkflow.run, event, id=f"move-{event.id}", task_queue=task_queue
    )


PAT, ROBIN = "res_person000000000000", "res_person000000000001"
SAM = ROBIN  # the second mover, whoever they are


def waiting_for_school(seen: Timeline) -> bool:
    return statuses(seen).get("school-admissions") == StepStatus.WAITING_FOR_RESIDENT.value


async def test_every_step_runs_once_the_resident_confirms(
    time_skipping_env: WorkflowEnvironment,
) -> None:
    council = Council()
    async with running(time_skipping_env.client, council) as queue:
        handle = await start(time_skipping_env, queue)
        assert (await until(handle, waiting_for_school)).stage == "waiting_for_resident"
        receipt = await handle.execute_update(
            MoveWorkflow.confirm, Confirmation(step="school-admissions", accept=True)
        )
        assert "Thank you" in receipt.message
        outcome = await handle.result()
        seen = await timeline(handle)  # a query needs a worker, even on a closed workflow
        await keep_history(handle, "move-confirmed-stage-while-waiting")
    assert outcome.stage == "complete"
    assert set(statuses(seen).values()) == {"done"}
    assert not seen.needs_person
    # Each step once (side by side, in whichever order the services took them up).
    assert sorted(a.step for a in council.actions) == [
        "benefits",
        "council-tax",
        "electoral-register",
        "school-admissions",
    ]
    # A decision, a token and a ledger entry per mover per step: Pat and Robin.
    assert len(council.recorded) == 8
    assert [a.residents for a in council.actions] == [(PAT, ROBIN)] * 4
    # The adult is asked, and told what was done; the child is not written to.
    assert sorted((n.template, n.resident) for n in council.notified) == [
        ("move.benefits", PAT),
        ("move.council-tax", PAT),
        ("move.electoral-register", PAT),
        ("move.school-admissions", PAT),
        ("waiting.question", PAT),
    ]
    # Each service received only the categories its step names, each mover's own.
    by_step = {a.step: set(a.shares[1].data) for a in council.actions}
    assert by_step["electoral-register"] == {"identity", "address"}
    assert by_step["school-admissions"] == {"identity", "birth", "address"}


async def test_the_steps_run_side_by_side_and_each_share_goes_gate_action_ledger(
    time_skipping_env: WorkflowEnvironment,
) -> None:
    council = Council()
    async with running(time_skipping_env.client, council) as queue:
        handle = await start(time_skipping_env, queue, movers=EXAMPLE["data"]["movers"][:1])
        assert (await handle.result()).stage == "complete"
        history = await handle.fetch_history()
    # One adult, three steps (no child: no school place): the gate is asked about all three
    # at once, in one workflow task, rather than each step waiting for the one before.
    decisions = [
        e.activity_task_scheduled_event_attributes.workflow_task_completed_event_id
        for e in history.events
        if e.activity_task_scheduled_event_attributes.activity_type.name == "decide_share"
    ]
    assert len(decisions) == 3
    assert len(set(decisions)) == 1
    # Side by side or not, each share is decided, then acted on, then on the ledger.
    tokens = {
        "token-council-tax-" + PAT,
        "token-electoral-services-" + PAT,
        "token-benefits-" + PAT,
    }
    for token in tokens:
        assert [what for what, t in council.share_log if t == token] == [
            "decided",
            "acted",
            "recorded",
        ]
    assert {t for _, t in council.share_log} == tokens


async def test_no_answer_in_time_becomes_a_caseworker_task_and_a_late_answer_is_refused_politely(
    time_skipping_env: WorkflowEnvironment,
) -> None:
    council = Council()
    async with running(time_skipping_env.client, council) as queue:
        handle = await start(time_skipping_env, queue)
        await until(handle, waiting_for_school)
        await time_skipping_env.sleep(CONFIRM_WITHIN + timedelta(hours=1))
        seen = await until(handle, lambda t: t.stage == "needs_person")
        assert statuses(seen)["school-admissions"] == "needs_person:no_answer_in_time"
        assert seen.caseworker_tasks == ["confirm:school-admissions"]
        # The rest of the plan did not wait for the resident.
        assert statuses(seen)["benefits"] == "done"

        with pytest.raises(WorkflowUpdateFailedError) as refused:
            await handle.execute_update(
                MoveWorkflow.confirm, Confirmation(step="school-admissions", accept=True)
            )
        assert "time to answer has passed" in str(refused.value.cause)
        assert "school-admissions" not in [a.step for a in council.actions]

        await handle.execute_update(MoveWorkflow.resolve_task, "confirm:school-admissions")
        assert (await handle.result()).stage == "complete"
        await keep_history(handle, "move-no-answer")


async def test_a_denied_share_skips_its_step_with_the_reason_and_the_plan_goes_on(
    time_skipping_env: WorkflowEnvironment,
) -> None:
    council = Council(denied={"benefits": "objection_upheld"})
    async with running(time_skipping_env.client, council) as queue:
        handle = await start(time_skipping_env, queue, direction="out_of", new_address=None)
        outcome = await handle.result()
        seen = statuses(await timeline(handle))
        await keep_history(handle, "move-share-denied")
    assert outcome.stage == "complete"
    assert seen["benefits"] == "skipped:objection_upheld"
    assert seen["school-admissions"] == "skipped:direction"
    assert seen["council-tax"] == "done"
    assert "benefits" not in [a.step for a in council.actions]


async def test_one_movers_objection_stops_only_their_share(
    time_skipping_env: WorkflowEnvironment,
) -> None:
    council = Council(objections={("benefits", SAM)})
    adults = [
        {
            "name": {"given_names": "Pat", "family_name": "Placeholder"},
            "date_of_birth": "1980-01-31",
        },
        {
            "name": {"given_names": "Sam", "family_name": "Placeholder"},
            "date_of_birth": "1982-03-02",
        },
    ]
    async with running(time_skipping_env.client, council) as queue:
        handle = await start(
            time_skipping_env, queue, direction="out_of", new_address=None, movers=adults
        )
        await handle.result()
        seen = await timeline(handle)
        await keep_history(handle, "move-one-mover-objects")
    benefits = next(e for e in seen.entries if e.step == "benefits")
    assert benefits.status == StepStatus.DONE
    assert [(p.resident, p.status, p.reason) for p in benefits.people] == [
        (PAT, StepStatus.DONE, ""),
        (SAM, StepStatus.SKIPPED, "objection_recorded"),
    ]
    acted = {a.step: a for a in council.actions}
    assert acted["benefits"].residents == (PAT,)
    assert acted["council-tax"].residents == (PAT, SAM)
    assert ("move.benefits", SAM) not in [(n.template, n.resident) for n in council.notified]
    assert ("move.benefits", PAT) in [(n.template, n.resident) for n in council.notified]


async def test_a_declined_offer_is_skipped(time_skipping_env: WorkflowEnvironment) -> None:
    council = Council()
    async with running(time_skipping_env.client, council) as queue:
        handle = await start(time_skipping_env, queue)
        await until(handle, waiting_for_school)
        await handle.execute_update(
            MoveWorkflow.confirm, Confirmation(step="school-admissions", accept=False)
        )
        await handle.result()
        seen = statuses(await timeline(handle))
    assert seen["school-admissions"] == "skipped:declined_by_resident"


async def test_a_doubtful_match_waits_for_a_caseworker(
    time_skipping_env: WorkflowEnvironment,
) -> None:
    council = Council(doubtful={1})
    async with running(time_skipping_env.client, council) as queue:
        handle = await start(time_skipping_env, queue, direction="out_of", new_address=None)
        seen = await until(handle, lambda t: t.needs_person)
        assert seen.caseworker_tasks == ["match:1"]
        assert council.actions == []  # nothing is shared about someone we cannot name
        with pytest.raises(WorkflowUpdateFailedError):
            await handle.execute_update(
                MoveWorkflow.decide_match, MatchDecision(mover=1, decision="link")
            )
        await handle.execute_update(
            MoveWorkflow.decide_match,
            MatchDecision(mover=1, decision="link", resident="res_existing00000001"),
        )
        assert (await handle.result()).stage == "complete"
        await keep_history(handle, "move-doubtful-match")
    assert council.actions[0].residents == ("res_person000000000000", "res_existing00000001")


def test_a_move_into_a_hall_of_residence_shares_how_many_adults_live_there() -> None:
    # Found by the moves benchmark: a hundred movers into one dwelling once stopped every
    # later move's workflow on a bound of 50 adults.
    event = from_structured(EXAMPLE)
    [step] = [s for s in load_catalogue().for_type(event.type) if s.name == "council-tax"]
    hall = Household(address=event.data.new_address, residents=(PAT,), other_adults=400)
    shared = mover_data(step, event.data, event.data.movers[0], hall)
    assert shared["household"] == {"age": 45, "adult": None, "other_adults": 400}


async def test_a_resident_the_notification_service_knows_died_is_not_told_and_it_says_so(
    time_skipping_env: WorkflowEnvironment,
) -> None:
    """No word of the death reached this workflow, but the notification service has it: the
    message is refused, and the timeline says why Pat was not told."""
    council = Council()
    council.deaths["notifications"] = [
        DeathRecord(
            resident=PAT, date_of_death=date(2025, 9, 1), workflow_id="death-1", step="index"
        )
    ]
    async with running(time_skipping_env.client, council) as queue:
        handle = await start(time_skipping_env, queue, movers=[EXAMPLE["data"]["movers"][0]])
        await handle.result()
        seen = await timeline(handle)
    council_tax = next(e for e in seen.entries if e.step == "council-tax")
    assert [(p.resident, p.status, p.reason) for p in council_tax.people] == [
        (PAT, StepStatus.DONE, "not_told_deceased")
    ]
    assert [n.resident for n in council.refused] == [PAT, PAT, PAT]
    assert council.notified == []
