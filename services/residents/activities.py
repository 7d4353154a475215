"""The resident index as Temporal activities, on the `residents` task queue.

Workflows call them by name, for instance:

    results = await workflow.execute_activity(
        "residents.match_people", [PersonDetails.of(m) for m in event.movers],
        result_type=list[MatchResult], task_queue="residents",
        start_to_close_timeout=timedelta(seconds=30))

| activity | input | result |
| --- | --- | --- |
| `residents.match_people` | `list[PersonDetails]` | `list[MatchResult]`, same order |
| `residents.resolve_doubtful` | `CaseworkerDecision` | `MatchResult` |
| `residents.record_move` | `MoveRecord` | `Household` |
| `residents.record_birth` | `BirthRecord` | `BirthHousehold` |
| `residents.mark_deceased` | `DeathRecord` | `Resident` |
| `residents.flag_support` | `SupportFlag` | `Resident` |
| `residents.set_preferences` | `PreferenceUpdate` | `Resident` |
| `residents.contact_for` | `str` (resident key) | `ContactPlan` |
| `residents.household_after_death` | `DeathRecord` | `DeathHousehold` |
| `residents.reminders_for` | `list[str]` (resident keys) | `list[str]` (workflow IDs) |
| `residents.claim_report` | `LifeEventReport` | `SameEvent` |
| `residents.undo_workflow` | `UndoRequest` | `ActionOutcome` |

Every one is safe to retry. `match_people` remembers its answer per workflow run, activity
and input, so a retry after the first attempt committed gets the same keys and outcomes;
the others are idempotent on `workflow_id` + `step`, by nature, or read only
(`contact_for`, `household_after_death`, `reminders_for`). A request the index refuses (an
unknown resident key) is a non-retryable `ApplicationError` of type `ResidentIndexError`
whose message is a code; `reminders_for` refuses nothing (an unknown key has no reminders).

Every write a workflow's step makes is journaled, so `undo_workflow` can take back all of a
withdrawn life event's records at once (`ResidentIndex.undo_workflow`): idempotent, and all
or nothing.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

from temporalio import activity
from temporalio.exceptions import ApplicationError

from contracts.actions import ActionOutcome, UndoRequest
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
    PreferenceUpdate,
    Resident,
    SameEvent,
    SupportFlag,
)
from contracts.temporal import Activity
from services.residents.index import MatchRequest, ResidentIndex, ResidentIndexError

__all__ = ["ResidentActivities"]


def _refused(error: ResidentIndexError) -> ApplicationError:
    return ApplicationError(error.code, type="ResidentIndexError", non_retryable=True)


def _request(people: list[PersonDetails]) -> MatchRequest | None:
    """One activity execution with this input: its key the same across its retries,
    different for any other activity or input. None outside a workflow (no memory: the rule
    alone)."""
    info = activity.info()
    if not info.workflow_id:
        return None
    body = json.dumps([p.model_dump(mode="json") for p in people], sort_keys=True)
    material = "\n".join((info.workflow_id, info.workflow_run_id or "", info.activity_id, body))
    return MatchRequest(
        key=hashlib.sha256(material.encode()).hexdigest(),
        workflow_id=info.workflow_id,
        # The step column holds 100 characters; SDKs number activities 1, 2, ... by default.
        step=info.activity_id[:100],
    )


class ResidentActivities:
    def __init__(self, index: ResidentIndex) -> None:
        self.index = index

    @activity.defn(name=Activity.MATCH_PEOPLE)
    async def match_people(self, people: list[PersonDetails]) -> list[MatchResult]:
        """Each person matched, created or doubtful (see `services.residents.matching`)."""
        return await self.index.match_people(people, request=_request(people))

    @activity.defn(name=Activity.RESOLVE_DOUBTFUL)
    async def resolve_doubtful(self, decision: CaseworkerDecision) -> MatchResult:
        try:
            return await self.index.resolve_doubtful(decision)
        except ResidentIndexError as error:
            raise _refused(error) from None

    @activity.defn(name=Activity.RECORD_MOVE)
    async def record_move(self, move: MoveRecord) -> Household:
        try:
            return await self.index.record_move(move)
        except ResidentIndexError as error:
            raise _refused(error) from None

    @activity.defn(name=Activity.RECORD_BIRTH)
    async def record_birth(self, birth: BirthRecord) -> BirthHousehold:
        """The household the child is born into, and the workflow that recorded this birth
        first (the one that holds the child's reminders)."""
        try:
            return await self.index.record_birth(birth)
        except ResidentIndexError as error:
            raise _refused(error) from None

    @activity.defn(name=Activity.MARK_DECEASED)
    async def mark_deceased(self, death: DeathRecord) -> Resident:
        try:
            return await self.index.mark_deceased(death)
        except ResidentIndexError as error:
            raise _refused(error) from None

    @activity.defn(name=Activity.FLAG_SUPPORT)
    async def flag_support(self, flag: SupportFlag) -> Resident:
        try:
            return await self.index.flag_support(flag)
        except ResidentIndexError as error:
            raise _refused(error) from None

    @activity.defn(name=Activity.SET_PREFERENCES)
    async def set_preferences(self, update: PreferenceUpdate) -> Resident:
        try:
            return await self.index.set_preferences(update)
        except ResidentIndexError as error:
            raise _refused(error) from None

    @activity.defn(name=Activity.CONTACT_FOR)
    async def contact_for(self, resident: str) -> ContactPlan:
        """The channels in preference order; none, and `deceased`, for a deceased resident."""
        try:
            return await self.index.contact_for(resident)
        except ResidentIndexError as error:
            raise _refused(error) from None

    @activity.defn(name=Activity.HOUSEHOLD_AFTER_DEATH)
    async def household_after_death(self, death: DeathRecord) -> DeathHousehold:
        """The living residents at the deceased's address, and the other workflows that
        recorded a step about the deceased, oldest first. Read only."""
        try:
            return await self.index.household_after_death(death)
        except ResidentIndexError as error:
            raise _refused(error) from None

    @activity.defn(name=Activity.REMINDERS_FOR)
    async def reminders_for(self, residents: list[str]) -> list[str]:
        """The workflows holding reminders for these residents (the first to record each
        one's birth), each once: a move tells them the child moved. Read only; an unknown
        key is not an error, it has no reminders."""
        return await self.index.reminders_for(residents)

    @activity.defn(name=Activity.CLAIM_REPORT)
    async def claim_report(self, report: LifeEventReport) -> SameEvent:
        """Whether this report of a life event is its first, another report of it, or one
        that contradicts the first (`sameness.py`)."""
        try:
            return await self.index.claim_report(report)
        except ResidentIndexError as error:
            raise _refused(error) from None

    @activity.defn(name=Activity.RESIDENTS_UNDO)
    async def undo_workflow(self, request: UndoRequest) -> ActionOutcome:
        """Everything the index wrote for the workflow, taken back in one transaction
        (`undone`), or nothing (`changed_since` {tables}); `already_undone` when repeated,
        `nothing_to_undo` when it wrote nothing."""
        return await self.index.undo_workflow(request)

    @property
    def all(self) -> list[Callable[..., Any]]:
        return [
            self.match_people,
            self.resolve_doubtful,
            self.record_move,
            self.record_birth,
            self.mark_deceased,
            self.flag_support,
            self.set_preferences,
            self.contact_for,
            self.household_after_death,
            self.reminders_for,
            self.claim_report,
            self.undo_workflow,
        ]
