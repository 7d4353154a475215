"""Stand-ins for every service a life-event workflow calls, for workflow tests (in the
time-skipping environment, or on the real server where a test needs a project workflow to
finish and is about something else): activities of the same names on the same task queues, recording
what they were asked. The real services have their own tests; the end-to-end tests run them
all together.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from temporalio import activity
from temporalio.client import Client, WorkflowHandle
from temporalio.common import WorkflowIDReusePolicy
from temporalio.service import RPCError
from temporalio.worker import Worker

from contracts import CloudEvent
from contracts.actions import ActionOutcome, ServiceAction, UndoRequest
from contracts.consent import (
    ConsentRecord,
    DeathRecorded,
    Decision,
    InformantAgreement,
    ShareCompletion,
    ShareDecision,
    ShareRecorded,
    ShareRequest,
)
from contracts.dates import uk_date
from contracts.notifications import Notification
from contracts.residents import (
    BirthHousehold,
    BirthRecord,
    CaseworkerDecision,
    ContactPlan,
    DeathHousehold,
    DeathRecord,
    Household,
    LifeEventReport,
    MatchResult,
    MoveRecord,
    PersonDetails,
    Resident,
    SameEvent,
    SupportFlag,
    Survivor,
)
from contracts.temporal import UNDO, Activity, workflow_id_for
from contracts.timeline import Timeline
from services.residents.sameness import Earlier, compare
from workflows.catalogue import load_catalogue
from workflows.worker import build_worker

__all__ = ["Council", "running", "start_as_the_orchestrator", "statuses", "timeline", "until"]


@dataclass
class Council:
    """Stand-ins for the services a life-event workflow calls, recording what they were
    asked. Resident keys are `res_person<n>` for the n-th person a workflow has matched."""

    doubtful: set[int] = field(default_factory=set)
    denied: dict[str, str] = field(default_factory=dict)  # recipient -> reason
    objections: set[tuple[str, str]] = field(default_factory=set)  # (recipient, resident)
    survivors: tuple[Survivor, ...] = ()  # who the index says a death leaves behind
    running_workflows: tuple[str, ...] = ()  # which workflows the index says involve them
    actions: list[ServiceAction] = field(default_factory=list)
    notified: list[Notification] = field(default_factory=list)
    refused: list[Notification] = field(default_factory=list)
    recorded: list[str] = field(default_factory=list)
    decided: list[ShareRequest] = field(default_factory=list)
    deaths: dict[str, list[DeathRecord]] = field(default_factory=dict)  # queue -> records
    agreements: list[InformantAgreement] = field(default_factory=list)
    flagged: list[SupportFlag] = field(default_factory=list)
    births: list[BirthRecord] = field(default_factory=list)
    born_before: str | None = None  # the workflow the index says recorded the birth first
    reminders: dict[str, str] = field(default_factory=dict)  # child -> workflow holding theirs
    # What a service answers, by activity, instead of `<activity>.done`.
    answers: dict[str, Callable[[ServiceAction], ActionOutcome]] = field(default_factory=dict)
    sent_on: list[tuple[str, date]] = field(default_factory=list)  # (template, day in England)
    # Reports of life events, compared with the index's own rule when `compare_reports`
    # (else each is the first of its life event, as workflows that never meet see it).
    compare_reports: bool = False
    # What was undone: each service's undo of a step, and the platform's records undone.
    undone: list[ServiceAction] = field(default_factory=list)
    moved: dict[str, MoveRecord] = field(default_factory=dict)  # workflow -> its move
    records_undone: list[tuple[str, UndoRequest]] = field(default_factory=list)
    reports: dict[str, tuple[LifeEventReport, SameEvent]] = field(default_factory=dict)
    # Each share's life, in the order the stand-ins saw it: ("decided" | "acted" |
    # "recorded", share token).
    share_log: list[tuple[str, str]] = field(default_factory=list)

    @property
    def dead(self) -> set[str]:
        return {r.resident for records in self.deaths.values() for r in records}

    def _died(self, where: str, record: DeathRecord) -> None:
        self.deaths.setdefault(where, []).append(record)

    def workers(self, client: Client) -> list[Worker]:
        matched: dict[str, int] = {}  # workflow -> people matched so far

        @activity.defn(name="residents.match_people")
        async def match_people(people: list[PersonDetails]) -> list[MatchResult]:
            first = matched.get(activity.info().workflow_id or "", 0)
            matched[activity.info().workflow_id or ""] = first + len(people)
            return [
                MatchResult(
                    outcome="doubtful", resident=None, candidates=2, rule="several_candidates"
                )
                if i in self.doubtful
                else MatchResult(
                    outcome="matched",
                    resident=f"res_person{i:012d}",
                    candidates=1,
                    rule="nhs_number",
                )
                for i, _ in enumerate(people, start=first)
            ]

        @activity.defn(name="residents.resolve_doubtful")
        async def resolve_doubtful(decision: CaseworkerDecision) -> MatchResult:
            return MatchResult(
                outcome="matched",
                resident=decision.resident or "res_newperson0000001",
                candidates=1,
                rule="caseworker_linked",
            )

        @activity.defn(name="residents.record_move")
        async def record_move(move: MoveRecord) -> Household:
            self.moved.setdefault(move.workflow_id, move)
            return Household(address=move.new_address, residents=move.residents)

        @activity.defn(name="residents.record_birth")
        async def record_birth(birth: BirthRecord) -> BirthHousehold:
            self.births.append(birth)
            return BirthHousehold(
                address=None,
                residents=(birth.child, *birth.parents),
                recorded_by=self.born_before or birth.workflow_id,
            )

        @activity.defn(name="residents.reminders_for")
        async def reminders_for(residents: list[str]) -> list[str]:
            return sorted({self.reminders[r] for r in residents if r in self.reminders})

        @activity.defn(name="residents.claim_report")
        async def claim_report(report: LifeEventReport) -> SameEvent:
            if report.workflow_id in self.reports:
                return self.reports[report.workflow_id][1]
            earlier = [
                Earlier(r.workflow_id, r.event, r.residents, r.on, r.new_address)
                for r, same in self.reports.values()
                if same.verdict == "first" and r.kind == report.kind
            ]
            same = compare(report, earlier if self.compare_reports else [])
            self.reports[report.workflow_id] = (report, same)
            return same

        @activity.defn(name="residents.mark_deceased")
        async def mark_deceased(death: DeathRecord) -> Resident:
            self._died("residents", death)
            return Resident(key=death.resident, channels=(), flags=("deceased",))

        @activity.defn(name="residents.flag_support")
        async def flag_support(flag: SupportFlag) -> Resident:
            self.flagged.append(flag)
            return Resident(key=flag.resident, channels=("letter",), flags=("may_need_support",))

        @activity.defn(name="residents.household_after_death")
        async def household_after_death(death: DeathRecord) -> DeathHousehold:
            return DeathHousehold(
                address=None, survivors=self.survivors, workflows=self.running_workflows
            )

        @activity.defn(name="residents.contact_for")
        async def contact_for(resident: str) -> ContactPlan:
            if resident in self.dead:
                return ContactPlan(resident=resident, deceased=True, channels=())
            return ContactPlan(resident=resident, deceased=False, channels=("letter",))

        @activity.defn(name="decide_share")
        async def decide_share(request: ShareRequest) -> ShareDecision:
            self.decided.append(request)
            reason = self.denied.get(request.recipient)
            if (request.recipient, request.resident) in self.objections:
                reason = "objection_recorded"
            decision = ShareDecision(
                decision_id=f"dec-{uuid.uuid4().hex}",
                decision=Decision.DENY if reason else Decision.ALLOW,
                resident=request.resident,
                purpose=request.purpose,
                recipient=request.recipient,
                data_categories=request.data_categories,
                reason=reason or "policy_allows",
                share_token=None if reason else f"token-{request.recipient}-{request.resident}",
                ledger_seq=1,
            )
            if decision.share_token is not None:
                self.share_log.append(("decided", decision.share_token))
            return decision

        @activity.defn(name="record_share")
        async def record_share(completion: ShareCompletion) -> ShareRecorded:
            self.recorded.append(completion.share_token)
            self.share_log.append(("recorded", completion.share_token))
            return ShareRecorded(decision_id="dec", ledger_seq=2)

        @activity.defn(name="record_death")
        async def gate_record_death(death: DeathRecord) -> DeathRecorded:
            self._died("consent", death)
            return DeathRecorded(resident=death.resident, ledger_seq=1)

        @activity.defn(name="record_informant_agreement")
        async def record_informant_agreement(
            agreement: InformantAgreement,
        ) -> list[ConsentRecord]:
            self.agreements.append(agreement)
            return []

        @activity.defn(name="notifications.send")
        async def send(notification: Notification) -> ActionOutcome:
            # As the notification service does: the deceased are refused, whatever they ask.
            if notification.resident in self.dead:
                self.refused.append(notification)
                return ActionOutcome(outcome="no_action", code="deceased")
            self.notified.append(notification)
            # The workflow's time: what a time-skipping test can check the day of.
            self.sent_on.append((notification.template, uk_date(activity.info().scheduled_time)))
            channel = notification.channels[0] if notification.channels else "portal"
            return ActionOutcome(
                outcome="done", code=f"notified_by_{channel}", references={"channel": channel}
            )

        @activity.defn(name="notifications.record_death")
        async def notifications_record_death(death: DeathRecord) -> ActionOutcome:
            self._died("notifications", death)
            return ActionOutcome(outcome="done", code="recorded")

        def undo_records(name: str) -> Callable[[UndoRequest], Any]:
            @activity.defn(name=name)
            async def undo(request: UndoRequest) -> ActionOutcome:
                self.records_undone.append((name, request))
                # As the real services do: what the workflow recorded is recorded no more.
                for records in self.deaths.values():
                    records[:] = [r for r in records if r.workflow_id != request.workflow_id]
                if name == Activity.RESIDENTS_UNDO:
                    self.moved.pop(request.workflow_id, None)
                    self.reports.pop(request.workflow_id, None)
                return ActionOutcome(outcome="done", code="undone")

            return undo

        def undo_step(name: str) -> Callable[[ServiceAction], Any]:
            @activity.defn(name=name)
            async def undo(action: ServiceAction) -> ActionOutcome:
                self.undone.append(action)
                self.share_log.extend(("undone", share.share_token) for share in action.shares)
                if name == Activity.PARTNERS_UNDO:
                    return ActionOutcome(
                        outcome="no_action", code="cannot_undo_told_outside_council"
                    )
                return ActionOutcome(outcome="done", code="undone", references={"restored": "1"})

            return undo

        def service(name: str) -> Callable[[ServiceAction], Any]:
            @activity.defn(name=name)
            async def act(action: ServiceAction) -> ActionOutcome:
                self.actions.append(action)
                self.share_log.extend(("acted", share.share_token) for share in action.shares)
                if name in self.answers:
                    return self.answers[name](action)
                return ActionOutcome(
                    outcome="done", code=f"{name}.done", references={"reference": "REF-1"}
                )

            return act

        queues: dict[str, list[Callable[..., Any]]] = {
            "residents": [
                match_people,
                resolve_doubtful,
                record_move,
                record_birth,
                reminders_for,
                claim_report,
                mark_deceased,
                flag_support,
                household_after_death,
                contact_for,
                undo_records(Activity.RESIDENTS_UNDO),
            ],
            "consent": [
                decide_share,
                record_share,
                gate_record_death,
                record_informant_agreement,
                undo_records(Activity.GATE_UNDO_DEATH),
            ],
            "notifications": [
                send,
                notifications_record_death,
                undo_records(Activity.NOTIFICATIONS_UNDO_DEATH),
            ],
        }
        for queue, undo in UNDO.items():
            queues.setdefault(queue, []).append(undo_step(undo))
        served: set[str] = set()
        for step in load_catalogue().steps:
            for name in (step.activity, step.check):
                if name is not None and name not in served:
                    served.add(name)
                    queues.setdefault(step.service, []).append(service(name))
        return [Worker(client, task_queue=q, activities=a) for q, a in queues.items()]


@asynccontextmanager
async def running(
    client: Client, council: Council, task_queue: str | None = None
) -> AsyncIterator[str]:
    """The workflow worker on a queue of its own (or the one given), and every stand-in."""
    task_queue = task_queue or f"lifeevent-{uuid.uuid4().hex}"
    async with AsyncExitStack() as stack:
        await stack.enter_async_context(build_worker(client, task_queue))
        for worker in council.workers(client):
            await stack.enter_async_context(worker)
        yield task_queue


async def start_as_the_orchestrator(
    client: Client, queue: str, workflow: Any, event: CloudEvent[Any]
) -> WorkflowHandle[Any, Any]:
    """`workflow` for `event`, under the ID the orchestrator gives it (which a withdrawal or
    a correction of the event derives too), never reused."""
    return await client.start_workflow(
        workflow.run,
        event,
        id=workflow_id_for(event.source, event.id),
        task_queue=queue,
        id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
    )


def finishing_births(client: Client, task_queue: str) -> AbstractAsyncContextManager[str]:
    """The project's worker on `task_queue`, with stand-ins under which a birth workflow
    finishes at once: the index answers that another workflow recorded the birth first.
    For tests about starting workflows, which need one that closes."""
    return running(client, Council(born_before=f"lifeevent-{uuid.uuid4().hex}"), task_queue)


async def timeline(handle: WorkflowHandle[Any, Any]) -> Timeline:
    seen: Timeline = await handle.query("timeline", result_type=Timeline)
    return seen


async def until(handle: WorkflowHandle[Any, Any], check: Callable[[Timeline], bool]) -> Timeline:
    seen: Timeline | None = None
    for _ in range(100):
        try:
            # The test server can drop a query that arrives during a workflow task: ask again.
            seen = await handle.query(
                "timeline", result_type=Timeline, rpc_timeout=timedelta(seconds=2)
            )
        except RPCError:
            continue
        if check(seen):
            return seen
        await asyncio.sleep(0.1)
    raise AssertionError(f"timeline never got there: {seen}")


def statuses(seen: Timeline) -> dict[str, str]:
    return {e.step: e.status.value + (f":{e.reason}" if e.reason else "") for e in seen.entries}
