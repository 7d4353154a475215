"""WithdrawalWorkflow and CorrectionWorkflow: a source takes back a life event it sent, or
puts it right.

**Withdrawal.**

1. *Held, if it came first.* Kafka keeps no order across partitions or sources, so the
   withdrawal may arrive before the event. Then `WithdrawnEvent` takes the event's workflow
   ID (derived from its source and id, as the orchestrator derives it; reuse rejected): the
   event, when it arrives, finds its ID taken and starts nothing.
2. *Stopped.* Otherwise the event's workflow is told (signal `amended`): it starts no step
   more, stops waiting for anyone, and ends. Its record (query `record`), read once it has
   closed, says what it did: each step a service acted on, with each share, who was told
   what by which channel, and the residents' answers. Each correction's run on its
   corrected facts (`<event's ID>/corrected-<n>`) is stopped and read too, the latest
   holding what stands of all; and the withdrawal takes the next such ID itself, so no
   correction arriving after it runs.
3. *Undone, last first, as it was done.* For each step a service acted on: the gate decides
   about each resident again (`reverses`: a compensation, on the ledger as one), the
   service undoes its action (its compensation, declared beside the action), and each
   share goes on the ledger. Then the platform's own records of the event: the resident
   index (a move, a birth, a death mark, the report itself), the gate's and the
   notification service's record of a death.
4. *What cannot be undone* is listed on the timeline and handed to a caseworker: a step a
   service could not undo (its records changed since, or an organisation outside the
   council was told), and every letter already posted.
5. *An apology*, once to each resident who was told anything, and to a resident wrongly
   recorded as having died: plainly, what was undone and why.

**Correction.** Carries the whole corrected payload. If it came first, the event's workflow
is started under the event's ID on the corrected facts: the event, when it arrives, starts
nothing. Otherwise the event's latest run is stopped and read (2), the platform's records of
it are undone (the corrected facts are matched and recorded again), and the event's
workflow runs again on the corrected facts under the next free `<event's ID>/corrected-<n>`,
superseding the run it stopped: each step whose data is unchanged stands, each changed one
is undone and done again, one no longer called for is undone (`workflows.pipeline`); the
residents' answers stand. Nobody is asked again what they answered, nor told twice what did
not change. One that finds the event withdrawn does nothing.

The runs of one event are ordered by those IDs, each taken once (reuse rejected): whichever
of a correction and a withdrawal takes the next one first, the other sees it, so the two
never act on the event at the same time.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from contextlib import suppress
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import (
    ActivityError,
    ApplicationError,
    FailureError,
    WorkflowAlreadyStartedError,
)

with workflow.unsafe.imports_passed_through():
    from contracts import CloudEvent, DeathRegisteredV1
    from contracts.actions import ActionOutcome, UndoRequest
    from contracts.cloudevents import event_model
    from contracts.events.amendment import EventCorrectedV1, EventWithdrawnV1
    from contracts.events.common import EventReference
    from contracts.temporal import (
        ACTIVITY_QUEUE,
        WORKFLOW_FOR_EVENT_TYPE,
        Activity,
        TaskQueue,
        corrected_id,
        workflow_id_for,
    )
    from contracts.timeline import (
        Amended,
        EventRecord,
        Outcome,
        PersonStatus,
        StepStatus,
        TimelineEntry,
    )

from workflows.pipeline import AMENDED, SUPERSEDES, LifeEventPipeline

__all__ = [
    "APOLOGY_TEMPLATE",
    "AROUND_A_CORRECTION",
    "AROUND_A_WITHDRAWAL",
    "CorrectionWorkflow",
    "WithdrawalWorkflow",
    "WithdrawnEvent",
]

APOLOGY_TEMPLATE = "withdrawn.apology"

AROUND_A_WITHDRAWAL = (
    (
        "If the event has not arrived, it is held: when it comes, it starts nothing.",
        "Otherwise its workflow stops where it is, and each step a service acted on is "
        "undone, last first, through the consent gate as it was done; then the resident "
        "index's, the gate's and the notification service's records of it.",
    ),
    (
        "What cannot be undone (a letter posted, an organisation outside the council told) "
        "goes to a caseworker; each resident told anything gets one apology.",
    ),
)
"""What a withdrawal's workflow does, for the plan preview (it has no plan of its own)."""

AROUND_A_CORRECTION = (
    (
        "If the event has not arrived, it is acted on as corrected: when it comes, it starts "
        "nothing.",
        "Otherwise its workflow stops where it is and runs again on the corrected facts: a "
        "step whose data is unchanged stands, a changed one is undone and done again, one no "
        "longer called for is undone. Nobody is asked again what they answered.",
    ),
    (),
)
"""What a correction's workflow does, for the plan preview (it has no plan of its own)."""

# The record is read once the event's workflow has closed: until then, asked again.
_UNTIL_CLOSED = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2,
    maximum_interval=timedelta(seconds=30),
    non_retryable_error_types=["NoRecord"],
)
_NOTHING_LEFT = frozenset({"already_undone", "nothing_to_undo"})
_RECORDS = (
    (Activity.RESIDENTS_UNDO, "undo-resident-index"),
    (Activity.GATE_UNDO_DEATH, "undo-death-in-gate"),
    (Activity.NOTIFICATIONS_UNDO_DEATH, "undo-death-in-notifications"),
)
_MOST_CORRECTIONS = 20


@workflow.defn
class WithdrawnEvent:
    """Holds the ID of an event withdrawn before it arrived: it ends at once, and the event,
    when it comes, starts nothing (the orchestrator finds the ID taken)."""

    @workflow.run
    async def run(self, withdrawn: Outcome) -> Outcome:
        return withdrawn


_Take = Callable[[str, EventRecord], Awaitable[bool]]


def _withdrawn(record: EventRecord) -> bool:
    """Withdrawn by another amendment (a withdrawal, or its hold on a run's ID)."""
    amended = record.amended
    return (
        amended is not None
        and amended.kind == "withdrawn"
        and amended.workflow_id != workflow.info().workflow_id
    )


class _Amending(LifeEventPipeline):
    """What a withdrawal and a correction share: stopping the event's workflow and reading
    what it did, and undoing the platform's records of it."""

    def _by(self, event: CloudEvent[Any]) -> EventReference:
        return EventReference(source=event.source, id=event.id)

    async def _latest(
        self, event: CloudEvent[Any], original: str, kind: str, take: _Take
    ) -> EventRecord | None:
        """Stop the event's runs, first to latest, and read the latest's record (what stands
        of them all); then take the next run's ID with `take` (None: the ID was taken by
        another amendment meanwhile, whose run is stopped and read in turn). None when the
        event was withdrawn already (a withdrawal took a run's ID)."""
        record = await self._stop(event, original, kind)
        assert record is not None  # its ID is taken: the orchestrator or an amendment took it
        for n in range(1, _MOST_CORRECTIONS + 1):
            if _withdrawn(record):
                return None
            slot = corrected_id(original, n)
            if await take(slot, record):
                return record
            later = await self._stop(event, slot, kind)
            if later is not None:
                record = later
        raise ApplicationError("too_many_corrections", non_retryable=True)

    async def _stop(
        self, event: CloudEvent[Any], workflow_id: str, kind: str
    ) -> EventRecord | None:
        """Tell a workflow of the event to stop, and read its record once it has closed
        (None: there is no such workflow)."""
        # One that has closed fails the signal: its record is complete.
        with suppress(FailureError):
            await workflow.get_external_workflow_handle(workflow_id).signal(
                AMENDED,
                Amended(
                    kind="withdrawn" if kind == "withdrawn" else "corrected",
                    by=self._by(event),
                    workflow_id=workflow.info().workflow_id,
                ),
            )
        self._set_stage("stopping")
        try:
            record: EventRecord = await workflow.execute_activity(
                Activity.RECORD_OF,
                workflow_id,
                result_type=EventRecord,
                task_queue=workflow.info().task_queue,
                start_to_close_timeout=timedelta(seconds=30),
                retry_policy=_UNTIL_CLOSED,
            )
        except ActivityError as error:
            if isinstance(error.cause, ApplicationError) and error.cause.type == "NoRecord":
                return None
            raise
        return record

    async def _undo_records(self, record: EventRecord, original: str) -> bool:
        """The platform's own records of the event, for every workflow that held it: the
        resident index's, and the gate's and the notification service's record of a death.
        False when one could not be undone (a caseworker has it)."""
        undone = True
        for workflow_id in record.workflows or (original,):
            request = UndoRequest(workflow_id=workflow_id, undone_by=workflow.info().workflow_id)
            for activity, name in _RECORDS:
                outcome: ActionOutcome = await self._call(activity, request, ActionOutcome)
                queue = str(ACTIVITY_QUEUE[activity])
                if outcome.outcome == "done" or outcome.code in {
                    "already_undone",
                    "nothing_to_undo",
                }:
                    self._entry(name, queue, StepStatus.DONE, outcome=outcome.code)
                else:
                    self._hand_on(name, queue, outcome.code)
                    undone = False
        return undone

    def _entry(
        self,
        step: str,
        service: str,
        status: StepStatus,
        *,
        outcome: str = "",
        references: dict[str, str] | None = None,
        people: tuple[PersonStatus, ...] = (),
    ) -> None:
        self._entries[step] = TimelineEntry(
            step=step,
            service=service,
            status=status,
            outcome=outcome,
            references=references or {},
            people=people,
        )


@workflow.defn
class WithdrawalWorkflow(_Amending):
    @workflow.run
    async def run(self, event: CloudEvent[EventWithdrawnV1]) -> Outcome:
        self.announce(event)
        withdrawal = event.data
        original = workflow_id_for(withdrawal.withdraws.source, withdrawal.withdraws.id)
        if await self._held(event, original):
            self._set_stage("held")
            return Outcome(type=event.type, id=event.id, stage=self._stage)

        async def take(slot: str, _: EventRecord) -> bool:
            return await self._hold(event, slot)

        record = await self._latest(event, original, "withdrawn", take)
        if record is None:
            self._entry("already-withdrawn", TaskQueue.WORKFLOWS, StepStatus.SKIPPED)
            return await self.finish(event)
        self._set_stage("undoing")
        for done in reversed(record.done):
            await self.undo_step(event, done)
        self._hand_on_letters(record)
        if record.also_reported:
            # Another source reported this life event too, and did not take it back: whether
            # it happened after all is a person's to find out, not automation's.
            self._hand_on("also-reported", TaskQueue.RESIDENTS, "reported_by_another_source")
        # Those told are written to while the index still knows them (one known only
        # through this event goes with it); one wrongly recorded as dead, once they are not.
        sorry = self._undid_anything()
        if sorry:
            await self._apologise(event, record, [t.resident for t in record.told])
        await self._undo_records(record, original)
        if sorry and record.event_type == DeathRegisteredV1.event_type:
            await self._apologise(event, record, record.about)
        return await self.finish(event)

    def _undid_anything(self) -> bool:
        # The same event withdrawn twice (re-sent under another id) finds it all undone:
        # nobody is told twice.
        return any(e.status is StepStatus.DONE and e.outcome == "undone" for e in self.entries)

    async def _held(self, event: CloudEvent[EventWithdrawnV1], original: str) -> bool:
        """Take the event's workflow ID, if nobody has: the event then never starts."""
        if not await self._hold(event, original):
            return False
        self._entry(
            "held",
            TaskQueue.WORKFLOWS,
            StepStatus.DONE,
            outcome="withdrawn_before_it_arrived",
            references={"workflow": original},
        )
        return True

    async def _hold(self, event: CloudEvent[EventWithdrawnV1], workflow_id: str) -> bool:
        """Take a run's ID for the withdrawn event, if nobody has: that run never starts."""
        try:
            await workflow.start_child_workflow(
                WithdrawnEvent.run,
                Outcome(
                    type=event.data.withdrawn_type,
                    id=event.data.withdraws.id,
                    stage="withdrawn",
                    merged_into=self._by(event),
                ),
                id=workflow_id,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                parent_close_policy=workflow.ParentClosePolicy.ABANDON,
            )
        except WorkflowAlreadyStartedError:
            return False
        return True

    def _hand_on_letters(self, record: EventRecord) -> None:
        """A letter already posted cannot be taken back: a caseworker follows it up."""
        letters = [t for t in record.told if t.channel == "letter"]
        if not letters:
            return
        self._hand_on(
            "letters-posted",
            TaskQueue.NOTIFICATIONS,
            "letter_already_posted",
            tuple(
                PersonStatus(resident=r, status=StepStatus.SKIPPED, reason="letter_already_posted")
                for r in dict.fromkeys(t.resident for t in letters)
            ),
        )

    async def _apologise(
        self, event: CloudEvent[EventWithdrawnV1], record: EventRecord, residents: Sequence[str]
    ) -> None:
        """Once to each of `residents` (each once, whoever is asked twice)."""
        entry = self._entries.get("apology")
        people = list(entry.people) if entry is not None else []
        apologised = {p.resident for p in people}
        sorry = ActionOutcome(
            outcome="done",
            code="withdrawn",
            references={"reason": event.data.reason, "undone": str(len(record.done))},
        )
        for resident in dict.fromkeys(r for r in residents if r not in apologised):
            try:
                answer = await self._notify("apology", APOLOGY_TEMPLATE, sorry, resident)
            except ActivityError as error:
                if not isinstance(error.cause, ApplicationError):
                    raise
                # Known to the index only through the withdrawn event: nobody to write to.
                reason = error.cause.message or "not_reachable"
                people.append(
                    PersonStatus(resident=resident, status=StepStatus.SKIPPED, reason=reason)
                )
                continue
            people.append(
                PersonStatus(resident=resident, status=StepStatus.DONE)
                if answer.outcome == "done"
                else PersonStatus(resident=resident, status=StepStatus.SKIPPED, reason=answer.code)
            )
        if people:
            self._entry(
                "apology",
                TaskQueue.NOTIFICATIONS,
                StepStatus.DONE,
                outcome="sent",
                people=tuple(people),
            )


@workflow.defn
class CorrectionWorkflow(_Amending):
    @workflow.run
    async def run(self, event: CloudEvent[EventCorrectedV1]) -> Outcome:
        self.announce(event)
        corrected = _corrected_event(event)
        original = workflow_id_for(corrected.source, corrected.id)
        life_event = WORKFLOW_FOR_EVENT_TYPE[corrected.type]
        if await self._first(corrected, original, life_event):
            self._set_stage("held")
            return Outcome(type=event.type, id=event.id, stage=self._stage)
        self._set_stage("stopping")
        undone = True

        async def take(slot: str, record: EventRecord) -> bool:
            """Undo the platform's records of the run stopped, then run the corrected facts
            under `slot`, superseding it."""
            nonlocal undone
            undone = await self._undo_records(record, original)
            if not undone:
                return True  # a caseworker puts it right by hand
            if not await _started(life_event, corrected, slot, memo={SUPERSEDES: record}):
                return False
            self._entry(
                "redo",
                TaskQueue.WORKFLOWS,
                StepStatus.DONE,
                outcome="started",
                references={"workflow": slot},
            )
            return True

        if await self._latest(event, original, "corrected", take) is None:
            # Taken back before it was put right: there is nothing left to correct.
            self._entry("already-withdrawn", TaskQueue.WORKFLOWS, StepStatus.SKIPPED)
        return await self.finish(event)

    async def _first(self, corrected: CloudEvent[Any], original: str, life_event: str) -> bool:
        """If the event has not arrived, its workflow starts now on the corrected facts,
        under its ID: the event, when it comes, starts nothing."""
        if not await _started(life_event, corrected, original):
            return False
        self._entry(
            "held",
            TaskQueue.WORKFLOWS,
            StepStatus.DONE,
            outcome="corrected_before_it_arrived",
            references={"workflow": original},
        )
        return True


async def _started(
    life_event: str,
    corrected: CloudEvent[Any],
    workflow_id: str,
    memo: dict[str, Any] | None = None,
) -> bool:
    """The event's workflow started on the corrected facts under `workflow_id`, unless that
    ID was ever taken (reuse rejected): the IDs of an event's runs are each taken once.
    It runs on: a birth's may run for years."""
    try:
        await workflow.start_child_workflow(
            life_event,
            corrected,
            id=workflow_id,
            task_queue=workflow.info().task_queue,
            memo=memo,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            parent_close_policy=workflow.ParentClosePolicy.ABANDON,
        )
    except WorkflowAlreadyStartedError:
        return False
    return True


def _corrected_event(event: CloudEvent[EventCorrectedV1]) -> CloudEvent[Any]:
    """The event as it should have been: its own source and id, the corrected payload."""
    correction = event.data
    return event_model(correction.corrected.type)(
        specversion="1.0",
        id=correction.corrects.id,
        source=correction.corrects.source,
        type=correction.corrected.type,
        time=event.time,
        subject=event.subject,
        datacontenttype="application/json",
        data=correction.corrected.data,
    )
