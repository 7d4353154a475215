"""The life-event pipeline: what every life-event workflow does, whatever the event.

A life-event workflow (a move, a birth, a death) subclasses `LifeEventPipeline` and keeps
only what is particular to its event: whom to match, the facts its plan's conditions test,
each step's data per person. The pipeline gives it

- the timeline (query), stages and search attributes, for ops, residents and caseworkers;
- resident confirmations with a deadline (update `confirm`), after which a caseworker
  takes over. Each resident asked is told that an answer waits on them (template
  `waiting.question`: the step, the day it is due, where in the portal to answer), and
  reminded once, `REMIND_BEFORE` the day, if still nobody has answered (`waiting.reminder`);
  the timeline's entry shows the day (`references["due"]`) while it waits;
- caseworker tasks with escalation (updates `decide_match`, `resolve_task`);
- identity matching in the resident index, with a caseworker deciding a doubtful match;
- the step: (resident confirms) → consent gate, one decision per person → the service's
  action with each allowed person's data and share token → each share recorded on the
  ledger, and each person to be told notified. The steps of a plan run side by side
  (`carry_out_each`), and so do a step's decisions, records and messages: a share's order
  (gate, action, ledger) is the only order there is;
- the same life event reported by many systems (`recognise`, the index's sameness rule):
  another report of it does nothing twice (`merged`: its timeline says which workflow
  handled it, and that workflow is told, signal `also_reported`); one that contradicts it
  is a caseworker task, not an action (`contradicted`);
- a source's correction of its event (`workflows.amendment`): run again on the corrected
  facts, this workflow supersedes the event's earlier run (memo `supersedes`, that run's
  record). A step whose data about each resident is what the earlier run shared stands as
  it was done (`unchanged`); one whose data changed is undone first (as a withdrawal undoes
  it: through the gate, the service's compensation, the ledger) and done again; one the
  corrected facts no longer call for is undone. The residents' answers stand;
- word of a death (signal `resident_deceased`, from the bereavement workflow): the
  deceased is no longer asked to confirm anything, nor shared about, nor written to, and
  their timeline says so. Services and notifications refuse them anyway; this keeps the
  workflow from asking.

Data about a person is decided about that person: a refusal for one resident leaves the
others' shares standing, and both show on the timeline.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from contextlib import asynccontextmanager, nullcontext, suppress
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, TypeVar

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError, FailureError

with workflow.unsafe.imports_passed_through():
    from contracts import CloudEvent
    from contracts.actions import ActionOutcome, ResidentShare, ServiceAction
    from contracts.addresses import UkAddress
    from contracts.consent import (
        Decision,
        ShareCompletion,
        ShareDecision,
        ShareRecorded,
        ShareRequest,
    )
    from contracts.dates import uk_date
    from contracts.events.common import EventReference
    from contracts.notifications import Notification
    from contracts.plan import Fact, Plan, PlannedStep, PlanRequest
    from contracts.residents import (
        CaseworkerDecision,
        ContactPlan,
        LifeEventReport,
        MatchResult,
        PersonDetails,
        ReportKind,
        SameEvent,
    )
    from contracts.shares import data_hash
    from contracts.temporal import ACTIVITY_QUEUE, UNDO, Activity, SearchAttributes, TaskQueue
    from contracts.timeline import (
        AlsoReported,
        Amended,
        Confirmation,
        DoneStep,
        EventRecord,
        MatchDecision,
        Outcome,
        PersonStatus,
        Receipt,
        StepStatus,
        Timeline,
        TimelineEntry,
        Told,
        answer_path,
    )

__all__ = [
    "ALSO_REPORTED",
    "AMENDED",
    "ASKED_TEMPLATE",
    "CASEWORKER_WITHIN",
    "CONFIRM_WITHIN",
    "REMINDER_TEMPLATE",
    "REMIND_BEFORE",
    "RESIDENT_DECEASED",
    "LifeEventPipeline",
    "Sharing",
]

CONFIRM_WITHIN = timedelta(days=14)
CASEWORKER_WITHIN = timedelta(days=5)
REMIND_BEFORE = timedelta(days=3)
"""A resident still asked this long before their answer is due is reminded, once."""

ASKED_TEMPLATE = "waiting.question"
"""What a resident asked to answer is told: the step, the day it is due, where to answer."""
REMINDER_TEMPLATE = "waiting.reminder"
"""The same, `REMIND_BEFORE` the day, when nobody has answered yet."""

RESIDENT_DECEASED = "resident_deceased"
"""The signal that tells a running life-event workflow one of its residents has died."""

SUPERSEDES = "supersedes"
"""The memo that makes a run of a life event's workflow supersede an earlier one: its record."""

AMENDED = "amended"
"""The signal that tells a life-event workflow its source withdrew or corrected the event."""

ALSO_REPORTED = "also_reported"
"""The signal that tells the workflow of a life event's first report that another source
reported it too."""

# Patches, in the order they were added. Histories recorded before each still replay.
_STAGE_WHILE_WAITING = "stage-while-waiting-for-resident"
_DECISION_PER_PERSON = "decision-per-person"
_TELLS_THOSE_ASKED = "tell-and-remind-residents-asked"
_SIDE_BY_SIDE = "steps-side-by-side"

_REPORT_STEP = "same-event"
# What a service's undo answers when the step's records are as they were before it.
_UNDONE = frozenset({"undone", "already_undone", "nothing_to_undo"})

_T = TypeVar("_T")

_QUICK = timedelta(seconds=30)
# A refusal from the gate or a receiver is an answer, not a fault: never retried.
_RETRY = RetryPolicy(
    maximum_interval=timedelta(minutes=1),
    non_retryable_error_types=["ShareRefused", "ShareDataInvalid", "ResidentIndexError"],
)


@dataclass(frozen=True)
class Sharing:
    """One resident's part in a step: exactly the data the step would share about them, and
    whether they are told what was done (an adult is; a child is not written to)."""

    resident: str
    data: dict[str, Any]
    notify: bool


class _Stopped(Exception):
    """Raised where a run stops because its event was amended (`unless_amended`)."""


class LifeEventPipeline:
    """Base of every life-event workflow: state, handlers and the steps they share."""

    def __init__(self) -> None:
        self._event_id = ""
        self._event_type = ""
        self._stage = "received"
        self._entries: dict[str, TimelineEntry] = {}
        self._tasks: list[str] = []
        self._awaiting: set[str] = set()
        self._confirmations: dict[str, bool] = {}
        self._match_decisions: dict[int, MatchDecision] = {}
        self._deceased: set[str] = set()
        self._also_reported: list[AlsoReported] = []
        self._amended: Amended | None = None
        self._about: tuple[str, ...] = ()
        self._done: list[DoneStep] = []
        # A correction's run: what the run it supersedes did, step by step, until each step
        # here has kept it, undone and redone it, or undone it.
        self._superseded: dict[str, DoneStep] = {}
        # Caseworkers' decisions on doubtful matches, by the hash of the person's details.
        self._decided: dict[str, MatchDecision] = {}
        self._supersedes: tuple[str, ...] = ()
        self._told: list[Told] = []

    # -- what ops, residents and caseworkers see ------------------------------------------

    @workflow.query
    def timeline(self) -> Timeline:
        return Timeline(
            event_id=self._event_id,
            stage=self._stage,
            needs_person=bool(self._tasks),
            entries=list(self._entries.values()),
            caseworker_tasks=list(self._tasks),
            also_reported=list(self._also_reported),
        )

    @workflow.update
    def confirm(self, confirmation: Confirmation) -> Receipt:
        self._confirmations[confirmation.step] = confirmation.accept
        return Receipt(message="Thank you, we have your answer.")

    @confirm.validator
    def _confirmable(self, confirmation: Confirmation) -> None:
        entry = self._entries.get(confirmation.step)
        if entry is not None and entry.status is StepStatus.NEEDS_PERSON:
            # Refused politely, and not recorded: a caseworker already has this in hand.
            raise ValueError(
                "Thank you. The time to answer has passed, so a caseworker will contact you "
                "about this instead."
            )
        if confirmation.step not in self._awaiting:
            raise ValueError("This step is not waiting for an answer.")

    @workflow.signal(name=RESIDENT_DECEASED)
    def resident_deceased(self, resident: str) -> None:
        self._deceased.add(resident)

    @workflow.query
    def record(self) -> EventRecord:
        return EventRecord(
            event_id=self._event_id,
            event_type=self._event_type,
            stage=self._stage,
            about=self._about,
            # What stands: what this run did, and what the run it supersedes did that this
            # one has not come to yet.
            done=(*self._done, *self._superseded.values()),
            told=tuple(self._told),
            answers=dict(self._confirmations),
            decisions=dict(self._decided),
            also_reported=tuple(self._also_reported),
            workflows=(workflow.info().workflow_id, *self._supersedes),
            amended=self._amended,
        )

    @workflow.signal(name=AMENDED)
    def amended(self, amended: Amended) -> None:
        # The first word stands: a correction after a withdrawal changes nothing here.
        if self._amended is None:
            self._amended = amended

    @workflow.signal(name=ALSO_REPORTED)
    def also_reported(self, report: AlsoReported) -> None:
        if report not in self._also_reported:
            self._also_reported.append(report)

    @workflow.update
    def decide_match(self, decision: MatchDecision) -> Receipt:
        self._match_decisions[decision.mover] = decision
        return Receipt(message="Decision recorded.")

    @decide_match.validator
    def _decidable(self, decision: MatchDecision) -> None:
        if f"match:{decision.mover}" not in self._tasks or decision.mover in self._match_decisions:
            raise ValueError("No identity decision is waiting for that mover.")
        if decision.decision not in {"link", "create"}:
            raise ValueError("decision must be link or create")
        if decision.decision == "link" and not decision.resident:
            raise ValueError("a link needs the resident key")

    @workflow.update
    def resolve_task(self, task: str) -> Receipt:
        """A caseworker has dealt with a task outside the automated plan."""
        self._close_task(task)
        return Receipt(message="Task closed.")

    @resolve_task.validator
    def _resolvable(self, task: str) -> None:
        if task not in self._tasks or task.startswith("match:"):
            raise ValueError("No such open task (identity decisions use decide_match).")

    # -- the parts of a run -------------------------------------------------------------------

    async def begin(self, event: CloudEvent[Any], facts: dict[str, Fact]) -> Plan:
        """Say which event this is, and plan it from the catalogue."""
        self.announce(event)
        return await self.plan(event, facts)

    def announce(self, event: CloudEvent[Any]) -> None:
        """Say which event this is, to ops (search attributes) and on the timeline."""
        self._event_id = event.id
        self._event_type = event.type
        earlier = workflow.memo_value(SUPERSEDES, None, type_hint=EventRecord)
        if earlier is not None and not self._supersedes:
            self._supersedes = earlier.workflows
            self._superseded = {d.step: d for d in earlier.done}
            self._confirmations.update(earlier.answers)
            self._decided.update(earlier.decisions)
        workflow.upsert_search_attributes(
            [
                SearchAttributes.LIFE_EVENT_TYPE.value_set(event.type),
                SearchAttributes.LIFE_EVENT_ID.value_set(event.id),
            ]
        )

    async def plan(self, event: CloudEvent[Any], facts: dict[str, Fact]) -> Plan:
        """The event's plan from the catalogue, every step on the timeline."""
        self._set_stage("planning")
        plan: Plan = await workflow.execute_activity(
            Activity.PLAN_EVENT,
            PlanRequest(event_type=event.type, event_id=event.id, facts=facts),
            result_type=Plan,
            start_to_close_timeout=_QUICK,  # on this worker's own queue
        )
        for step in plan.steps:
            self._entries[step.name] = TimelineEntry(
                step=step.name,
                service=step.service,
                status=StepStatus.WAITING if step.applies else StepStatus.SKIPPED,
                reason=step.reason,
            )
        for name in [n for n in self._superseded if n not in {s.name for s in plan.active}]:
            # The corrected facts no longer call for it.
            await self.undo_step(event, self._superseded.pop(name))
        return plan

    async def match(self, people: Sequence[PersonDetails], first: int = 0) -> tuple[str, ...]:
        """Each person's resident key; a doubtful match waits for a caseworker's decision.
        People are numbered from `first` (in tasks and decisions) when a workflow matches
        more than once."""
        self._set_stage("matching")
        matches: list[MatchResult] = await self._call(
            Activity.MATCH_PEOPLE, list(people), list[MatchResult]
        )
        keys: list[str] = []
        for index, match in enumerate(matches, start=first):
            if match.resident is not None:
                keys.append(match.resident)
                continue
            # Doubtful: a caseworker decides who this is; automation does not guess. One
            # decided about the same person before (the run a correction supersedes) stands.
            person = data_hash(people[index - first].model_dump(mode="json"))
            decision = self._decided.get(person) or await self._wait_for_caseworker(index)
            self._decided[person] = decision
            resolved: MatchResult = await self._call(
                Activity.RESOLVE_DOUBTFUL,
                CaseworkerDecision(
                    person=people[index - first],
                    decision="link" if decision.decision == "link" else "create",
                    resident=decision.resident,
                    workflow_id=workflow.info().workflow_id,
                    step=f"match-{index}",
                ),
                MatchResult,
            )
            assert resolved.resident is not None
            keys.append(resolved.resident)
        return tuple(keys)

    async def recognise(
        self,
        kind: ReportKind,
        event: CloudEvent[Any],
        residents: Sequence[str],
        on: date,
        new_address: UkAddress | None = None,
    ) -> SameEvent:
        """Whether this is the first report of its life event, another report of one
        already handled, or one that contradicts it (the index's sameness rule). The
        workflow of the first report is told of another (signal `also_reported`)."""
        self.stop_if_amended()
        self._about = tuple(dict.fromkeys(residents))
        same: SameEvent = await self._call(
            Activity.CLAIM_REPORT,
            LifeEventReport(
                kind=kind,
                event=EventReference(source=event.source, id=event.id),
                residents=self._about,
                on=on,
                new_address=new_address,
                workflow_id=workflow.info().workflow_id,
            ),
            SameEvent,
        )
        if same.verdict == "same":
            # One that has finished fails the signal: its timeline is complete as it is.
            with suppress(FailureError):
                await workflow.get_external_workflow_handle(same.first_workflow).signal(
                    ALSO_REPORTED,
                    AlsoReported(
                        event=EventReference(source=event.source, id=event.id),
                        workflow_id=workflow.info().workflow_id,
                        added=same.added,
                    ),
                )
        return same

    async def merged(self, event: CloudEvent[Any], same: SameEvent) -> Outcome:
        """Another report of a life event already handled: every step not done here (for
        the people it adds) says which workflow has it; nothing is done twice."""
        self._skip_open_steps("already_handled", same)
        await self.settle()
        self._set_stage("merged")
        return Outcome(type=event.type, id=event.id, stage=self._stage, merged_into=same.first)

    async def contradicted(self, event: CloudEvent[Any], same: SameEvent) -> Outcome:
        """A report that contradicts the first report of its life event (another new
        address, another date of death): a caseworker settles it (with the sources: a
        correction or a withdrawal of one of them); automation acts on neither."""
        self._skip_open_steps("contradicts_earlier_report", same)
        self._open_task(f"contradiction:{same.first_workflow}")
        await self.settle()
        self._set_stage("contradicted")
        return Outcome(type=event.type, id=event.id, stage=self._stage, merged_into=same.first)

    def _skip_open_steps(self, reason: str, same: SameEvent) -> None:
        """Every step still open says why not here, and where instead; so does the entry
        for the report itself ("already handled, see …")."""
        references = {"handled_by": same.first_workflow}
        if same.differences:
            references["differs"] = ",".join(same.differences)
        self._entries[_REPORT_STEP] = TimelineEntry(
            step=_REPORT_STEP,
            service=TaskQueue.RESIDENTS,
            status=StepStatus.SKIPPED,
            reason=reason,
            references={
                **references,
                "first_source": same.first.source,
                "first_event_id": same.first.id,
            },
        )
        self.skip_waiting(reason, references)

    def skip_waiting(self, reason: str, references: dict[str, str] | None = None) -> None:
        """Every step still waiting is skipped, with `reason`, and `references` instead of its
        own when given."""
        for entry in self.entries:
            if entry.status in (StepStatus.WAITING, StepStatus.WAITING_FOR_RESIDENT):
                self._update(
                    entry.step,
                    StepStatus.SKIPPED,
                    reason=reason,
                    references=entry.references if references is None else references,
                )

    async def carry_out_each(
        self,
        steps: Sequence[PlannedStep],
        event: CloudEvent[Any],
        people: Callable[[PlannedStep], Sequence[Sharing]],
    ) -> None:
        """Each step carried out, side by side: no step of a plan waits on another's
        result, so an event takes as long as its slowest step, not the sum of them all.
        Each share still goes gate → action → ledger, in that order."""
        await self._each(self.carry_out(step, event, people(step)) for step in steps)

    async def carry_out(
        self, step: PlannedStep, event: CloudEvent[Any], people: Sequence[Sharing]
    ) -> None:
        """One step of the plan: (the service's check) → (resident confirms) → gate per
        person → action → ledger → notify. Nothing starts once the event is amended."""
        if self._amended is not None:
            self._update(step.name, StepStatus.SKIPPED, reason=self._amended.kind)
            return
        earlier = self._superseded.pop(step.name, None)
        if earlier is not None:
            now = {
                p.resident: data_hash(p.data) for p in people if p.resident not in self._deceased
            }
            if now == earlier.shared:
                self._keep(earlier, people)
                return
            await self.undo_step(event, earlier)
        if step.check and not await self._worth_asking(step, event, people):
            return
        if step.confirm and not await self._confirmed(step, people):
            return
        if not workflow.patched(_DECISION_PER_PERSON):
            # Recorded when one decision stood for the household: replay it as it ran.
            people = [Sharing(people[0].resident, people[0].data, notify=True)]
        shares, refused = await self._gate(step, people)
        if not shares:
            return
        outcome = await self._act(step, step.activity, event, people, shares, refused)
        if outcome is None:
            return
        # The ledger and the residents need nothing from each other: both at once.
        _, untold = await self._each(
            [self._record(shares), self._tell(step, outcome, people, refused)]
        )
        self._done.append(
            DoneStep(
                step=step.name,
                workflow_id=workflow.info().workflow_id,
                service=step.service,
                purpose=step.purpose,
                recipient=step.shared_with,
                categories=tuple(step.categories),
                shared={share.resident: data_hash(share.data) for share in shares},
            )
        )
        self._update(
            step.name, StepStatus.DONE, outcome=outcome.code, references=outcome.references
        )
        self._people(step.name, people, refused, untold)

    async def _tell(
        self,
        step: PlannedStep,
        outcome: ActionOutcome,
        people: Sequence[Sharing],
        refused: dict[str, str],
    ) -> dict[str, str]:
        """Each person to be told of the step, told; why any of them was not."""
        told = [p.resident for p in people if p.notify and p.resident not in refused]
        answers = await self._each(
            self._notify(step.name, step.notification, outcome, resident) for resident in told
        )
        return {
            resident: "not_told_deceased"
            for resident, answer in zip(told, answers, strict=True)
            if answer.code == "deceased"
        }

    def _keep(self, earlier: DoneStep, people: Sequence[Sharing]) -> None:
        """A step of the superseded run that the correction does not change: it stands."""
        self._done.append(earlier)
        self._update(
            earlier.step,
            StepStatus.DONE,
            outcome="unchanged",
            references={"done_by": earlier.workflow_id},
        )
        self._people(earlier.step, people, {})

    async def retire_superseded(self, event: CloudEvent[Any]) -> None:
        """What the superseded run did that this run has not come to (it ended first): undone."""
        for name in list(self._superseded):
            await self.undo_step(event, self._superseded.pop(name))

    async def undo_step(self, event: CloudEvent[Any], done: DoneStep) -> None:
        """Undo a step a service acted on, as it was done: the gate decides about each
        resident again (a compensation, `reverses`), the service undoes its action (its
        compensation), and each share goes on the ledger. Its timeline entry is
        `undo-<step>`; what the service could not undo is a caseworker's task."""
        step = f"undo-{done.step}"
        shares: list[ResidentShare] = []
        refused: dict[str, str] = {}
        for resident in done.shared:
            decision: ShareDecision = await self._call(
                Activity.DECIDE_SHARE,
                ShareRequest(
                    resident=resident,
                    purpose=done.purpose,
                    recipient=done.recipient,
                    data_categories=list(done.categories),
                    data_hash=data_hash({}),
                    reverses=True,
                ),
                ShareDecision,
            )
            if decision.decision is Decision.ALLOW and decision.share_token is not None:
                shares.append(
                    ResidentShare(resident=resident, share_token=decision.share_token, data={})
                )
            else:
                refused[resident] = decision.reason
        people = tuple(
            PersonStatus(resident=r, status=StepStatus.SKIPPED, reason=refused[r])
            if r in refused
            else PersonStatus(resident=r, status=StepStatus.DONE)
            for r in done.shared
        )
        undo = UNDO.get(TaskQueue(done.service)) if done.service in set(TaskQueue) else None
        if not shares or undo is None:
            self._hand_on(step, done.service, "undo_refused" if undo else "no_undo", people)
            return
        try:
            outcome: ActionOutcome = await workflow.execute_activity(
                undo,
                ServiceAction(
                    workflow_id=done.workflow_id,
                    step=done.step,
                    event_id=event.id,
                    event_type=event.type,
                    shares=tuple(shares),
                ),
                result_type=ActionOutcome,
                task_queue=done.service,
                start_to_close_timeout=timedelta(minutes=2),
                retry_policy=_RETRY,
            )
        except ActivityError as error:
            if not isinstance(error.cause, ApplicationError):
                raise
            self._hand_on(step, done.service, error.cause.message or "undo_refused", people)
            return
        for share in shares:
            await self._call(
                Activity.RECORD_SHARE, ShareCompletion(share_token=share.share_token), ShareRecorded
            )
        if outcome.code not in _UNDONE:
            self._hand_on(step, done.service, outcome.code, people)
            return
        self._entries[step] = TimelineEntry(
            step=step,
            service=done.service,
            status=StepStatus.DONE,
            outcome=outcome.code,
            references=outcome.references,
            people=people,
        )

    def _hand_on(
        self, step: str, service: str, reason: str, people: tuple[PersonStatus, ...] = ()
    ) -> None:
        """What automation could not do goes on the timeline and to a caseworker."""
        self._entries[step] = TimelineEntry(
            step=step, service=service, status=StepStatus.NEEDS_PERSON, reason=reason, people=people
        )
        self._open_task(step)

    async def finish(self, event: CloudEvent[Any]) -> Outcome:
        """Wait for every open caseworker task, then complete."""
        await self.retire_superseded(event)
        await self.settle()
        self._set_stage("complete")
        return Outcome(type=event.type, id=event.id, stage=self._stage)

    async def settle(self) -> None:
        """Wait for every open caseworker task; overdue, the caseworker queue shows it first."""
        if self._tasks and self._amended is None:
            self._set_stage("needs_person")
            try:
                await workflow.wait_condition(self._settled, timeout=CASEWORKER_WITHIN)
            except TimeoutError:
                self._set_stage("escalated")
                await workflow.wait_condition(self._settled)

    def _settled(self) -> bool:
        # An amended event's open tasks go with it: the amending workflow hands on what
        # still needs a person.
        return not self._tasks or self._amended is not None

    async def unless_amended(self, event: CloudEvent[Any], body: Awaitable[Outcome]) -> Outcome:
        """The workflow's run, unless its source withdraws or corrects the event meanwhile:
        then it stops where it is (every step not started is skipped) and ends with stage
        `withdrawn` or `corrected`, for the amending workflow to undo what it did."""
        try:
            outcome = await body
        except _Stopped:
            pass
        else:
            if self._amended is None:
                return outcome
        assert self._amended is not None
        self.skip_waiting(self._amended.kind, {})
        if self._tasks:
            self._tasks.clear()
            workflow.upsert_search_attributes([SearchAttributes.NEEDS_PERSON.value_set(False)])
        self._set_stage(self._amended.kind)
        return Outcome(
            type=event.type, id=event.id, stage=self._stage, merged_into=self._amended.by
        )

    def stop_if_amended(self) -> None:
        """Between two things a run does one after the other: stop there if amended."""
        if self._amended is not None:
            raise _Stopped

    @property
    def entries(self) -> list[TimelineEntry]:
        """The timeline's entries so far, in plan order."""
        return list(self._entries.values())

    # -- inside a step ------------------------------------------------------------------------

    async def _gate(
        self, step: PlannedStep, people: Sequence[Sharing]
    ) -> tuple[list[ResidentShare], dict[str, str]]:
        """One decision per person: the shares allowed, and why each other person's was not.
        With none allowed the step is skipped, and the timeline says why for each."""
        shares: list[ResidentShare] = []
        refused: dict[str, str] = {}
        decisions = await self._each(self._decide(step, person) for person in people)
        for person, decision in zip(people, decisions, strict=True):
            if decision is None:
                # Word of a death came while this workflow ran: nothing more about them.
                refused[person.resident] = "resident_deceased"
            elif decision.decision is Decision.ALLOW and decision.share_token is not None:
                shares.append(
                    ResidentShare(
                        resident=person.resident,
                        share_token=decision.share_token,
                        data=person.data,
                    )
                )
            else:
                refused[person.resident] = decision.reason
        if not shares:
            self._update(step.name, StepStatus.SKIPPED, reason=next(iter(refused.values())))
            self._people(step.name, people, refused)
        return shares, refused

    async def _act(
        self,
        step: PlannedStep,
        activity: str,
        event: CloudEvent[Any],
        people: Sequence[Sharing],
        shares: Sequence[ResidentShare],
        refused: dict[str, str],
    ) -> ActionOutcome | None:
        """The service's answer, each share it received recorded on the ledger; None when it
        refused (the step is then skipped, and the timeline says why)."""
        try:
            outcome: ActionOutcome = await workflow.execute_activity(
                activity,
                ServiceAction(
                    workflow_id=workflow.info().workflow_id,
                    step=step.name,
                    event_id=event.id,
                    event_type=event.type,
                    shares=tuple(shares),
                ),
                result_type=ActionOutcome,
                task_queue=step.service,
                start_to_close_timeout=timedelta(minutes=2),
                retry_policy=_RETRY,
            )
        except ActivityError as error:
            if not isinstance(error.cause, ApplicationError):
                raise
            # A refusal's message is its code (`resident_deceased`, `expired`…); say which.
            refusal = error.cause.type == "ShareRefused" and error.cause.message
            reason = refusal or error.cause.type or "refused"
            self._update(step.name, StepStatus.SKIPPED, reason=reason)
            self._people(
                step.name, people, {p.resident: refused.get(p.resident, reason) for p in people}
            )
            return None
        return outcome

    async def _record(self, shares: Sequence[ResidentShare]) -> None:
        """Each share a service received, on the ledger."""
        await self._each(
            self._call(
                Activity.RECORD_SHARE, ShareCompletion(share_token=share.share_token), ShareRecorded
            )
            for share in shares
        )

    async def _worth_asking(
        self, step: PlannedStep, event: CloudEvent[Any], people: Sequence[Sharing]
    ) -> bool:
        """The service's check, through the gate like any share: whether it has anything to
        act on (a claim a new dependant changes). Nobody is asked about a step that would do
        nothing; the timeline says why it was skipped, in the service's code."""
        assert step.check is not None
        shares, refused = await self._gate(step, people)
        if not shares:
            return False
        answer = await self._act(step, step.check, event, people, shares, refused)
        if answer is None:
            return False
        await self._record(shares)
        if answer.outcome != "done":
            self._update(step.name, StepStatus.SKIPPED, reason=answer.code)
            self._people(step.name, people, refused)
            return False
        return True

    async def _decide(self, step: PlannedStep, person: Sharing) -> ShareDecision | None:
        """The gate's decision about one person; None when they are known to have died."""
        if person.resident in self._deceased:
            return None
        decision: ShareDecision = await self._call(
            Activity.DECIDE_SHARE,
            ShareRequest(
                resident=person.resident,
                purpose=step.purpose,
                recipient=step.shared_with,
                data_categories=list(step.categories),
                data_hash=data_hash(person.data),
            ),
            ShareDecision,
        )
        return decision

    async def _confirmed(self, step: PlannedStep, people: Sequence[Sharing]) -> bool:
        # Those who are asked: the people told of the step. When every one of them has died
        # while we waited, nobody is left to answer: a caseworker takes it on. In the event's
        # order (never a set's, which differs from one worker process to the next): they are
        # written to in it.
        asked = tuple(dict.fromkeys(p.resident for p in people if p.notify))

        def answered_or_nobody_left() -> bool:
            return (
                step.name in self._confirmations
                or (bool(asked) and set(asked) <= self._deceased)
                or self._amended is not None
            )

        self._awaiting.add(step.name)
        deadline = workflow.now() + CONFIRM_WITHIN
        # The day the answer is due, in the UK, for the portal to show while the step waits.
        self._update(
            step.name,
            StepStatus.WAITING_FOR_RESIDENT,
            references={"due": _due_day(deadline)},
        )
        # Added after the first release: ops filter on the stage while a resident is asked.
        # Moves recorded before it replay without these search-attribute updates.
        shows_wait = workflow.patched(_STAGE_WHILE_WAITING)
        if shows_wait:
            self._set_stage("waiting_for_resident")
        # Added later: those asked are told, and reminded, while the step waits. Runs that
        # were waiting before it replay without these activities and timer. Nobody is told
        # of an answer already given (a correction's run keeps the residents' answers).
        tells = (
            bool(asked) and not answered_or_nobody_left() and workflow.patched(_TELLS_THOSE_ASKED)
        )
        async with (
            self._telling_those_asked(step.name, asked, deadline, answered_or_nobody_left)
            if tells
            else nullcontext()
        ):
            try:
                await workflow.wait_condition(answered_or_nobody_left, timeout=CONFIRM_WITHIN)
            except TimeoutError:
                self._awaiting.discard(step.name)
                self._update(step.name, StepStatus.NEEDS_PERSON, reason="no_answer_in_time")
                self._open_task(f"confirm:{step.name}")
                if shows_wait:
                    self._set_stage(self._stage_after_waiting())
                return False
            except asyncio.CancelledError:
                # Stopped from outside (a birth's offer, when the child died): no longer due.
                self._update(step.name, StepStatus.WAITING_FOR_RESIDENT)
                raise
            # What the answer means is settled before any message still on its way is
            # waited for: the timeline and the stage do not wait on the notification service.
            self._awaiting.discard(step.name)
            if self._amended is not None:
                self._update(step.name, StepStatus.SKIPPED, reason=self._amended.kind)
                return False
            if step.name not in self._confirmations:
                self._update(step.name, StepStatus.NEEDS_PERSON, reason="resident_deceased")
                self._open_task(f"confirm:{step.name}")
                if shows_wait:
                    self._set_stage(self._stage_after_waiting())
                return False
            if shows_wait:
                self._set_stage(self._stage_after_waiting())
            if not self._confirmations[step.name]:
                self._update(step.name, StepStatus.SKIPPED, reason="declined_by_resident")
                return False
            return True

    @asynccontextmanager
    async def _telling_those_asked(
        self,
        step: str,
        asked: Sequence[str],
        deadline: datetime,
        answered_or_nobody_left: Callable[[], bool],
    ) -> AsyncIterator[None]:
        """Those asked told, and reminded, beside the wait it wraps, so that the deadline
        holds whatever the notification service does. When the wait ends (answered, nobody
        left to answer, amended, or the deadline), no reminder is sent any more; a message
        already on its way is let finish, and waited for, so that what the resident was told
        is on the record. When the wait is stopped from outside (a birth's offer cancelled),
        the messages stop where they are."""
        wait_over = False

        def nothing_more_to_say() -> bool:
            return wait_over or answered_or_nobody_left()

        telling = asyncio.create_task(
            self._tell_those_asked(step, asked, deadline, nothing_more_to_say)
        )
        try:
            yield
        except GeneratorExit:
            raise  # the workflow's instance torn down (its worker gone): nothing to stop
        except BaseException:
            telling.cancel()
            raise
        wait_over = True
        await telling

    async def _tell_those_asked(
        self,
        step: str,
        asked: Sequence[str],
        deadline: datetime,
        nothing_more_to_say: Callable[[], bool],
    ) -> None:
        """Each resident asked learns that an answer waits on them: the step, the day it is
        due and where to answer. Still unanswered `REMIND_BEFORE` the deadline, they are
        reminded, once; the durable timer goes as soon as there is nothing more to say (an
        answer, nobody left to answer, the event amended, the wait over). Each message is a
        step of its own (`<step>:asked`, `<step>:reminder`), so the notification service
        sends each once, and apart from what is told when the step is done."""
        references = {
            "step": step,
            "due": _due_day(deadline),
            "path": answer_path(workflow.info().workflow_id, step),
        }
        await self._tell_waiting(f"{step}:asked", ASKED_TEMPLATE, references, asked)
        remind_in = deadline - REMIND_BEFORE - workflow.now()
        try:
            await workflow.wait_condition(
                nothing_more_to_say, timeout=max(remind_in, timedelta(seconds=1))
            )
        except TimeoutError:
            if not nothing_more_to_say():
                await self._tell_waiting(f"{step}:reminder", REMINDER_TEMPLATE, references, asked)

    async def _tell_waiting(
        self, step: str, template: str, references: dict[str, str], residents: Sequence[str]
    ) -> None:
        """One message to each of `residents`, but never to one known to have died."""
        waiting = ActionOutcome(outcome="done", code="waiting_for_resident", references=references)
        for resident in residents:
            if resident in self._deceased:
                continue
            try:
                await self._notify(step, template, waiting, resident)
            except ActivityError as error:
                if not isinstance(error.cause, ApplicationError):
                    raise
                # Refused for good (a notification service that does not know the template
                # yet, a resident the index cannot reach): the step still waits for the
                # answer, and a caseworker takes it on at the deadline as ever.
                workflow.logger.warning(
                    "waiting_message_refused",
                    extra={"step": step, "code": error.cause.message or error.cause.type},
                )

    def _stage_after_waiting(self) -> str:
        # Steps may wait side by side (a birth's offers): the stage shows any still waiting.
        return "waiting_for_resident" if self._awaiting else "acting"

    async def _notify(
        self, step: str, template: str, outcome: ActionOutcome, resident: str
    ) -> ActionOutcome:
        """The resident told, on their channel; the notification service's answer (`deceased`
        when it refused)."""
        contact: ContactPlan = await self._call(Activity.CONTACT_FOR, resident, ContactPlan)
        told: ActionOutcome = await self._call(
            Activity.NOTIFICATIONS_SEND,
            Notification(
                resident=resident,
                template=template,
                references=outcome.references,
                workflow_id=workflow.info().workflow_id,
                step=step,
                deceased=contact.deceased,
                channels=contact.channels,
                email=contact.email,
                phone=contact.phone,
                address=contact.address,
            ),
            ActionOutcome,
        )
        if told.outcome == "done":
            self._told.append(
                Told(step=step, resident=resident, channel=told.references.get("channel", ""))
            )
        return told

    async def _wait_for_caseworker(self, mover: int) -> MatchDecision:
        task = f"match:{mover}"
        self._open_task(task)

        def decided() -> bool:
            return mover in self._match_decisions or self._amended is not None

        try:
            await workflow.wait_condition(decided, timeout=CASEWORKER_WITHIN)
        except TimeoutError:
            # Escalated: still a person's decision, now overdue; the wait goes on.
            self._set_stage("escalated")
            await workflow.wait_condition(decided)
        self.stop_if_amended()
        self._close_task(task)
        self._set_stage("matching")
        return self._match_decisions[mover]

    async def _each(self, work: Iterable[Awaitable[_T]]) -> list[_T]:
        """Each piece of `work`, side by side; in runs recorded before that was so, one
        after another, as they ran. Should one fail, the others are stopped."""
        if not workflow.patched(_SIDE_BY_SIDE):
            return [await piece for piece in work]
        tasks = [asyncio.ensure_future(piece) for piece in work]
        try:
            return list(await asyncio.gather(*tasks))
        except GeneratorExit:
            raise  # the workflow's instance torn down (its worker gone): nothing to stop
        except BaseException:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            raise

    async def _call(self, activity: Activity, argument: Any, result_type: type[Any]) -> Any:
        """A platform activity (index, gate, ledger, notifications) on the queue that serves it."""
        return await workflow.execute_activity(
            activity,
            argument,
            result_type=result_type,
            task_queue=ACTIVITY_QUEUE[activity],
            start_to_close_timeout=_QUICK,
            retry_policy=_RETRY,
        )

    # -- bookkeeping --------------------------------------------------------------------------

    def _update(
        self,
        step: str,
        status: StepStatus,
        *,
        reason: str = "",
        outcome: str = "",
        references: dict[str, str] | None = None,
    ) -> None:
        entry = self._entries[step]
        self._entries[step] = entry.model_copy(
            update={
                "status": status,
                "reason": reason,
                "outcome": outcome,
                "references": references or {},
            }
        )

    def _people(
        self,
        step: str,
        people: Sequence[Sharing],
        refused: dict[str, str],
        untold: dict[str, str] | None = None,
    ) -> None:
        """Each person's part in the step: skipped and why, or done (and why they were not
        told, when a notification was refused)."""
        untold = untold or {}
        statuses = tuple(
            PersonStatus(resident=p.resident, status=StepStatus.SKIPPED, reason=refused[p.resident])
            if p.resident in refused
            else PersonStatus(
                resident=p.resident, status=StepStatus.DONE, reason=untold.get(p.resident, "")
            )
            for p in people
        )
        self._entries[step] = self._entries[step].model_copy(update={"people": statuses})

    def _set_stage(self, stage: str) -> None:
        self._stage = stage
        workflow.upsert_search_attributes([SearchAttributes.STAGE.value_set(stage)])

    def _open_task(self, task: str) -> None:
        self._tasks.append(task)
        workflow.upsert_search_attributes([SearchAttributes.NEEDS_PERSON.value_set(True)])

    def _close_task(self, task: str) -> None:
        self._tasks.remove(task)
        workflow.upsert_search_attributes(
            [SearchAttributes.NEEDS_PERSON.value_set(bool(self._tasks))]
        )


def _due_day(deadline: datetime) -> str:
    """The last day, in the UK, that a resident has whole before the deadline: "answer by"
    that day holds whatever the hour they answer (the wait ends at the hour it began). The
    day before the deadline's, by the calendar: a day in which the clocks change is a day."""
    return (uk_date(deadline) - timedelta(days=1)).isoformat()
