"""WithdrawalWorkflow: a source takes back a life event it sent, and everything done because
of it is undone.

1. **Held, if it came first.** Kafka keeps no order across partitions or sources, so the
   withdrawal may arrive before the event. Then `WithdrawnEvent` takes the event's workflow
   ID (derived from its source and id, as the orchestrator derives it; reuse rejected): the
   event, when it arrives, finds its ID taken and starts nothing.
2. **Stopped.** Otherwise the event's workflow is told (signal `amended`): it starts no step
   more, stops waiting for anyone, and ends. Its record (query `record`), read once it has
   closed, says what it did: each step a service acted on, with each share, and who was
   told what by which channel.
3. **Undone, last first, as it was done.** For each step a service acted on: the gate
   decides about each resident again (`reverses`: a compensation, on the ledger as one), the
   service undoes its action (its compensation, declared beside the action), and each share
   goes on the ledger. Then the platform's own records of the event: the resident index (a
   move, a birth, a death mark, the report itself), the gate's and the notification
   service's record of a death.
4. **What cannot be undone** is listed on the timeline and handed to a caseworker: a step a
   service could not undo (its records changed since, or an organisation outside the
   council was told), and every letter already posted.
5. **An apology**, once to each resident who was told anything, and to a resident wrongly
   recorded as having died: plainly, what was undone and why.
"""

from __future__ import annotations

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
    from contracts import CloudEvent
    from contracts.actions import ActionOutcome, ResidentShare, ServiceAction, UndoRequest
    from contracts.consent import (
        Decision,
        ShareCompletion,
        ShareDecision,
        ShareRecorded,
        ShareRequest,
    )
    from contracts.events.amendment import EventWithdrawnV1
    from contracts.events.common import EventReference
    from contracts.shares import data_hash
    from contracts.temporal import ACTIVITY_QUEUE, UNDO, Activity, TaskQueue, workflow_id_for
    from contracts.timeline import (
        Amended,
        DoneStep,
        EventRecord,
        Outcome,
        PersonStatus,
        StepStatus,
        TimelineEntry,
    )

from workflows.pipeline import AMENDED, LifeEventPipeline

__all__ = ["APOLOGY_TEMPLATE", "WithdrawalWorkflow", "WithdrawnEvent"]

APOLOGY_TEMPLATE = "withdrawn.apology"

_DEATH = "lifeevents.death.registered.v1"
# The record is read once the event's workflow has closed: until then, asked again.
_UNTIL_CLOSED = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2,
    maximum_interval=timedelta(seconds=30),
    non_retryable_error_types=["NoRecord"],
)


@workflow.defn
class WithdrawnEvent:
    """Holds the ID of an event withdrawn before it arrived: it ends at once, and the event,
    when it comes, starts nothing (the orchestrator finds the ID taken)."""

    @workflow.run
    async def run(self, withdrawn: Outcome) -> Outcome:
        return withdrawn


@workflow.defn
class WithdrawalWorkflow(LifeEventPipeline):
    @workflow.run
    async def run(self, event: CloudEvent[EventWithdrawnV1]) -> Outcome:
        self.announce(event)
        withdrawal = event.data
        original = workflow_id_for(withdrawal.withdraws.source, withdrawal.withdraws.id)
        if await self._held(event, original):
            return Outcome(type=event.type, id=event.id, stage="held")
        record = await self._stopped(event, original)
        self._set_stage("undoing")
        for done in reversed(record.done):
            await self._undo(event, original, done)
        await self._undo_records(original)
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
        withdrawn = event.data.withdraws
        try:
            await workflow.start_child_workflow(
                WithdrawnEvent.run,
                Outcome(
                    type=event.data.withdrawn_type,
                    id=withdrawn.id,
                    stage="withdrawn",
                    merged_into=EventReference(source=event.source, id=event.id),
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

    async def _stopped(self, event: CloudEvent[EventWithdrawnV1], original: str) -> EventRecord:
        """Tell the event's workflow to stop (one that has closed cannot hear it, and has
        nothing more to do), and read what it did once it has closed."""
        # One that has closed fails the signal: its record is complete.
        with suppress(FailureError):
            await workflow.get_external_workflow_handle(original).signal(
                AMENDED,
                Amended(
                    kind="withdrawn",
                    by=EventReference(source=event.source, id=event.id),
                    workflow_id=workflow.info().workflow_id,
                ),
            )
        self._set_stage("stopping")
        record: EventRecord = await workflow.execute_activity(
            Activity.RECORD_OF,
            original,
            result_type=EventRecord,
            task_queue=workflow.info().task_queue,
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=_UNTIL_CLOSED,
        )
        return record

    async def _undo(self, event: CloudEvent[Any], original: str, done: DoneStep) -> None:
        """One step undone as it was done: a gate decision per resident (a compensation),
        the service's undo, each share on the ledger."""
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
            self._needs_person(step, done, "undo_refused" if undo else "no_undo", people)
            return
        try:
            outcome: ActionOutcome = await workflow.execute_activity(
                undo,
                ServiceAction(
                    workflow_id=original,
                    step=done.step,
                    event_id=event.id,
                    event_type=event.type,
                    shares=tuple(shares),
                ),
                result_type=ActionOutcome,
                task_queue=done.service,
                start_to_close_timeout=timedelta(minutes=2),
                retry_policy=RetryPolicy(
                    maximum_interval=timedelta(minutes=1),
                    non_retryable_error_types=["ShareRefused", "ShareDataInvalid"],
                ),
            )
        except ActivityError as error:
            if not isinstance(error.cause, ApplicationError):
                raise
            self._needs_person(step, done, error.cause.message or "undo_refused", people)
            return
        for share in shares:
            await self._call(
                Activity.RECORD_SHARE, ShareCompletion(share_token=share.share_token), ShareRecorded
            )
        if outcome.code in {"undone", "already_undone", "nothing_to_undo"}:
            self._entry(
                step,
                done.service,
                StepStatus.DONE,
                outcome=outcome.code,
                references=outcome.references,
                people=people,
            )
        else:
            self._needs_person(step, done, outcome.code, people)

    async def _undo_records(self, original: str) -> None:
        """The platform's own records of the event: the resident index's, and the gate's and
        the notification service's record of a death."""
        request = UndoRequest(workflow_id=original, undone_by=workflow.info().workflow_id)
        for activity, name in (
            (Activity.RESIDENTS_UNDO, "undo-resident-index"),
            (Activity.GATE_UNDO_DEATH, "undo-death-in-gate"),
            (Activity.NOTIFICATIONS_UNDO_DEATH, "undo-death-in-notifications"),
        ):
            outcome: ActionOutcome = await self._call(activity, request, ActionOutcome)
            queue = str(ACTIVITY_QUEUE[activity])
            if outcome.outcome == "done" or outcome.code in {"already_undone", "nothing_to_undo"}:
                self._entry(
                    name,
                    queue,
                    StepStatus.DONE,
                    outcome=outcome.code,
                    references=outcome.references,
                )
            else:
                self._entry(
                    name,
                    queue,
                    StepStatus.NEEDS_PERSON,
                    reason=outcome.code,
                    references=outcome.references,
                )
                self._open_task(name)

    def _hand_on_letters(self, record: EventRecord) -> None:
        """A letter already posted cannot be taken back: a caseworker follows it up."""
        letters = [t for t in record.told if t.channel == "letter"]
        if not letters:
            return
        self._entry(
            "letters-posted",
            TaskQueue.NOTIFICATIONS,
            StepStatus.NEEDS_PERSON,
            reason="letter_already_posted",
            references={"letters": str(len(letters))},
            people=tuple(
                PersonStatus(resident=r, status=StepStatus.SKIPPED, reason="letter_already_posted")
                for r in dict.fromkeys(t.resident for t in letters)
            ),
        )
        self._open_task("letters-posted")

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

    def _needs_person(
        self, step: str, done: DoneStep, reason: str, people: tuple[PersonStatus, ...]
    ) -> None:
        self._entry(step, done.service, StepStatus.NEEDS_PERSON, reason=reason, people=people)
        self._open_task(step)

    def _entry(
        self,
        step: str,
        service: str,
        status: StepStatus,
        *,
        reason: str = "",
        outcome: str = "",
        references: dict[str, str] | None = None,
        people: tuple[PersonStatus, ...] = (),
    ) -> None:
        self._entries[step] = TimelineEntry(
            step=step,
            service=service,
            status=status,
            reason=reason,
            outcome=outcome,
            references=references or {},
            people=people,
        )
