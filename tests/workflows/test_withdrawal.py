"""A source takes back a life event: everything done because of it is undone, last first,
through the gate as it was done; what cannot be undone goes to a caseworker; each resident
told anything gets one apology. A withdrawal that comes first is held, and the event then
starts nothing. Time-skipping environment, every service stood in for."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import WorkflowHandle
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.testing import WorkflowEnvironment

from contracts import CloudEvent, from_structured
from contracts.people import PersonName
from contracts.residents import Survivor
from contracts.temporal import workflow_id_for
from contracts.timeline import Confirmation, EventRecord, Outcome
from tests.support.histories import keep_history
from tests.support.standins import (
    Council,
    running,
    start_as_the_orchestrator,
    statuses,
    timeline,
    until,
)
from workflows.amendment import APOLOGY_TEMPLATE, WithdrawalWorkflow
from workflows.bereavement import BereavementWorkflow
from workflows.move import MoveWorkflow

EXAMPLES = Path(__file__).resolve().parents[2] / "contracts" / "examples"
DEATH = json.loads((EXAMPLES / "death-registered.json").read_text())
MOVE = json.loads((EXAMPLES / "address-changed-household.json").read_text())
WITHDRAWN = json.loads((EXAMPLES / "event-withdrawn.json").read_text())

DECEASED, SPOUSE, EXECUTOR = (f"res_person{i:012d}" for i in range(3))
PAT, ROBIN = (f"res_person{i:012d}" for i in range(2))


def event(example: dict[str, Any], **data: Any) -> Any:
    return from_structured(
        {**example, "id": str(uuid.uuid4()), "data": {**example["data"], **data}}
    )


async def start(
    env: WorkflowEnvironment, queue: str, workflow: Any, life_event: CloudEvent[Any]
) -> WorkflowHandle[Any, Any]:
    return await start_as_the_orchestrator(env.client, queue, workflow, life_event)


async def withdraw(
    env: WorkflowEnvironment, queue: str, original: Any, reason: str = "entered_in_error"
) -> WorkflowHandle[Any, Any]:
    withdrawal = from_structured(
        {
            **WITHDRAWN,
            "id": str(uuid.uuid4()),
            "source": original.source,
            "data": {
                "withdraws": {"source": original.source, "id": original.id},
                "withdrawn_type": original.type,
                "reason": reason,
            },
        }
    )
    return await start(env, queue, WithdrawalWorkflow, withdrawal)


def spouse(age: int) -> Survivor:
    return Survivor(
        resident=SPOUSE,
        name=PersonName(given_names="Madeup Mary", family_name="Testworth"),
        age=age,
    )


async def test_a_completed_bereavement_withdrawn_is_undone_last_first_with_one_apology_each(
    time_skipping_env: WorkflowEnvironment,
) -> None:
    council = Council(survivors=(spouse(65),))
    env = time_skipping_env
    async with running(env.client, council) as queue:
        death = event(DEATH)
        original = await start(env, queue, BereavementWorkflow, death)
        await until(
            original, lambda t: statuses(t).get("council-tax-discount") == "waiting_for_resident"
        )
        await original.execute_update(
            BereavementWorkflow.confirm, Confirmation(step="council-tax-discount", accept=True)
        )
        assert (await original.result()).stage == "complete"
        record: EventRecord = await original.query("record", result_type=EventRecord)
        acted = [a.step for a in council.actions]
        decided_before = len(council.decided)

        handle = await withdraw(env, queue, death)
        waiting = await until(handle, lambda t: t.stage == "needs_person")
        # The letters went out by post (the stand-in index knows only letters), and an
        # organisation outside the council cannot be untold: a caseworker has both.
        assert sorted(waiting.caseworker_tasks) == sorted(
            [
                "letters-posted",
                "undo-tell-dwp",
                "undo-tell-hmrc",
                "undo-tell-hm-passport-office",
                "undo-tell-dvla",
            ]
        )
        for task in waiting.caseworker_tasks:
            await handle.execute_update(WithdrawalWorkflow.resolve_task, task)
        outcome: Outcome = await handle.result()
        seen = await timeline(handle)
        await keep_history(handle, "withdrawal-of-a-bereavement")

    assert outcome.stage == "complete"
    # Every step a service acted on, undone last first, each for its residents: the answered
    # discount (done after the rest) first; the steps done side by side, in any order.
    assert sorted(u.step for u in council.undone) == sorted(acted)
    assert acted[-1] == "council-tax-discount"
    assert council.undone[0].step == "council-tax-discount"
    assert [u.workflow_id for u in council.undone] == [original.id] * len(acted)
    by_step = {d.step: d for d in record.done}
    for undo in council.undone:
        assert set(undo.residents) == set(by_step[undo.step].shared)
        assert all(share.data == {} for share in undo.shares)
    # Through the gate as the actions went: one decision per resident per step, reversing.
    compensations = council.decided[decided_before:]
    assert all(d.reverses for d in compensations)
    assert len(compensations) == sum(len(d.shared) for d in record.done)
    assert {(d.purpose, d.recipient) for d in compensations} == {
        (d.purpose, d.recipient) for d in record.done
    }
    # The platform's own records of the death, undone: the deceased is alive again to it.
    assert [(name, r.workflow_id) for name, r in council.records_undone] == [
        ("residents.undo_workflow", original.id),
        ("undo_death", original.id),
        ("notifications.undo_death", original.id),
    ]
    assert council.dead == set()
    # One apology each: the spouse and the executor who were written to, and the man
    # wrongly recorded as dead.
    apologies = [n.resident for n in council.notified if n.template == APOLOGY_TEMPLATE]
    assert sorted(apologies) == sorted([SPOUSE, EXECUTOR, DECEASED])
    assert statuses(seen)["apology"] == "done"
    assert statuses(seen)["undo-council-tax"] == "done"


async def test_a_move_withdrawn_while_it_waits_stops_and_is_undone(
    time_skipping_env: WorkflowEnvironment,
) -> None:
    council = Council()
    env = time_skipping_env
    async with running(env.client, council) as queue:
        move = event(MOVE)
        original = await start(env, queue, MoveWorkflow, move)
        await until(
            original,
            lambda t: (
                t.stage == "waiting_for_resident" and list(statuses(t).values()).count("done") == 3
            ),
        )
        acted = [a.step for a in council.actions]
        handle = await withdraw(env, queue, move, reason="wrong_person")
        stopped: Outcome = await original.result()
        seen = await timeline(original)
        await keep_history(original, "move-withdrawn-while-waiting")
        waiting = await until(handle, lambda t: t.stage == "needs_person")
        assert waiting.caseworker_tasks == ["letters-posted"]
        await handle.execute_update(WithdrawalWorkflow.resolve_task, "letters-posted")
        await handle.result()
    assert stopped.stage == "withdrawn"
    assert statuses(seen)["school-admissions"] == "skipped:withdrawn"
    # What waited on nobody was done, side by side, while the school place waited: all of
    # it is undone.
    assert sorted(acted) == ["benefits", "council-tax", "electoral-register"]
    assert sorted(u.step for u in council.undone) == sorted(acted)
    # The school place was never offered: nothing of it to undo, nobody asked again.
    assert "school-admissions" not in [a.step for a in council.actions]
    apologies = [n.resident for n in council.notified if n.template == APOLOGY_TEMPLATE]
    assert apologies == [PAT]  # the adult who was told; the child was never written to


async def test_a_withdrawal_that_comes_first_is_held_and_the_event_then_starts_nothing(
    time_skipping_env: WorkflowEnvironment,
) -> None:
    council = Council()
    env = time_skipping_env
    async with running(env.client, council) as queue:
        move = event(MOVE)
        handle = await withdraw(env, queue, move)
        held: Outcome = await handle.result()
        seen = await timeline(handle)
        await keep_history(handle, "withdrawal-held")
        with pytest.raises(WorkflowAlreadyStartedError):
            await start(env, queue, MoveWorkflow, move)
        placeholder = await env.client.get_workflow_handle(
            workflow_id_for(move.source, move.id), result_type=Outcome
        ).result()
    assert held.stage == "held"
    assert statuses(seen) == {"held": "done"}
    assert (placeholder.stage, placeholder.id, placeholder.type) == (
        "withdrawn",
        move.id,
        move.type,
    )
    assert (council.actions, council.undone, council.notified) == ([], [], [])


async def test_withdrawing_what_another_source_also_reported_asks_a_person(
    time_skipping_env: WorkflowEnvironment,
) -> None:
    council = Council(compare_reports=True)
    env = time_skipping_env
    async with running(env.client, council) as queue:
        move = event(MOVE)
        first = await start(env, queue, MoveWorkflow, move)
        await until(first, lambda t: t.stage == "waiting_for_resident")
        # Housing reports the same move while council tax's waits for the family's answer.
        again = from_structured({**MOVE, "id": str(uuid.uuid4()), "source": "/housing/ex"})
        assert (await (await start(env, queue, MoveWorkflow, again)).result()).stage == "merged"
        await until(first, lambda t: bool(t.also_reported))
        handle = await withdraw(env, queue, move)
        waiting = await until(handle, lambda t: t.stage == "needs_person")
        for task in waiting.caseworker_tasks:
            await handle.execute_update(WithdrawalWorkflow.resolve_task, task)
        await handle.result()
    # Council tax took its report back; housing did not: a person finds out which is right.
    assert "also-reported" in waiting.caseworker_tasks
    entry = next(e for e in waiting.entries if e.step == "also-reported")
    assert entry.reason == "reported_by_another_source"
