"""BirthWorkflow: a birth has been registered; the council offers the family what applies to
them without being asked, and follows the child to their first school application.

1. At birth: the child joins the resident index in the household of the parent they live
   with (matched as movers are: a doubtful parent is a caseworker's decision). The same
   birth reported before under another event is left to the workflow that has it, and this
   one does nothing. Then the offers of the plan that need no date, side by side: each that
   needs the family's agreement waits for it (update `confirm`) and acts the moment they
   accept; a declined one is recorded on the timeline and never made again.
2. The dated steps (`at`, from `contracts.childhood`: funded early education from the term
   after the second and third birthdays, the reception application window's opening and
   two weeks before its close) are timeline entries from the start, each with the day it is
   due (`references["due"]`), or skipped as `date_passed` for a birth registered late.
3. Years of waiting: each later run of the workflow waits with one durable timer for the
   next due step (09:00 in England on its day), does it, and continues as new with what
   remains. A run's history holds one wait and one step, so it stays small however long
   the child is followed; the workflow ID stays the birth event's, so ops, the family and
   the index find it in one place.
4. Life changes arrive as signals, never by polling. A move workflow sends `resident_moved`
   (the index tells it which workflows hold reminders for its movers): within the area,
   the next reminders use the new address (its catchment school); out of it, every dated
   step is cancelled and the family is told which council to ask. A bereavement workflow
   sends `resident_deceased`: the child's death cancels everything, and nothing is sent
   about them again; a parent's stops writing to that parent.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import date, time, timedelta
from typing import Any, NoReturn

from pydantic import BaseModel, ConfigDict
from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from contracts import BirthRegisteredV1, CloudEvent
    from contracts.actions import ActionOutcome
    from contracts.addresses import UkAddress
    from contracts.childhood import MilestoneCode, childhood_dates, still_ahead
    from contracts.dates import uk_date, uk_moment
    from contracts.plan import Plan, PlannedStep
    from contracts.residents import BirthHousehold, BirthRecord, MoveNotice, PersonDetails
    from contracts.shares import HomeAddress, HouseholdPlace, PersonBirth, PersonIdentity, age_on
    from contracts.temporal import Activity
    from contracts.timeline import (
        DoneStep,
        MatchDecision,
        Outcome,
        StepStatus,
        TimelineEntry,
        Told,
    )

from workflows.pipeline import LifeEventPipeline, Sharing
from workflows.recording import record_received

__all__ = [
    "AROUND_THE_PLAN",
    "REMIND_AT",
    "RESIDENT_MOVED",
    "BirthWorkflow",
    "Childhood",
    "due_dates",
]

RESIDENT_MOVED = "resident_moved"
"""The signal that tells a workflow holding reminders for a resident that they moved."""

REMIND_AT = time(9)
"""A dated step is done at this time, in England, on its day: a reminder comes in the
morning, never at midnight UTC (which is 1 a.m. in summer, and the day before in none)."""

MOVED_AWAY = "moved_out_of_area"

AROUND_THE_PLAN = (
    (
        "At once: the child joins the resident index in their parents' household; the same "
        "birth reported again (under another event) is acted on once.",
        "The offers that need no date are made side by side; each that needs the family's "
        "agreement acts the moment they accept, and a declined one is never made again.",
    ),
    (
        "Each dated step waits, durably, for its day (09:00 in England). A move within the "
        "area moves the reminders to the new address; a move out of it cancels them and "
        "tells the family which council to ask; the child's death cancels everything.",
    ),
)
"""What a birth's workflow does before and after its plan's steps, for the plan preview."""

# Patches, in the order they were added. Histories recorded before each still replay.
_ACTS_ON_A_BIRTH = "birth-acts-on-a-birth"

_WAITING = (StepStatus.WAITING, StepStatus.WAITING_FOR_RESIDENT)


class Childhood(BaseModel):
    """What a birth workflow carries from one run into the next (continue-as-new): the
    event, the plan, who is who, where the child lives now, the timeline so far, and any
    word that came while the last run was ending."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    event: CloudEvent[BirthRegisteredV1]
    plan: Plan
    child: str
    parents: dict[str, int]
    """The parents who live with the child: resident key → place in the event's parents."""
    address: UkAddress
    stage: str
    entries: tuple[TimelineEntry, ...]
    deceased: tuple[str, ...] = ()
    moves: tuple[MoveNotice, ...] = ()
    done: tuple[DoneStep, ...] = ()
    told: tuple[Told, ...] = ()
    answers: dict[str, bool] = {}
    decisions: dict[str, MatchDecision] = {}


@workflow.defn
class BirthWorkflow(LifeEventPipeline):
    def __init__(self) -> None:
        super().__init__()
        self._moves: list[MoveNotice] = []
        self._child = ""

    @workflow.signal(name=RESIDENT_MOVED)
    def resident_moved(self, notice: MoveNotice) -> None:
        self._moves.append(notice)

    @workflow.run
    async def run(self, given: CloudEvent[BirthRegisteredV1] | Childhood) -> Outcome:
        # One argument, whichever run this is: the SDK decodes by type only when the count
        # of arguments matches, and the first run is started with the event alone.
        if isinstance(given, Childhood):
            self._resume(given)
            return await self.unless_amended(given.event, self._follow(given.event, given))
        event = given
        if not workflow.patched(_ACTS_ON_A_BIRTH):
            return record_received(event)
        return await self.unless_amended(event, self._born(event))

    async def _born(self, event: CloudEvent[BirthRegisteredV1]) -> Outcome:
        childhood = await self._at_birth(event)
        if childhood is None:
            return await self.finish(event)
        if self._pending(childhood.plan) and self._amended is None:
            self._continue(childhood)
        return await self._end(event, childhood)

    # -- at birth ---------------------------------------------------------------------------

    async def _at_birth(self, event: CloudEvent[BirthRegisteredV1]) -> Childhood | None:
        birth = event.data
        self.announce(event)
        plan = await self.plan(event, {})
        home = _home(birth)
        child, *parents = await self.match(
            [PersonDetails.of(birth.child, address=home), *map(PersonDetails.of, birth.parents)]
        )
        self._child = child
        self._about = (child,)
        household: BirthHousehold = await self._call(
            Activity.RECORD_BIRTH,
            BirthRecord(
                child=child,
                parents=tuple(parents),
                date_of_birth=birth.child.date_of_birth,
                workflow_id=workflow.info().workflow_id,
                step="resident-index",
            ),
            BirthHousehold,
        )
        if household.recorded_by != workflow.info().workflow_id:
            # Reported before, under another event: that workflow has the child's offers and
            # reminders; doing them again would write to the family twice.
            for step in plan.steps:
                self._update(
                    step.name,
                    StepStatus.SKIPPED,
                    reason="already_recorded",
                    references={"handled_by": household.recorded_by},
                )
            return None
        self._schedule(plan, birth)
        childhood = Childhood(
            event=event,
            plan=plan,
            child=child,
            parents={key: i for i, key in enumerate(parents) if key in household.residents},
            address=household.address or home,
            stage="acting",
            entries=(),
        )
        self._set_stage("acting")
        await self._offer(event, childhood, [s for s in plan.active if s.at is None])
        await self.settle()
        return childhood

    def _schedule(self, plan: Plan, birth: BirthRegisteredV1) -> None:
        """Each dated step on the timeline with its day; one already past is skipped."""
        dates = childhood_dates(birth.child.date_of_birth).milestones
        ahead = {m.code for m in still_ahead(dates, uk_date(workflow.now()))}
        due = {m.code: m.on for m in dates}
        for step in plan.active:
            if step.at in due:
                code = MilestoneCode(step.at)
                self._update(
                    step.name,
                    StepStatus.WAITING if code in ahead else StepStatus.SKIPPED,
                    reason="" if code in ahead else "date_passed",
                    references={"due": due[code].isoformat()},
                )

    async def _offer(
        self,
        event: CloudEvent[BirthRegisteredV1],
        childhood: Childhood,
        steps: Sequence[PlannedStep],
    ) -> None:
        """The offers side by side: the family answers each in their own time. Should the
        child die meanwhile, what is still open is cancelled and nothing more is sent."""
        offers = [
            asyncio.create_task(self.carry_out(s, event, self._sharing(s, event, childhood)))
            for s in steps
        ]
        # An amended birth lets each offer end as it will: none starts, a waiting one stops.
        await workflow.wait_condition(
            lambda: all(o.done() for o in offers) or self._child in self._deceased
        )
        if self._child in self._deceased:
            for offer in offers:
                offer.cancel()
            await asyncio.gather(*offers, return_exceptions=True)
            self.skip_waiting("resident_deceased")
        else:
            await asyncio.gather(*offers)

    # -- the years after ----------------------------------------------------------------------

    async def _follow(self, event: CloudEvent[BirthRegisteredV1], childhood: Childhood) -> Outcome:
        """One run: wait for the next dated step or for word of a change, act on it, and
        continue as new while anything is still due."""
        pending = self._pending(childhood.plan)
        if pending and not self._news():
            step, due = pending[0]
            self._set_stage("scheduled")
            wait = uk_moment(due, REMIND_AT) - workflow.now()
            try:
                await workflow.wait_condition(self._news, timeout=max(wait, timedelta(seconds=1)))
            except TimeoutError:
                self._set_stage("acting")
                await self.carry_out(step, event, self._sharing(step, event, childhood))
        childhood = await self._take_news(event, childhood)
        if self._pending(childhood.plan) and self._amended is None:
            self._continue(childhood)
        return await self._end(event, childhood)

    def _news(self) -> bool:
        return (
            self._child in self._deceased
            or any(m.resident == self._child for m in self._moves)
            or self._amended is not None
        )

    async def _take_news(
        self, event: CloudEvent[BirthRegisteredV1], childhood: Childhood
    ) -> Childhood:
        if self._child in self._deceased:
            self.skip_waiting("resident_deceased")
            return childhood
        for notice in [m for m in self._moves if m.resident == self._child]:
            if notice.direction == "out_of":
                self.skip_waiting(MOVED_AWAY)
                await self._moved_away(event, childhood, notice.new_address)
                break
            assert notice.new_address is not None  # the contract's rule for a move within
            childhood = childhood.model_copy(update={"address": notice.new_address})
        self._moves = [m for m in self._moves if m.resident != self._child]
        return childhood

    async def _moved_away(
        self, event: CloudEvent[BirthRegisteredV1], childhood: Childhood, new: UkAddress | None
    ) -> None:
        """Tell the family which council to ask now (the schools service knows it by the
        new address)."""
        step = next((s for s in childhood.plan.active if s.at == MOVED_AWAY), None)
        if step is None:
            return
        if new is None:
            self._update(step.name, StepStatus.SKIPPED, reason="new_address_unknown")
            return
        moved = childhood.model_copy(update={"address": new})
        await self.carry_out(step, event, self._sharing(step, event, moved))

    async def _end(self, event: CloudEvent[BirthRegisteredV1], childhood: Childhood) -> Outcome:
        # Nothing more is due: a change the family never made is no longer waited for.
        for step in childhood.plan.active:
            if step.at == MOVED_AWAY and self._entries[step.name].status in _WAITING:
                self._update(step.name, StepStatus.SKIPPED, reason="not_moved_away")
        return await self.finish(event)

    # -- what is carried from run to run ------------------------------------------------------

    def _carried(self, childhood: Childhood) -> Childhood:
        return childhood.model_copy(
            update={
                "stage": self._stage,
                "entries": tuple(self.entries),
                "deceased": tuple(sorted(self._deceased)),
                "moves": tuple(self._moves),
                "done": tuple(self._done),
                "told": tuple(self._told),
                "answers": dict(self._confirmations),
                "decisions": dict(self._decided),
            }
        )

    def _continue(self, childhood: Childhood) -> NoReturn:
        workflow.continue_as_new(self._carried(childhood))

    def _resume(self, childhood: Childhood) -> None:
        self.announce(childhood.event)
        self._child = childhood.child
        self._about = (childhood.child,)
        self._stage = childhood.stage
        self._entries = {e.step: e for e in childhood.entries}
        self._deceased |= set(childhood.deceased)
        self._moves[:0] = childhood.moves  # before any that came in this run's first task
        self._done[:0] = childhood.done
        self._told[:0] = childhood.told
        self._confirmations = {**childhood.answers, **self._confirmations}
        self._decided = {**childhood.decisions, **self._decided}

    def _pending(self, plan: Plan) -> list[tuple[PlannedStep, date]]:
        """The dated steps still to do, soonest first."""
        pending = [
            (step, date.fromisoformat(self._entries[step.name].references["due"]))
            for step in plan.active
            if step.at in set(MilestoneCode) and self._entries[step.name].status in _WAITING
        ]
        return sorted(pending, key=lambda p: p[1])

    # -- who takes part in a step -------------------------------------------------------------

    def _sharing(
        self, step: PlannedStep, event: CloudEvent[BirthRegisteredV1], childhood: Childhood
    ) -> list[Sharing]:
        """The child (never written to) and each parent who lives with them (asked and
        told), each with exactly the categories the step lists that there are of them."""
        birth = event.data
        today = uk_date(workflow.now())
        born = birth.child.date_of_birth
        where = HomeAddress(address=childhood.address)
        child = {
            "identity": PersonIdentity(name=birth.child.name, date_of_birth=born),
            "birth": PersonBirth(date_of_birth=born),
            "address": where,
            "household": HouseholdPlace(age=age_on(born, today)),
        }
        people = [Sharing(childhood.child, _data(step, child), notify=False)]
        for key, place in childhood.parents.items():
            parent = birth.parents[place]
            dob = parent.date_of_birth
            shapes = {
                "identity": PersonIdentity(name=parent.name, date_of_birth=dob),
                "address": where,
                "household": HouseholdPlace(age=None if dob is None else age_on(dob, today)),
            }
            people.append(Sharing(key, _data(step, shapes), notify=step.notify))
        return people

    async def _notify(
        self, step: str, template: str, outcome: ActionOutcome, resident: str
    ) -> ActionOutcome:
        # Word of the child's death may come while a step is under way: nothing is sent
        # about them from then on, to anyone.
        if self._child in self._deceased:
            return ActionOutcome(outcome="no_action", code="child_deceased")
        return await super()._notify(step, template, outcome, resident)


def _home(birth: BirthRegisteredV1) -> UkAddress:
    """Where the child lives: with the first parent registered, else with the informant."""
    if birth.parents:
        return birth.parents[0].address
    assert birth.informant is not None  # the contract: parents or an informant
    return birth.informant.address


def _data(step: PlannedStep, shapes: dict[str, Any]) -> dict[str, Any]:
    return {
        category: shapes[category].model_dump(mode="json")
        for category in step.categories
        if category in shapes
    }


def due_dates(birth: BirthRegisteredV1) -> dict[str, date]:
    """The day each dated step of a birth falls on (the plan preview shows them)."""
    return {m.code.value: m.on for m in childhood_dates(birth.child.date_of_birth).milestones}
