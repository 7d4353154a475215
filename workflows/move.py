"""MoveWorkflow: a household has moved; every council service that must act does, through
the consent gate, and the residents are told.

What is particular to a move: the movers are matched in the resident index at their old
address, their move is recorded there (which tells us the household they join), the plan's
conditions test the move's direction and whether a mover is of school age, and each step
receives, per mover, their identity, date of birth, the move and their place in the new
household. A workflow holding reminders for a child who moves (their birth's) is told of the
move (signal `resident_moved`). Everything else is the pipeline's (`workflows.pipeline`).
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import suppress
from typing import Any

from temporalio import workflow
from temporalio.exceptions import FailureError

with workflow.unsafe.imports_passed_through():
    from contracts import AddressChangedV1, CloudEvent
    from contracts.events.move import Mover
    from contracts.plan import Fact, PlannedStep
    from contracts.residents import Household, MoveNotice, MoveRecord, PersonDetails, SameEvent
    from contracts.shares import (
        ADULT_AGE,
        HouseholdPlace,
        MoveAddress,
        PersonBirth,
        PersonIdentity,
        age_on,
    )
    from contracts.temporal import Activity
    from contracts.timeline import Outcome

from workflows.birth import RESIDENT_MOVED
from workflows.pipeline import LifeEventPipeline, Sharing

__all__ = ["SCHOOL_AGE", "MoveWorkflow", "facts", "mover_data"]

SCHOOL_AGE = range(4, 16)  # reception (rising fives) to year 11

# Patches, in the order they were added. Histories recorded before each still replay.
_TELLS_REMINDERS = "move-tells-reminders"
_SAME_MOVE_ONCE = "same-move-once"


@workflow.defn
class MoveWorkflow(LifeEventPipeline):
    @workflow.run
    async def run(self, event: CloudEvent[AddressChangedV1]) -> Outcome:
        return await self.unless_amended(event, self._act_on(event))

    async def _act_on(self, event: CloudEvent[AddressChangedV1]) -> Outcome:
        move = event.data
        plan = await self.begin(event, facts(move))
        residents = await self.match(
            [PersonDetails.of(mover, address=move.old_address) for mover in move.movers]
        )
        movers = list(zip(residents, move.movers, strict=True))
        same: SameEvent | None = None
        if workflow.patched(_SAME_MOVE_ONCE):
            same = await self.recognise("move", event, residents, move.move_date, move.new_address)
            if same.verdict == "contradicts":
                return await self.contradicted(event, same)
            if same.verdict == "same":
                # Another report of a move already handled: only the movers it adds (whom
                # the first report did not name) are acted on here.
                movers = [(r, m) for r, m in movers if r in same.added]
                if not movers:
                    return await self.merged(event, same)
        residents = tuple(r for r, _ in movers)
        household: Household = await self._call(
            Activity.RECORD_MOVE,
            MoveRecord(
                residents=residents,
                new_address=move.new_address,
                move_date=move.move_date,
                direction=move.direction,
                workflow_id=workflow.info().workflow_id,
                step="resident-index",
            ),
            Household,
        )
        if workflow.patched(_TELLS_REMINDERS):
            await self._tell_reminders(move, movers)
        self._set_stage("acting")
        await self.carry_out_each(
            plan.active,
            event,
            lambda step: [
                Sharing(resident, mover_data(step, move, mover, household), _is_adult(move, mover))
                for resident, mover in movers
            ],
        )
        if same is not None and same.verdict == "same":
            return await self.merged(event, same)
        return await self.finish(event)

    async def _tell_reminders(
        self, move: AddressChangedV1, movers: Sequence[tuple[str, Mover]]
    ) -> None:
        """Each workflow holding a mover's reminders (a birth's) learns where they live now.
        Only children have them: an adult's move is nobody's signal."""
        children = [
            MoveNotice(
                resident=resident,
                direction=move.direction,
                move_date=move.move_date,
                new_address=move.new_address,
            )
            for resident, mover in movers
            if not _is_adult(move, mover)
        ]
        if not children:
            return
        holding: list[str] = await self._call(
            Activity.REMINDERS_FOR, [c.resident for c in children], list[str]
        )
        for workflow_id in holding:
            handle = workflow.get_external_workflow_handle(workflow_id)
            for notice in children:
                # One that has finished fails the signal: it holds nothing more for them.
                with suppress(FailureError):
                    await handle.signal(RESIDENT_MOVED, notice)


def facts(move: AddressChangedV1) -> dict[str, Fact]:
    """What the catalogue's conditions may test about a move."""
    return {
        "direction": move.direction,
        "school_age_child": any(
            _age(move, m) in SCHOOL_AGE for m in move.movers if m.date_of_birth is not None
        ),
    }


def mover_data(
    step: PlannedStep, move: AddressChangedV1, mover: Mover, household: Household
) -> dict[str, Any]:
    """Exactly the categories the step receives about one mover, as the services read them."""
    shapes = {
        "identity": PersonIdentity(name=mover.name, date_of_birth=mover.date_of_birth),
        "birth": PersonBirth(date_of_birth=mover.date_of_birth),
        "address": MoveAddress(
            direction=move.direction,
            move_date=move.move_date,
            old_address=move.old_address,
            new_address=move.new_address,
        ),
        "household": HouseholdPlace(age=_age(move, mover), other_adults=household.other_adults),
    }
    return {
        category: shapes[category].model_dump(mode="json")
        for category in step.categories
        if category in shapes
    }


def _age(move: AddressChangedV1, mover: Mover) -> int | None:
    return None if mover.date_of_birth is None else age_on(mover.date_of_birth, move.move_date)


def _is_adult(move: AddressChangedV1, mover: Mover) -> bool:
    age = _age(move, mover)
    return age is None or age >= ADULT_AGE
