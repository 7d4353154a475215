"""BereavementWorkflow in the time-skipping environment, every service it calls stood in for
(tests/support/standins.py): who is told of the death at once, what each step shares about
whom, who is written to (never the deceased), the informant's choice of organisations, the
triage of a survivor to a person first, the summary, and a move that stops asking someone
who has died."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import date
from pathlib import Path
from typing import Any

from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from contracts import from_structured
from contracts.people import PersonName
from contracts.residents import Survivor
from contracts.timeline import Confirmation
from tests.support.histories import keep_history
from tests.support.standins import Council, running, statuses, timeline, until
from workflows.bereavement import BereavementWorkflow
from workflows.move import MoveWorkflow
from workflows.pipeline import CASEWORKER_WITHIN

EXAMPLES = Path(__file__).resolve().parents[2] / "contracts" / "examples"
DEATH = json.loads((EXAMPLES / "death-registered.json").read_text())
MOVE = json.loads((EXAMPLES / "address-changed-household.json").read_text())

# Keys the stand-in index gives, by place in the match: the deceased, then the household
# members the informant listed, then the executor (or informant).
DECEASED = "res_person000000000000"
SPOUSE = "res_person000000000001"
EXECUTOR = "res_person000000000002"
EXECUTOR_ALONE = "res_person000000000001"  # nobody listed in the household before them

COUNCIL_STEPS = [
    "council-tax",
    "benefits",
    "electoral-register",
    "blue-badge",
    "library-card",
    "parking-permit",
    "assisted-collection",
]
PARTNER_STEPS = ["tell-dwp", "tell-hmrc", "tell-hm-passport-office", "tell-dvla"]


def survivor(key: str, age: int | None, *, support: bool = False) -> Survivor:
    return Survivor(
        resident=key,
        name=PersonName(given_names="Madeup Mary", family_name="Testworth"),
        date_of_birth=None if age is None else date(2025 - age, 1, 1),
        age=age,
        may_need_support=support,
    )


async def start(env: WorkflowEnvironment, queue: str, **data: Any) -> WorkflowHandle[Any, Any]:
    event = from_structured({**DEATH, "id": str(uuid.uuid4()), "data": {**DEATH["data"], **data}})
    return await env.client.start_workflow(
        BereavementWorkflow.run, event, id=f"death-{event.id}", task_queue=queue
    )


def by_step(council: Council) -> dict[str, Any]:
    return {a.step: a for a in council.actions}


async def test_a_death_with_a_surviving_spouse(time_skipping_env: WorkflowEnvironment) -> None:
    council = Council(survivors=(survivor(SPOUSE, 65),))
    async with running(time_skipping_env.client, council) as queue:
        handle = await start(time_skipping_env, queue)
        waiting = await until(
            handle,
            lambda t: statuses(t).get("council-tax-discount") == "waiting_for_resident",
        )
        # Everything that needs nobody's answer is done, and the executor has their summary.
        # (side by side, in whichever order the services took them up)
        assert sorted(a.step for a in council.actions) == sorted(COUNCIL_STEPS + PARTNER_STEPS)
        assert waiting.stage == "waiting_for_resident"
        await handle.execute_update(
            BereavementWorkflow.confirm, Confirmation(step="council-tax-discount", accept=True)
        )
        outcome = await handle.result()
        seen = await timeline(handle)
        await keep_history(handle, "bereavement-spouse")

    assert outcome.stage == "complete"
    # The death was recorded, at once, everywhere that must refuse the deceased from now on.
    assert {where: [r.resident for r in rs] for where, rs in council.deaths.items()} == {
        "residents": [DECEASED],
        "consent": [DECEASED],
        "notifications": [DECEASED],
    }
    acted = by_step(council)
    assert acted["council-tax-discount"].residents == (SPOUSE,)
    assert acted["council-tax"].residents == (DECEASED, SPOUSE)
    assert acted["electoral-register"].residents == (DECEASED,)
    assert acted["tell-dwp"].residents == (DECEASED,)
    # What each share holds: the deceased's death; the spouse's place; no contact share while
    # an adult remains; the NI number only to an organisation outside the council.
    deceased_share, spouse_share = acted["council-tax"].shares
    assert set(deceased_share.data) == {"identity", "death"}
    assert deceased_share.data["death"]["date_of_death"] == "2025-08-07"
    assert deceased_share.data["death"]["national_insurance_number"] is None
    assert spouse_share.data["household"] == {"age": 65, "adult": None, "other_adults": 0}
    assert acted["tell-dwp"].shares[0].data["death"]["national_insurance_number"] == "CE000000A"
    # The gate decided about each organisation as the recipient, on the informant's agreement.
    [agreement] = council.agreements
    assert agreement.resident == DECEASED
    assert agreement.recipients == ("dwp", "hmrc", "hm_passport_office", "dvla")
    assert {r.recipient for r in council.decided if r.purpose == "tell-us-once"} == {
        "dwp",
        "hmrc",
        "hm_passport_office",
        "dvla",
    }
    # Nobody wrote to the deceased; the spouse heard about their own accounts, and was asked
    # about the discount; the executor got one summary.
    assert council.refused == []
    # What needed no answer first (side by side), then the summary, then what was answered.
    told = [(n.template, n.resident) for n in council.notified]
    assert sorted(told[:2]) == [("death.benefits", SPOUSE), ("death.council-tax", SPOUSE)]
    assert told[2:] == [
        ("death.summary", EXECUTOR),
        ("waiting.question", SPOUSE),
        ("death.council-tax-discount", SPOUSE),
    ]
    summary = next(n for n in council.notified if n.template == "death.summary")
    assert summary.references["done_step_1"] == "council-tax"
    assert summary.references["done_references_1"] == "reference REF-1"
    assert summary.references["pending_step_1"] == "council-tax-discount"
    assert summary.references["pending_on_1"] == "survivor"
    assert "not_done_step_1" not in summary.references
    # Each service's references are on the timeline, as in the letters.
    [council_tax] = [e for e in seen.entries if e.step == "council-tax"]
    assert council_tax.references == {"reference": "REF-1"}
    assert statuses(seen) == dict.fromkeys(
        [*COUNCIL_STEPS[:1], "council-tax-discount", *COUNCIL_STEPS[1:], *PARTNER_STEPS, "summary"],
        "done",
    )


async def test_a_death_of_someone_who_lived_alone(time_skipping_env: WorkflowEnvironment) -> None:
    council = Council()
    async with running(time_skipping_env.client, council) as queue:
        handle = await start(time_skipping_env, queue, household_members=[])
        outcome = await handle.result()
        seen = await timeline(handle)
        await keep_history(handle, "bereavement-alone")

    assert outcome.stage == "complete"
    assert statuses(seen)["council-tax-discount"] == "skipped:adults_remaining"
    acted = by_step(council)
    # Nobody remains: the account passes to the estate, the executor its contact.
    assert acted["council-tax"].residents == (DECEASED, EXECUTOR_ALONE)
    contact = acted["council-tax"].shares[1].data
    assert set(contact) == {"identity", "contact"}
    assert contact["contact"]["role"] == "executor"
    assert contact["contact"]["relationship"] == "solicitor"
    assert acted["parking-permit"].residents == (DECEASED,)
    # Only the executor is written to, once.
    assert [(n.template, n.resident) for n in council.notified] == [
        ("death.summary", EXECUTOR_ALONE)
    ]


async def test_only_the_organisations_the_informant_chose_are_told(
    time_skipping_env: WorkflowEnvironment,
) -> None:
    council = Council(survivors=(survivor(SPOUSE, 50),))
    async with running(time_skipping_env.client, council) as queue:
        handle = await start(time_skipping_env, queue, organisations_to_tell=["dwp", "council_tax"])
        await until(handle, lambda t: t.stage == "waiting_for_resident")
        await handle.execute_update(
            BereavementWorkflow.confirm, Confirmation(step="council-tax-discount", accept=False)
        )
        await handle.result()
        seen = await timeline(handle)

    told = statuses(seen)
    assert told["tell-dwp"] == "done"
    for step in ("tell-hmrc", "tell-hm-passport-office", "tell-dvla"):
        assert told[step] == "skipped:not_chosen_by_informant"
    assert told["council-tax-discount"] == "skipped:declined_by_resident"
    # An organisation not chosen is never asked about, let alone told.
    assert [a.recipients for a in council.agreements] == [("dwp",)]
    assert {r.recipient for r in council.decided if r.purpose == "tell-us-once"} == {"dwp"}
    assert [a.step for a in council.actions if a.step.startswith("tell-")] == ["tell-dwp"]
    summary = next(n for n in council.notified if n.template == "death.summary")
    not_done = {
        summary.references[f"not_done_step_{n}"]: summary.references[f"not_done_reason_{n}"]
        for n in range(1, 4)
    }
    assert not_done == dict.fromkeys(
        ["tell-hmrc", "tell-hm-passport-office", "tell-dvla"], "not_chosen_by_informant"
    )


async def test_a_survivor_living_alone_at_75_hears_from_a_person_before_any_letter(
    time_skipping_env: WorkflowEnvironment,
) -> None:
    council = Council(survivors=(survivor(SPOUSE, 83),))
    async with running(time_skipping_env.client, council) as queue:
        handle = await start(time_skipping_env, queue)
        seen = await until(handle, lambda t: t.needs_person)
        assert (seen.stage, seen.caseworker_tasks) == ("needs_person", [f"contact:{SPOUSE}"])
        # Days pass with no caseworker: escalated, and still nothing is done or sent.
        await time_skipping_env.sleep(CASEWORKER_WITHIN + CASEWORKER_WITHIN / 5)
        seen = await until(handle, lambda t: t.stage == "escalated")
        assert council.actions == []
        assert council.notified == []
        assert set(statuses(seen).values()) <= {"waiting", "skipped:not_chosen_by_informant"}
        # The caseworker has been in touch: the plan goes ahead.
        await handle.execute_update(BereavementWorkflow.resolve_task, f"contact:{SPOUSE}")
        await until(handle, lambda t: t.stage == "waiting_for_resident")
        await handle.execute_update(
            BereavementWorkflow.confirm, Confirmation(step="council-tax-discount", accept=True)
        )
        outcome = await handle.result()
        await keep_history(handle, "bereavement-triage")

    assert outcome.stage == "complete"
    assert ("death.council-tax", SPOUSE) in [(n.template, n.resident) for n in council.notified]
    # The index now knows they may need support, for whatever comes next.
    assert [(f.resident, f.reason) for f in council.flagged] == [(SPOUSE, "bereaved_living_alone")]


async def test_a_survivor_the_index_flags_is_contacted_by_a_person_first(
    time_skipping_env: WorkflowEnvironment,
) -> None:
    council = Council(survivors=(survivor(SPOUSE, 40, support=True), survivor(EXECUTOR, 45)))
    async with running(time_skipping_env.client, council) as queue:
        handle = await start(time_skipping_env, queue)
        seen = await until(handle, lambda t: t.needs_person)
        assert seen.caseworker_tasks == [f"contact:{SPOUSE}"]
        assert council.actions == []
        assert council.flagged == []  # flagged already
        await handle.terminate()


async def asked(council: Council, resident: str, workflow_id: str) -> None:
    for _ in range(100):
        if any(
            (n.template, n.resident, n.workflow_id) == ("waiting.question", resident, workflow_id)
            for n in council.notified
        ):
            return
        await asyncio.sleep(0.1)
    raise AssertionError("the resident was never asked")


async def test_a_move_waiting_on_someone_who_dies_stops_asking_them(
    time_skipping_env: WorkflowEnvironment,
) -> None:
    """The move's adult (the first mover) dies while the move waits on their answer: the
    bereavement workflow tells the move, which stops asking, hands the step to a caseworker,
    shares nothing more about them, and writes to them no more."""
    council = Council(survivors=(survivor(SPOUSE, 50),))
    async with running(time_skipping_env.client, council) as queue:
        move_event = from_structured({**MOVE, "id": str(uuid.uuid4())})
        move = await time_skipping_env.client.start_workflow(
            MoveWorkflow.run, move_event, id=f"move-{move_event.id}", task_queue=queue
        )
        # The steps that wait on nobody done (beside the wait), and the resident asked (the
        # message goes out a moment after the step starts waiting).
        await until(
            move,
            lambda t: (
                statuses(t)
                == {
                    "council-tax": "done",
                    "electoral-register": "done",
                    "school-admissions": "waiting_for_resident",
                    "benefits": "done",
                }
            ),
        )
        await asked(council, DECEASED, move.id)
        told_before = len(council.notified)
        council.running_workflows = (move.id,)
        death = await start(time_skipping_env, queue, organisations_to_tell=[])
        seen = await until(move, lambda t: t.needs_person)
        assert statuses(seen)["school-admissions"] == "needs_person:resident_deceased"
        assert seen.caseworker_tasks == ["confirm:school-admissions"]
        await move.execute_update(MoveWorkflow.resolve_task, "confirm:school-admissions")
        await move.result()
        seen = await timeline(move)
        await until(death, lambda t: t.stage == "waiting_for_resident")
        await death.execute_update(
            BereavementWorkflow.confirm, Confirmation(step="council-tax-discount", accept=False)
        )
        await death.result()

    # What needed nobody's answer was done at once, for both movers, before the death; the
    # step that waited on the one who died was never done, for anyone.
    acted = {a.step: a.residents for a in council.actions if a.workflow_id == move.id}
    assert acted == {
        "council-tax": (DECEASED, SPOUSE),
        "electoral-register": (DECEASED, SPOUSE),
        "benefits": (DECEASED, SPOUSE),
    }
    assert DECEASED not in {
        n.resident for n in council.notified[told_before:] if n.workflow_id == move.id
    }


async def test_a_child_left_with_no_adult_is_contacted_by_a_person_first(
    time_skipping_env: WorkflowEnvironment,
) -> None:
    council = Council(survivors=(survivor(SPOUSE, 9),))
    async with running(time_skipping_env.client, council) as queue:
        handle = await start(time_skipping_env, queue, household_members=[])
        seen = await until(handle, lambda t: t.needs_person)
        assert seen.caseworker_tasks == [f"contact:{SPOUSE}"]
        assert council.actions == []
        assert council.flagged == []  # a child is not flagged as living alone
        await handle.terminate()
