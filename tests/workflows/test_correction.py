"""A source puts right a life event it sent: the event's workflow stops, and runs again on
the corrected facts, superseding the run it stopped. A step whose data is unchanged stands;
a changed one is undone (through the gate, the service's undo, the ledger) and done again;
the residents' answers stand. A correction that comes first is acted on as the event, which
then starts nothing. Time-skipping environment, every service stood in for."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import WorkflowHandle
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.testing import WorkflowEnvironment

from contracts import CloudEvent, from_structured
from contracts.temporal import corrected_id, workflow_id_for
from contracts.timeline import Confirmation, Outcome, Timeline
from tests.support.histories import keep_history
from tests.support.standins import (
    Council,
    running,
    start_as_the_orchestrator,
    statuses,
    timeline,
    until,
)
from tests.support.time_skipping import time_skipping
from workflows.amendment import CorrectionWorkflow
from workflows.birth import BirthWorkflow
from workflows.move import MoveWorkflow

EXAMPLES = Path(__file__).resolve().parents[2] / "contracts" / "examples"
MOVE = json.loads((EXAMPLES / "address-changed-household.json").read_text())
BIRTH = json.loads((EXAMPLES / "birth-registered.json").read_text())
CORRECTED = json.loads((EXAMPLES / "event-corrected.json").read_text())
MOVE_STEPS = ["council-tax", "electoral-register", "school-admissions", "benefits"]
DATED = [
    "two-year-old-funding",
    "three-year-old-entitlement",
    "reception-window-opens",
    "reception-window-closing",
]


@pytest.fixture
async def time_skipping_env() -> AsyncIterator[WorkflowEnvironment]:
    # A server of its own per test: a birth left waiting years ahead would keep a shared
    # one from skipping time for later tests (see tests/workflows/test_birth.py).
    async with time_skipping() as env:
        yield env


def event(example: dict[str, Any], **data: Any) -> CloudEvent[Any]:
    return from_structured(
        {**example, "id": str(uuid.uuid4()), "data": {**example["data"], **data}}
    )


def correction(original: CloudEvent[Any], **data: Any) -> CloudEvent[Any]:
    return from_structured(
        {
            **CORRECTED,
            "id": str(uuid.uuid4()),
            "source": original.source,
            "data": {
                "corrects": {"source": original.source, "id": original.id},
                "reason": "wrong_date",
                "corrected": {
                    "type": original.type,
                    "data": {**original.data.model_dump(mode="json", exclude_none=True), **data},
                },
            },
        }
    )


async def start(
    env: WorkflowEnvironment, queue: str, workflow: Any, life_event: CloudEvent[Any]
) -> WorkflowHandle[Any, Any]:
    return await start_as_the_orchestrator(env.client, queue, workflow, life_event)


async def moved(handle: WorkflowHandle[Any, Any]) -> None:
    await until(handle, lambda t: statuses(t).get("school-admissions") == "waiting_for_resident")
    await handle.execute_update(
        MoveWorkflow.confirm, Confirmation(step="school-admissions", accept=True)
    )
    await handle.result()


async def corrected(
    env: WorkflowEnvironment,
    queue: str,
    original: CloudEvent[Any],
    keep: str | None = None,
    **data: Any,
) -> tuple[Outcome, WorkflowHandle[Any, Any]]:
    """The correction's outcome, and the run it started on the corrected facts (the
    correction's history kept as `keep`, when recording)."""
    fix = correction(original, **data)
    handle = await start(env, queue, CorrectionWorkflow, fix)
    outcome: Outcome = await handle.result()
    if keep is not None:
        await keep_history(handle, keep)
    run = corrected_id(workflow_id_for(original.source, original.id), 1)
    return outcome, env.client.get_workflow_handle(run)


async def test_a_moves_date_corrected_undoes_and_redoes_every_step_and_asks_nobody_again(
    time_skipping_env: WorkflowEnvironment,
) -> None:
    council = Council()
    env = time_skipping_env
    async with running(env.client, council) as queue:
        move = event(MOVE)
        await moved(await start(env, queue, MoveWorkflow, move))
        first = list(council.actions)
        outcome, redo = await corrected(
            env, queue, move, "correction-of-a-move", move_date="2025-10-11"
        )
        await redo.result()
        seen = await timeline(redo)
        await keep_history(redo, "move-corrected-redone")
    assert outcome.stage == "complete"
    original = workflow_id_for(move.source, move.id)
    # Every step shares the move's date: each is undone, then done again on the new one.
    assert sorted((u.workflow_id, u.step) for u in council.undone) == [
        (original, step) for step in sorted(MOVE_STEPS)
    ]
    again = council.actions[len(first) :]
    assert sorted((a.workflow_id, a.step) for a in again) == [
        (redo.id, step) for step in sorted(MOVE_STEPS)
    ]
    # Each share: done, then undone, then done again, each time gate → service → ledger.
    # (The stand-ins' tokens name the recipient and the resident, so one per step here.)
    for token in {t for _, t in council.share_log}:
        assert [what for what, t in council.share_log if t == token] == [
            *("decided", "acted", "recorded"),
            *("decided", "undone", "recorded"),
            *("decided", "acted", "recorded"),
        ]
    for action in again:
        for share in action.shares:
            if "address" in share.data:
                assert share.data["address"]["move_date"] == "2025-10-11"
    # The family said yes to the school place once: the answer stands.
    assert statuses(seen)["school-admissions"] == "done"
    assert ("residents.undo_workflow", original) in {
        (name, r.workflow_id) for name, r in council.records_undone
    }


async def test_a_correction_of_what_no_service_is_told_changes_nothing(
    time_skipping_env: WorkflowEnvironment,
) -> None:
    council = Council()
    env = time_skipping_env
    async with running(env.client, council) as queue:
        move = event(MOVE)
        await moved(await start(env, queue, MoveWorkflow, move))
        acted = len(council.actions)
        told = len(council.notified)
        _, redo = await corrected(env, queue, move, tenure="social_rented")
        await redo.result()
        seen = await timeline(redo)
        await keep_history(redo, "move-corrected-unchanged")
    assert council.undone == []
    assert len(council.actions) == acted
    assert len(council.notified) == told
    original = workflow_id_for(move.source, move.id)
    assert {s: statuses(seen)[s] for s in MOVE_STEPS} == dict.fromkeys(MOVE_STEPS, "done")
    assert {e.references["done_by"] for e in seen.entries if e.step in MOVE_STEPS} == {original}
    assert {e.outcome for e in seen.entries if e.step in MOVE_STEPS} == {"unchanged"}


async def test_a_correction_that_comes_first_is_acted_on_as_the_event(
    time_skipping_env: WorkflowEnvironment,
) -> None:
    council = Council()
    env = time_skipping_env
    async with running(env.client, council) as queue:
        move = event(MOVE)
        fix = correction(move, move_date="2025-10-11")
        handle = await start(env, queue, CorrectionWorkflow, fix)
        assert (await handle.result()).stage == "held"
        as_the_event = env.client.get_workflow_handle(workflow_id_for(move.source, move.id))
        await moved(as_the_event)
        with pytest.raises(WorkflowAlreadyStartedError):
            await start(env, queue, MoveWorkflow, move)
    assert [a.workflow_id for a in council.actions] == [as_the_event.id] * len(MOVE_STEPS)
    council_tax = council.actions[0].shares[0].data["address"]
    assert council_tax["move_date"] == "2025-10-11"


def due(seen: Timeline) -> dict[str, str]:
    return {e.step: e.references["due"] for e in seen.entries if e.step in DATED}


async def test_a_childs_date_of_birth_corrected_moves_the_reminders(
    time_skipping_env: WorkflowEnvironment,
) -> None:
    council = Council()
    env = time_skipping_env
    data = {
        **BIRTH["data"],
        "child": {**BIRTH["data"]["child"], "date_of_birth": "2026-08-31"},
        "registration": {**BIRTH["data"]["registration"], "registered_on": "2026-09-02"},
    }
    birth = from_structured({**BIRTH, "id": str(uuid.uuid4()), "data": data})
    async with running(env.client, council) as queue:
        handle = await start(env, queue, BirthWorkflow, birth)
        latest = env.client.get_workflow_handle(handle.id, result_type=Outcome)
        await until(latest, lambda t: statuses(t).get("library-card") == "waiting_for_resident")
        await latest.execute_update("confirm", Confirmation(step="library-card", accept=True))
        await until(latest, lambda t: statuses(t).get("benefits-review") == "waiting_for_resident")
        await latest.execute_update("confirm", Confirmation(step="benefits-review", accept=False))
        before = await until(latest, lambda t: t.stage == "scheduled")
        child = {**data["child"], "date_of_birth": "2026-09-01"}
        _, redo = await corrected(env, queue, birth, child=child)
        after = await until(redo, lambda t: t.stage == "scheduled")
        stopped: Outcome = await latest.result()
    assert stopped.stage == "corrected"
    # The days the English rules give, written out by hand (tests/workflows/test_birth.py).
    assert due(before) == {
        "two-year-old-funding": "2028-09-01",
        "three-year-old-entitlement": "2029-09-01",
        "reception-window-opens": "2029-09-01",
        "reception-window-closing": "2030-01-01",
    }
    assert due(after) == {
        "two-year-old-funding": "2029-01-01",
        "three-year-old-entitlement": "2030-01-01",
        "reception-window-opens": "2030-09-01",
        "reception-window-closing": "2031-01-01",
    }
    # The library card shared the child's date of birth: undone and issued again, and the
    # family, who said yes, is not asked again (nor about the review they declined).
    assert "library-card" in [u.step for u in council.undone]
    assert statuses(after)["library-card"] == "done"
    assert statuses(after)["benefits-review"] == "skipped:declined_by_resident"
    assert [a.step for a in council.actions if a.workflow_id == redo.id].count("library-card") == 1
    assert date.fromisoformat(due(after)["reception-window-opens"]) > date.fromisoformat(
        due(before)["reception-window-opens"]
    )
