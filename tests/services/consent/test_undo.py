"""What the gate does when a life event is withdrawn. `undo_death` forgets the deaths that
event's workflow recorded, with a ledger entry beside the one that recorded each (the
resident's ledger shows both; the chain still verifies), once; a workflow that recorded none
has nothing to undo. A share request that `reverses` is decided as any other and is on the
ledger as a `compensation`, and its share as a share. Runs on SQLite and PostgreSQL; one
test through a Temporal worker.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import timedelta

import structlog
from temporalio import workflow
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from contracts.actions import ActionOutcome, UndoRequest
from contracts.consent import Decision, EntryKind, ShareCompletion, ShareRequest
from contracts.shares import DataCategory, data_hash
from contracts.temporal import Activity
from services.consent.activities import ConsentActivities
from services.consent.gate import ConsentGate
from services.consent.ledger import verify_ledger
from tests.services.consent.test_deaths import claims_of, death_record

MakeRequest = Callable[..., ShareRequest]


def undo(workflow_id: str) -> UndoRequest:
    return UndoRequest(workflow_id=workflow_id, undone_by=f"lifeevent-{uuid.uuid4().hex}")


def reversing(resident: str) -> ShareRequest:
    """What a withdrawal asks the gate before a council service undoes a step: the step's
    purpose, recipient and categories, about no data, reversing."""
    return ShareRequest(
        resident=resident,
        purpose="council-tax-liability",
        recipient="council-tax",
        data_categories=[DataCategory("identity"), DataCategory("death")],
        data_hash=data_hash({}),
        reverses=True,
    )


# --- the gate's record of a death ---------------------------------------------------------


async def test_a_withdrawn_death_is_forgotten_and_the_ledger_shows_both(
    gate: ConsentGate, resident: str, make_request: MakeRequest
) -> None:
    death = death_record(resident)
    recorded = await gate.record_death(death)
    request = make_request(resident, "council-tax-liability", "council-tax", ["identity"])
    assert claims_of(gate, await gate.decide_share(request)).deceased

    with structlog.testing.capture_logs() as logs:
        outcome = await gate.undo_death(undo(death.workflow_id))

    assert outcome == ActionOutcome(
        outcome="done",
        code="undone",
        references={"ledger_seq": str(recorded.ledger_seq + 2)},  # after the decision's
    )
    # From this commit on, tokens about the resident are not stamped.
    assert not claims_of(gate, await gate.decide_share(request)).deceased
    deaths = [e for e in (await gate.data_use(resident)).entries if e.kind is EntryKind.DEATH]
    assert [(e.outcome, e.reason) for e in deaths] == [
        ("recorded", "death_registered"),
        ("withdrawn", "death_record_withdrawn"),
    ]
    assert deaths[0].ref == deaths[1].ref  # the same death
    assert (await verify_ledger(gate.store.engine)).ok
    assert logs == [
        {
            "event": "consent.death_withdrawn",
            "log_level": "info",
            "workflow_id": death.workflow_id,
            "undone_by": logs[0]["undone_by"],
            "code": "undone",
            "deaths": 1,
        }
    ]


async def test_undoing_a_death_twice_changes_nothing_the_second_time(
    gate: ConsentGate, resident: str
) -> None:
    death = death_record(resident)
    await gate.record_death(death)
    first = await gate.undo_death(undo(death.workflow_id))
    size = await gate.store.ledger_size()

    again = await gate.undo_death(undo(death.workflow_id))

    assert again == ActionOutcome(
        outcome="no_action", code="already_undone", references=first.references
    )
    assert await gate.store.ledger_size() == size


async def test_a_workflow_that_recorded_no_death_has_nothing_to_undo(
    gate: ConsentGate, resident: str, make_request: MakeRequest
) -> None:
    first = death_record(resident)
    await gate.record_death(first)
    # The same death reported again by another workflow: the first record stands.
    second = death_record(resident)
    await gate.record_death(second)
    size = await gate.store.ledger_size()

    for nothing in (second.workflow_id, f"lifeevent-{uuid.uuid4().hex}"):
        assert await gate.undo_death(undo(nothing)) == ActionOutcome(
            outcome="no_action", code="nothing_to_undo"
        )
    assert await gate.store.ledger_size() == size
    request = make_request(resident, "council-tax-liability", "council-tax", ["identity"])
    assert claims_of(gate, await gate.decide_share(request)).deceased


async def test_a_death_recorded_again_after_it_was_withdrawn_is_a_new_record(
    gate: ConsentGate, resident: str, make_request: MakeRequest
) -> None:
    """Withdrawn as entered in error, then registered for real under another event."""
    wrong = death_record(resident)
    await gate.record_death(wrong)
    await gate.undo_death(undo(wrong.workflow_id))

    real = await gate.record_death(death_record(resident))

    request = make_request(resident, "council-tax-liability", "council-tax", ["identity"])
    assert claims_of(gate, await gate.decide_share(request)).deceased
    deaths = [e for e in (await gate.data_use(resident)).entries if e.kind is EntryKind.DEATH]
    assert [e.outcome for e in deaths] == ["recorded", "withdrawn", "recorded"]
    assert deaths[-1].seq == real.ledger_seq
    assert (await verify_ledger(gate.store.engine)).ok


# --- compensation decisions ---------------------------------------------------------------


async def test_a_reversing_decision_is_a_compensation_on_the_residents_ledger(
    gate: ConsentGate, resident: str
) -> None:
    forward = reversing(resident).model_copy(update={"reverses": False})
    done = await gate.decide_share(forward)
    reversed_ = await gate.decide_share(reversing(resident))
    assert reversed_.share_token is not None
    await gate.record_share(ShareCompletion(share_token=reversed_.share_token))

    report = await gate.data_use(resident)

    decided = [e for e in report.entries if e.ref == reversed_.decision_id]
    assert [(e.kind, e.outcome) for e in decided] == [
        (EntryKind.COMPENSATION, "allow"),
        (EntryKind.SHARE, "completed"),
    ]
    assert decided[0].reason == done.reason == "policy_allows"
    assert [e.ref for e in report.received] == [reversed_.decision_id]
    # Everything else about the decision is as for any: allowed, a token for no data.
    assert (reversed_.decision, reversed_.lawful_basis) == (Decision.ALLOW, done.lawful_basis)
    claims = claims_of(gate, reversed_)
    assert claims.data_hash == data_hash({})
    assert claims.categories == ["death", "identity"]
    forward_entry = next(e for e in report.entries if e.ref == done.decision_id)
    assert forward_entry.kind is EntryKind.DECISION
    assert (await verify_ledger(gate.store.engine)).ok


async def test_a_reversing_decision_about_a_resident_who_died_is_stamped_as_any(
    gate: ConsentGate, resident: str
) -> None:
    await gate.record_death(death_record(resident))

    decision = await gate.decide_share(reversing(resident))

    assert decision.decision is Decision.ALLOW
    assert claims_of(gate, decision).deceased


# --- through Temporal -----------------------------------------------------------------------


@workflow.defn(name="GateUndoDeathTest")
class UndoDeath:
    @workflow.run
    async def run(self, request: UndoRequest) -> ActionOutcome:
        outcome: ActionOutcome = await workflow.execute_activity(
            Activity.GATE_UNDO_DEATH,
            request,
            result_type=ActionOutcome,
            task_queue=workflow.info().task_queue,
            start_to_close_timeout=timedelta(seconds=10),
        )
        return outcome


async def test_through_temporal_the_worker_undoes_a_death(
    sqlite_gate: ConsentGate, resident: str, time_skipping_env: WorkflowEnvironment
) -> None:
    death = death_record(resident)
    await sqlite_gate.record_death(death)
    queue = f"consent-undo-{uuid.uuid4().hex[:8]}"
    async with Worker(
        time_skipping_env.client,
        task_queue=queue,
        workflows=[UndoDeath],
        activities=ConsentActivities(sqlite_gate).all,
        workflow_runner=UnsandboxedWorkflowRunner(),
    ):
        outcome = await time_skipping_env.client.execute_workflow(
            UndoDeath.run, undo(death.workflow_id), id=queue, task_queue=queue
        )
    assert outcome.code == "undone"
