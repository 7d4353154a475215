"""MoveWorkflow: a household has moved; every council service that must act does, through
the consent gate, and the resident is told.

plan → match the movers in the resident index → for each step of the plan: (wait for the
resident's confirmation where the catalogue asks for it) → consent gate → the service's
action with its share token → the share recorded on the ledger → the resident notified.

What automation must not decide alone waits for a person: a doubtful identity match, or a
confirmation that did not come in time, becomes a caseworker task (NeedsPerson = true).
"""

from __future__ import annotations

from datetime import timedelta
from enum import StrEnum
from typing import Any

from pydantic import BaseModel
from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from contracts import AddressChangedV1, CloudEvent
    from contracts.actions import ActionOutcome, ServiceAction
    from contracts.plan import Plan, PlannedStep
    from services.common.council import (
        HouseholdData,
        HouseholdMember,
        MoveAddress,
        PersonBirth,
        PersonIdentity,
        age_on,
    )
    from services.consent.models import (
        Decision,
        ShareCompletion,
        ShareDecision,
        ShareRecorded,
        ShareRequest,
    )
    from services.consent.tokens import data_hash
    from services.notifications.models import Notification
    from services.residents.models import (
        CaseworkerDecision,
        ContactPlan,
        Household,
        MatchResult,
        MoveRecord,
        PersonDetails,
    )

from workflows import search_attributes
from workflows.activities import PLAN_EVENT
from workflows.recording import Outcome

__all__ = [
    "CASEWORKER_WITHIN",
    "CONFIRM_WITHIN",
    "Confirmation",
    "MatchDecision",
    "MoveWorkflow",
    "Receipt",
    "StepStatus",
    "Timeline",
    "TimelineEntry",
]

CONFIRM_WITHIN = timedelta(days=14)
_STAGE_WHILE_WAITING = "stage-while-waiting-for-resident"
CASEWORKER_WITHIN = timedelta(days=5)

_QUICK = timedelta(seconds=30)
# A refusal from the gate or a receiver is an answer, not a fault: never retried.
_RETRY = RetryPolicy(
    maximum_interval=timedelta(minutes=1),
    non_retryable_error_types=["ShareRefused", "ShareDataInvalid", "ResidentIndexError"],
)


class StepStatus(StrEnum):
    WAITING = "waiting"
    WAITING_FOR_RESIDENT = "waiting_for_resident"
    DONE = "done"
    SKIPPED = "skipped"
    NEEDS_PERSON = "needs_person"


class TimelineEntry(BaseModel):
    step: str
    service: str
    status: StepStatus
    reason: str = ""
    outcome: str = ""


class Timeline(BaseModel):
    event_id: str
    stage: str
    needs_person: bool
    entries: list[TimelineEntry]
    caseworker_tasks: list[str]


class Confirmation(BaseModel):
    step: str
    accept: bool


class Receipt(BaseModel):
    message: str


class MatchDecision(BaseModel):
    """A caseworker's decision on a doubtful match: the mover at `mover`, linked to an
    existing resident or created anew."""

    mover: int
    decision: str  # "link" | "create"
    resident: str | None = None


@workflow.defn
class MoveWorkflow:
    def __init__(self) -> None:
        self._event_id = ""
        self._stage = "received"
        self._entries: dict[str, TimelineEntry] = {}
        self._tasks: list[str] = []
        self._awaiting: set[str] = set()
        self._confirmations: dict[str, bool] = {}
        self._match_decisions: dict[int, MatchDecision] = {}

    # -- what ops, residents and caseworkers see ------------------------------------------

    @workflow.query
    def timeline(self) -> Timeline:
        return Timeline(
            event_id=self._event_id,
            stage=self._stage,
            needs_person=bool(self._tasks),
            entries=list(self._entries.values()),
            caseworker_tasks=list(self._tasks),
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

    # -- the run ----------------------------------------------------------------------------

    @workflow.run
    async def run(self, event: CloudEvent[AddressChangedV1]) -> Outcome:
        self._event_id = event.id
        workflow.upsert_search_attributes(
            [
                search_attributes.LIFE_EVENT_TYPE.value_set(event.type),
                search_attributes.LIFE_EVENT_ID.value_set(event.id),
            ]
        )
        self._set_stage("planning")
        plan = await workflow.execute_activity(
            PLAN_EVENT,
            event.model_dump(mode="json"),
            result_type=Plan,
            start_to_close_timeout=_QUICK,
        )
        for step in plan.steps:
            self._entries[step.name] = TimelineEntry(
                step=step.name,
                service=step.service,
                status=StepStatus.WAITING if step.applies else StepStatus.SKIPPED,
                reason=step.reason,
            )

        self._set_stage("matching")
        residents = await self._match(event)
        await workflow.execute_activity(
            "residents.record_move",
            MoveRecord(
                residents=residents,
                new_address=event.data.new_address,
                move_date=event.data.move_date,
                direction=event.data.direction,
                workflow_id=workflow.info().workflow_id,
                step="resident-index",
            ),
            result_type=Household,
            task_queue="residents",
            start_to_close_timeout=_QUICK,
            retry_policy=_RETRY,
        )

        self._set_stage("acting")
        for step in plan.active:
            await self._carry_out(step, event, residents)

        if self._tasks:
            self._set_stage("needs_person")
            await self._wait_for_tasks()
        self._set_stage("complete")
        return Outcome(type=event.type, id=event.id, stage=self._stage)

    async def _match(self, event: CloudEvent[AddressChangedV1]) -> tuple[str, ...]:
        people = [
            PersonDetails(
                name=m.name,
                date_of_birth=m.date_of_birth,
                nhs_number=m.nhs_number,
                national_insurance_number=m.national_insurance_number,
                contact=m.contact,
                address=event.data.old_address,
            )
            for m in event.data.movers
        ]
        matches: list[MatchResult] = await workflow.execute_activity(
            "residents.match_people",
            people,
            result_type=list[MatchResult],
            task_queue="residents",
            start_to_close_timeout=_QUICK,
            retry_policy=_RETRY,
        )
        keys: list[str] = []
        for index, match in enumerate(matches):
            if match.resident is not None:
                keys.append(match.resident)
                continue
            # Doubtful: a caseworker decides who this is; automation does not guess.
            decision = await self._wait_for_caseworker(index)
            resolved: MatchResult = await workflow.execute_activity(
                "residents.resolve_doubtful",
                CaseworkerDecision(
                    person=people[index],
                    decision="link" if decision.decision == "link" else "create",
                    resident=decision.resident,
                    workflow_id=workflow.info().workflow_id,
                    step=f"match-{index}",
                ),
                result_type=MatchResult,
                task_queue="residents",
                start_to_close_timeout=_QUICK,
                retry_policy=_RETRY,
            )
            assert resolved.resident is not None
            keys.append(resolved.resident)
        return tuple(keys)

    async def _wait_for_caseworker(self, mover: int) -> MatchDecision:
        task = f"match:{mover}"
        self._open_task(task)
        try:
            await workflow.wait_condition(
                lambda: mover in self._match_decisions, timeout=CASEWORKER_WITHIN
            )
        except TimeoutError:
            # Escalated: still a person's decision, now overdue; the wait goes on.
            self._set_stage("escalated")
            await workflow.wait_condition(lambda: mover in self._match_decisions)
        self._close_task(task)
        self._set_stage("matching")
        return self._match_decisions[mover]

    async def _wait_for_tasks(self) -> None:
        try:
            await workflow.wait_condition(lambda: not self._tasks, timeout=CASEWORKER_WITHIN)
        except TimeoutError:
            self._set_stage("escalated")  # overdue: the caseworker queue shows it first
            await workflow.wait_condition(lambda: not self._tasks)

    async def _carry_out(
        self, step: PlannedStep, event: CloudEvent[AddressChangedV1], residents: tuple[str, ...]
    ) -> None:
        if step.confirm and not await self._confirmed(step):
            return
        data = step_data(step, event)
        decision: ShareDecision = await workflow.execute_activity(
            "decide_share",
            ShareRequest(
                resident=residents[0],
                purpose=step.purpose,
                recipient=step.service,
                data_categories=list(step.categories),
                data_hash=data_hash(data),
            ),
            result_type=ShareDecision,
            task_queue="consent",
            start_to_close_timeout=_QUICK,
            retry_policy=_RETRY,
        )
        if decision.decision is not Decision.ALLOW or decision.share_token is None:
            self._update(step.name, StepStatus.SKIPPED, reason=decision.reason)
            return
        try:
            outcome: ActionOutcome = await workflow.execute_activity(
                step.activity,
                ServiceAction(
                    workflow_id=workflow.info().workflow_id,
                    step=step.name,
                    event_id=event.id,
                    event_type=event.type,
                    residents=residents,
                    share_token=decision.share_token,
                    data=data,
                ),
                result_type=ActionOutcome,
                task_queue=step.service,
                start_to_close_timeout=timedelta(minutes=2),
                retry_policy=_RETRY,
            )
        except ActivityError as error:
            if not isinstance(error.cause, ApplicationError):
                raise
            self._update(step.name, StepStatus.SKIPPED, reason=error.cause.type or "refused")
            return
        await workflow.execute_activity(
            "record_share",
            ShareCompletion(share_token=decision.share_token),
            result_type=ShareRecorded,
            task_queue="consent",
            start_to_close_timeout=_QUICK,
            retry_policy=_RETRY,
        )
        await self._notify(step, outcome, residents[0])
        self._update(step.name, StepStatus.DONE, outcome=outcome.code)

    async def _confirmed(self, step: PlannedStep) -> bool:
        self._awaiting.add(step.name)
        self._update(step.name, StepStatus.WAITING_FOR_RESIDENT)
        # Added after the first release: ops filter on the stage while a resident is asked.
        # Moves recorded before it replay without these search-attribute updates.
        shows_wait = workflow.patched(_STAGE_WHILE_WAITING)
        if shows_wait:
            self._set_stage("waiting_for_resident")
        try:
            await workflow.wait_condition(
                lambda: step.name in self._confirmations, timeout=CONFIRM_WITHIN
            )
        except TimeoutError:
            self._awaiting.discard(step.name)
            self._update(step.name, StepStatus.NEEDS_PERSON, reason="no_answer_in_time")
            self._open_task(f"confirm:{step.name}")
            if shows_wait:
                self._set_stage("acting")
            return False
        self._awaiting.discard(step.name)
        if shows_wait:
            self._set_stage("acting")
        if not self._confirmations[step.name]:
            self._update(step.name, StepStatus.SKIPPED, reason="declined_by_resident")
            return False
        return True

    async def _notify(self, step: PlannedStep, outcome: ActionOutcome, resident: str) -> None:
        contact: ContactPlan = await workflow.execute_activity(
            "residents.contact_for",
            resident,
            result_type=ContactPlan,
            task_queue="residents",
            start_to_close_timeout=_QUICK,
            retry_policy=_RETRY,
        )
        await workflow.execute_activity(
            "notifications.send",
            Notification(
                resident=resident,
                template=step.notification,
                references=outcome.references,
                workflow_id=workflow.info().workflow_id,
                step=step.name,
                deceased=contact.deceased,
                channels=contact.channels,
                email=contact.email,
                phone=contact.phone,
                address=contact.address,
            ),
            result_type=ActionOutcome,
            task_queue="notifications",
            start_to_close_timeout=_QUICK,
            retry_policy=_RETRY,
        )

    # -- bookkeeping --------------------------------------------------------------------------

    def _update(
        self, step: str, status: StepStatus, *, reason: str = "", outcome: str = ""
    ) -> None:
        entry = self._entries[step]
        self._entries[step] = entry.model_copy(
            update={"status": status, "reason": reason, "outcome": outcome}
        )

    def _set_stage(self, stage: str) -> None:
        self._stage = stage
        workflow.upsert_search_attributes([search_attributes.STAGE.value_set(stage)])

    def _open_task(self, task: str) -> None:
        self._tasks.append(task)
        workflow.upsert_search_attributes([search_attributes.NEEDS_PERSON.value_set(True)])

    def _close_task(self, task: str) -> None:
        self._tasks.remove(task)
        workflow.upsert_search_attributes(
            [search_attributes.NEEDS_PERSON.value_set(bool(self._tasks))]
        )


def step_data(step: PlannedStep, event: CloudEvent[AddressChangedV1]) -> dict[str, Any]:
    """Exactly the categories the step receives, in the shapes the services read."""
    move = event.data
    shapes: dict[str, Any] = {
        "identity": [
            PersonIdentity(name=m.name, date_of_birth=m.date_of_birth) for m in move.movers
        ],
        "birth": [PersonBirth(date_of_birth=m.date_of_birth) for m in move.movers],
        "address": MoveAddress(
            direction=move.direction,
            move_date=move.move_date,
            old_address=move.old_address,
            new_address=move.new_address,
        ),
        "household": HouseholdData(
            members=tuple(
                HouseholdMember(
                    age=None if m.date_of_birth is None else age_on(m.date_of_birth, move.move_date)
                )
                for m in move.movers
            )
        ),
    }
    return {
        category: _plain(shapes[category]) for category in step.categories if category in shapes
    }


def _plain(value: Any) -> Any:
    if isinstance(value, list):
        return [v.model_dump(mode="json") for v in value]
    return value.model_dump(mode="json")
