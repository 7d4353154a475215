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
   what by which channel, and the residents' answers. If a correction had superseded it,
   the correction's run is stopped and read too: its record holds what stands of both.
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
nothing. Otherwise the event's workflow is stopped and read (2), the platform's records of
it are undone (the corrected facts are matched and recorded again), and the event's
workflow runs again on the corrected facts (`<this workflow's ID>/redo`), superseding the
run it stopped: each step whose data is unchanged stands, each changed one is undone and
done again, one no longer called for is undone (`workflows.pipeline`); the residents'
answers stand. Nobody is asked again what they answered, nor told twice what did not change.
"""

from __future__ import annotations

from contextlib import suppress
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import FailureError, WorkflowAlreadyStartedError

with workflow.unsafe.imports_passed_through():
    from contracts import CloudEvent
    from contracts.actions import ActionOutcome, UndoRequest
    from contracts.cloudevents import event_model
    from contracts.events.amendment import EventCorrectedV1, EventWithdrawnV1
    from contracts.events.common import EventReference
    from contracts.temporal import (
        ACTIVITY_QUEUE,
        WORKFLOW_FOR_EVENT_TYPE,
        Activity,
        TaskQueue,
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
    "CorrectionWorkflow",
    "WithdrawalWorkflow",
    "WithdrawnEvent",
    "redo_id",
]

APOLOGY_TEMPLATE = "withdrawn.apology"

_DEATH = "lifeevents.death.registered.v1"
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


def redo_id(correction_workflow_id: str) -> str:
    """The ID of the run a correction starts on the corrected facts."""
    return f"{correction_workflow_id}/redo"


@workflow.defn
class WithdrawnEvent:
    """Holds the ID of an event withdrawn before it arrived: it ends at once, and the event,
    when it comes, starts nothing (the orchestrator finds the ID taken)."""

    @workflow.run
    async def run(self, withdrawn: Outcome) -> Outcome:
        return withdrawn


class _Amending(LifeEventPipeline):
    """What a withdrawal and a correction share: stopping the event's workflow and reading
    what it did, and undoing the platform's records of it."""

    def _by(self, event: CloudEvent[Any]) -> EventReference:
        return EventReference(source=event.source, id=event.id)

    async def _stopped(self, event: CloudEvent[Any], original: str, kind: str) -> EventRecord:
        """Stop the event's workflow and read what it did once it has closed; follow a
        correction that superseded it to the run that now holds the event."""
        record = await self._stop(event, original, kind)
        while (
            record.amended is not None
            and record.amended.kind == "corrected"
            and record.amended.workflow_id != workflow.info().workflow_id
        ):
            record = await self._stop(event, redo_id(record.amended.workflow_id), kind)
        return record

    async def _stop(self, event: CloudEvent[Any], workflow_id: str, kind: str) -> EventRecord:
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
        record: EventRecord = await workflow.execute_activity(
            Activity.RECORD_OF,
            workflow_id,
            result_type=EventRecord,
            task_queue=workflow.info().task_queue,
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=_UNTIL_CLOSED,
        )
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
            return Outcome(type=event.type, id=event.id, stage="held")
        record = await self._stopped(event, original, "withdrawn")
        self._set_stage("undoing")
        for done in reversed(record.done):
            await self.undo_step(event, done)
        await self._undo_records(record, original)
        self._hand_on_letters(record)
        if self._undid_anything():
            await self._apologise(event, record)
        return await self.finish(event)

    def _undid_anything(self) -> bool:
        # The same event withdrawn twice (re-sent under another id) finds it all undone:
        # nobody is told twice.
        return any(e.status is StepStatus.DONE and e.outcome == "undone" for e in self.entries)

    async def _held(self, event: CloudEvent[EventWithdrawnV1], original: str) -> bool:
        """Take the event's workflow ID, if nobody has: the event then never starts."""
        try:
            await workflow.start_child_workflow(
                WithdrawnEvent.run,
                Outcome(
                    type=event.data.withdrawn_type,
                    id=event.data.withdraws.id,
                    stage="withdrawn",
                    merged_into=self._by(event),
                ),
                id=original,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                parent_close_policy=workflow.ParentClosePolicy.ABANDON,
            )
        except WorkflowAlreadyStartedError:
            return False
        self._entry(
            "held",
            TaskQueue.WORKFLOWS,
            StepStatus.DONE,
            outcome="withdrawn_before_it_arrived",
            references={"workflow": original},
        )
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

    async def _apologise(self, event: CloudEvent[EventWithdrawnV1], record: EventRecord) -> None:
        """Once to each resident told anything, and to one wrongly recorded as having died."""
        told = [t.resident for t in record.told]
        if record.event_type == _DEATH:
            told.extend(record.about)
        residents = list(dict.fromkeys(told))
        if not residents:
            return
        sorry = ActionOutcome(
            outcome="done",
            code="withdrawn",
            references={"reason": event.data.reason, "undone": str(len(record.done))},
        )
        people: list[PersonStatus] = []
        for resident in residents:
            answer = await self._notify("apology", APOLOGY_TEMPLATE, sorry, resident)
            people.append(
                PersonStatus(resident=resident, status=StepStatus.DONE)
                if answer.outcome == "done"
                else PersonStatus(resident=resident, status=StepStatus.SKIPPED, reason=answer.code)
            )
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
            return Outcome(type=event.type, id=event.id, stage="held")
        record = await self._stopped(event, original, "corrected")
        if record.amended is not None and record.amended.kind == "withdrawn":
            # Taken back before it was put right: there is nothing left to correct.
            self._entry("already-withdrawn", TaskQueue.WORKFLOWS, StepStatus.SKIPPED)
            return await self.finish(event)
        self._set_stage("undoing")
        if not await self._undo_records(record, original):
            return await self.finish(event)  # a caseworker puts it right by hand
        redo = redo_id(workflow.info().workflow_id)
        await workflow.start_child_workflow(
            life_event,
            corrected,
            id=redo,
            task_queue=workflow.info().task_queue,
            memo={SUPERSEDES: record},
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            parent_close_policy=workflow.ParentClosePolicy.ABANDON,
        )
        self._entry(
            "redo",
            TaskQueue.WORKFLOWS,
            StepStatus.DONE,
            outcome="started",
            references={"workflow": redo},
        )
        return await self.finish(event)

    async def _first(self, corrected: CloudEvent[Any], original: str, life_event: str) -> bool:
        """If the event has not arrived, its workflow starts now on the corrected facts,
        under its ID: the event, when it comes, starts nothing."""
        try:
            await workflow.start_child_workflow(
                life_event,
                corrected,
                id=original,
                task_queue=workflow.info().task_queue,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                parent_close_policy=workflow.ParentClosePolicy.ABANDON,
            )
        except WorkflowAlreadyStartedError:
            return False
        self._entry(
            "held",
            TaskQueue.WORKFLOWS,
            StepStatus.DONE,
            outcome="corrected_before_it_arrived",
            references={"workflow": original},
        )
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
