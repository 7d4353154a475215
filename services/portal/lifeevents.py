"""`ports.LifeEvents` through Temporal: a resident's life events, read from their workflows'
queries and answered through their `confirm` update.

Every life-event workflow (`workflows.pipeline.LifeEventPipeline`: moves, births, deaths)
answers the queries `record` (`EventRecord`: its type, stage and `about`, whom the event is
about) and `timeline` (`Timeline`), and takes the update `confirm` (`Confirmation(step,
accept)` → `Receipt`), whose validator refuses, in plain English, an answer to a step that
is not waiting or whose time has passed.

Authorisation, per object
    Every method first asks the workflow's `record` and goes on only when the signed-in
    resident is one of its people: in its `about` (whom the event is about: a move's movers,
    a birth's child, a death's deceased), or among those it `told` (whom the council wrote
    to about it: a birth's parents, a death's survivors, each resident asked a question).
    A workflow that is not theirs is treated exactly as one that does not exist, or that is
    not a life event's workflow at all: `timeline` → None, `answer` → `LookupError`, and
    `events` / `waiting` leave it out. Pages answer 404 to both, so nobody can tell someone
    else's event from no event.

Not available just now
    A query needs a worker, even on a closed workflow (Temporal replays its history there).
    When the workflows' worker is down, or Temporal is, a query would wait; here every call
    a method makes is done by one deadline (`timeout`, 3 s by default, and half a second),
    and the calls for several workflows run side by side (`asyncio.gather`, at most
    `concurrency` at once), so a page waits for one timeout at most, not one per event.
    What could not be read is shown, never guessed:
    - `events`: an `EventSummary` with `stage == UNAVAILABLE` (`title` `UNAVAILABLE_TITLE`,
      `event_type` "", `started_at` None): the page can say "not available just now";
      nothing else is shown, since whom it is about could not be checked;
    - `waiting`: nothing from that workflow (its questions cannot be read);
    - `timeline`: raises `LifeEventUnavailable` (a page shows "not available just now",
      status 503, rather than a 404 that would say the event is gone);
    - `answer`: `Answered(False, NOT_AVAILABLE)`, the answer not sent.
    An answer sent whose update then timed out may still be taken by the workflow later:
    `Answered(False, NOT_CONFIRMED)` says so, and answering again is refused as "not
    waiting" if it was.

Words: questions come from `services.portal.questions` (by step name); an event's title
from the portal's phrases (`phrases.event_title`, by event type), so it is worded once.

Due: a step waiting for the resident shows the day its answer is due as its timeline
entry's `references["due"]` (an ISO date in the UK; the workflow stops waiting at some time
on that day, `CONFIRM_WITHIN` after it began). `Waiting.due` is the start of that day in
the UK (00:00 Europe/London, never later than the real deadline): pages should show the
date, in Europe/London, not a time. A workflow that shows no such day (runs from before
it) gives `due=None`.

Logs name workflow IDs (no personal data, `contracts.temporal.workflow_id_for`) and codes;
never a resident key beside them, so a log line does not say whose event it was.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from datetime import date, datetime, time, timedelta
from typing import TypeVar

import structlog
from temporalio.client import (
    Client,
    RPCTimeoutOrCancelledError,
    WorkflowExecutionDescription,
    WorkflowQueryFailedError,
    WorkflowQueryRejectedError,
    WorkflowUpdateFailedError,
)
from temporalio.service import RPCError, RPCStatusCode

from contracts.dates import uk_moment
from contracts.timeline import Confirmation, EventRecord, Receipt, StepStatus, Timeline
from services.portal.phrases import event_title
from services.portal.ports import Answered, EventSummary, Waiting
from services.portal.questions import question_for

__all__ = [
    "NOT_AVAILABLE",
    "NOT_CONFIRMED",
    "NO_LONGER_WAITING",
    "UNAVAILABLE",
    "UNAVAILABLE_TITLE",
    "LifeEventUnavailable",
    "TemporalLifeEvents",
]

log = structlog.get_logger(__name__)

T = TypeVar("T")

UNAVAILABLE = "unavailable"
"""`EventSummary.stage` of a life event that could not be read just now."""

UNAVAILABLE_TITLE = "Not available just now"

NOT_AVAILABLE = "We cannot take your answer just now. Please try again later."
NOT_CONFIRMED = (
    "We could not confirm that we have your answer. Please check again later before "
    "answering again."
)
NO_LONGER_WAITING = "This question is no longer waiting for an answer."

# The names of the life-event workflows' handlers (workflows.pipeline).
_RECORD = "record"
_TIMELINE = "timeline"
_CONFIRM = "confirm"

# What the server says of a workflow that is not there (or an ID it could never hold).
_ABSENT = frozenset({RPCStatusCode.NOT_FOUND, RPCStatusCode.INVALID_ARGUMENT})


class LifeEventUnavailable(Exception):
    """Temporal, or the workflows' worker, did not answer in time. No personal data."""

    def __init__(self) -> None:
        super().__init__("life_event_unavailable")


class TemporalLifeEvents:
    """`timeout` bounds what one page waits for Temporal: every call it makes about one
    workflow, together, for each workflow (all of them side by side)."""

    def __init__(
        self,
        client: Client,
        *,
        timeout: timedelta = timedelta(seconds=3),
        concurrency: int = 16,
    ) -> None:
        self._client = client
        self._timeout = timeout
        self._limit = asyncio.Semaphore(concurrency)

    # -- ports.LifeEvents ------------------------------------------------------------------

    async def events(self, resident: str, workflow_ids: Sequence[str]) -> Sequence[EventSummary]:
        by = self._deadline()
        found = await asyncio.gather(*(self._summary(resident, w, by) for w in workflow_ids))
        return [summary for summary in found if summary is not None]

    async def timeline(self, resident: str, workflow_id: str) -> Timeline | None:
        by = self._deadline()
        if await self._theirs(resident, workflow_id, by) is None:
            return None
        return await self._timeline(workflow_id, by)

    async def waiting(self, resident: str, workflow_ids: Sequence[str]) -> Sequence[Waiting]:
        by = self._deadline()
        found = await asyncio.gather(*(self._questions(resident, w, by) for w in workflow_ids))
        return [question for questions in found for question in questions]

    async def answer(self, resident: str, workflow_id: str, step: str, accept: bool) -> Answered:
        try:
            record = await self._theirs(resident, workflow_id, self._deadline())
        except LifeEventUnavailable:
            return Answered(False, NOT_AVAILABLE)
        if record is None:
            raise LookupError("no_such_life_event")
        handle = self._client.get_workflow_handle(workflow_id)
        try:
            async with asyncio.timeout_at(self._deadline()):
                receipt: Receipt = await handle.execute_update(
                    _CONFIRM,
                    Confirmation(step=step, accept=accept),
                    result_type=Receipt,
                    rpc_timeout=self._timeout,
                )
        except WorkflowUpdateFailedError as refused:
            # The validator's refusal, in words meant for the resident.
            message = getattr(refused.cause, "message", "") or NO_LONGER_WAITING
            log.info("portal.answer_refused", workflow_id=workflow_id, step=step)
            return Answered(False, message)
        except (TimeoutError, RPCTimeoutOrCancelledError):
            # Sent, perhaps taken: the workflow may still act on it.
            log.warning("portal.answer_unconfirmed", workflow_id=workflow_id, step=step)
            return Answered(False, NOT_CONFIRMED)
        except RPCError as error:
            if error.status in _ABSENT:
                # Closed since we read it: nothing waits any more.
                return Answered(False, NO_LONGER_WAITING)
            log.warning("portal.answer_failed", workflow_id=workflow_id, status=error.status.name)
            return Answered(False, NOT_AVAILABLE)
        log.info("portal.answered", workflow_id=workflow_id, step=step, accept=accept)
        return Answered(True, receipt.message)

    # -- per workflow ----------------------------------------------------------------------

    async def _summary(self, resident: str, workflow_id: str, by: float) -> EventSummary | None:
        try:
            record = await self._theirs(resident, workflow_id, by)
        except LifeEventUnavailable:
            return EventSummary(
                workflow_id=workflow_id,
                event_type="",
                title=UNAVAILABLE_TITLE,
                stage=UNAVAILABLE,
                started_at=None,
            )
        if record is None:
            return None
        return EventSummary(
            workflow_id=workflow_id,
            event_type=record.event_type,
            title=event_title(record.event_type),
            # The record's stage is the timeline's (the same field of the workflow's): one
            # query fewer per event.
            stage=record.stage,
            started_at=await self._started_at(workflow_id, by),
        )

    async def _questions(self, resident: str, workflow_id: str, by: float) -> list[Waiting]:
        try:
            if await self._theirs(resident, workflow_id, by) is None:
                return []
            timeline = await self._timeline(workflow_id, by)
        except LifeEventUnavailable:
            return []
        return [
            Waiting(
                workflow_id=workflow_id,
                step=entry.step,
                question=question_for(entry.step),
                due=_due(entry.references.get("due")),
            )
            for entry in timeline.entries
            if entry.status is StepStatus.WAITING_FOR_RESIDENT
        ]

    async def _theirs(self, resident: str, workflow_id: str, by: float) -> EventRecord | None:
        """The workflow's record if it is a life event of `resident`'s, else None."""
        handle = self._client.get_workflow_handle(workflow_id)
        try:
            record: EventRecord = await self._call(
                workflow_id,
                lambda: handle.query(_RECORD, result_type=EventRecord, rpc_timeout=self._timeout),
                by,
            )
        except _Absent:
            return None
        except (WorkflowQueryFailedError, WorkflowQueryRejectedError, ValueError):
            # Not a life event's workflow: no such query, or another shape of answer.
            log.info("portal.not_a_life_event", workflow_id=workflow_id)
            return None
        if resident not in record.about and all(t.resident != resident for t in record.told):
            return None
        return record

    async def _timeline(self, workflow_id: str, by: float) -> Timeline:
        handle = self._client.get_workflow_handle(workflow_id)
        try:
            timeline: Timeline | None = await self._call(
                workflow_id,
                lambda: handle.query(_TIMELINE, result_type=Timeline, rpc_timeout=self._timeout),
                by,
            )
        except (_Absent, WorkflowQueryFailedError, WorkflowQueryRejectedError, ValueError):
            # It answered `record` a moment ago: a timeline it cannot give is a fault there.
            log.warning("portal.timeline_unreadable", workflow_id=workflow_id)
            raise LifeEventUnavailable() from None
        if timeline is None:
            raise LifeEventUnavailable()
        return timeline

    async def _started_at(self, workflow_id: str, by: float) -> datetime | None:
        """When the life event's workflow started: its first run's start, for one that has
        continued as new since (a birth follows a child for years, one run per wait)."""
        described = await self._described(workflow_id, None, by)
        if described is None:
            return None
        first = described.raw_description.workflow_execution_info.first_run_id
        if first and first != described.run_id:
            # The first run may be gone (past the namespace's retention): this run's, then.
            earlier = await self._described(workflow_id, first, by)
            if earlier is not None:
                return earlier.start_time
        return described.start_time

    async def _described(
        self, workflow_id: str, run_id: str | None, by: float
    ) -> WorkflowExecutionDescription | None:
        handle = self._client.get_workflow_handle(workflow_id, run_id=run_id)
        try:
            return await self._call(
                workflow_id, lambda: handle.describe(rpc_timeout=self._timeout), by
            )
        except (_Absent, LifeEventUnavailable):
            return None

    # -- Temporal, bounded ---------------------------------------------------------------

    def _deadline(self) -> float:
        # A little after the RPCs' own deadline, so that theirs speaks first; the client
        # retries some failures by itself, which only this bounds.
        return asyncio.get_running_loop().time() + self._timeout.total_seconds() + 0.5

    async def _call(self, workflow_id: str, call: Callable[[], Awaitable[T]], by: float) -> T:
        """One call to Temporal about one workflow, done `by` (the loop's clock), waiting
        for a turn included. No such workflow → `_Absent`; no answer → `LifeEventUnavailable`."""
        try:
            async with asyncio.timeout_at(by), self._limit:
                return await call()
        except RPCError as error:
            if error.status in _ABSENT:
                raise _Absent() from None
            log.warning("portal.temporal_failed", workflow_id=workflow_id, status=error.status.name)
        except (TimeoutError, RPCTimeoutOrCancelledError):
            log.warning("portal.temporal_timed_out", workflow_id=workflow_id)
        raise LifeEventUnavailable()


class _Absent(Exception):
    """No such workflow (the server's NOT_FOUND)."""


def _due(day: str | None) -> datetime | None:
    """The start, in the UK, of the day an answer is due; None when not shown (or not a
    date: a page shows no date rather than a wrong one)."""
    if not day:
        return None
    try:
        return uk_moment(date.fromisoformat(day), time(0))
    except ValueError:
        return None
