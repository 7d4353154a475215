"""The caseworker queue, read from Temporal and answered through it (`ports.CaseworkerQueue`).

What is handed to people is what Temporal's visibility lists with `NeedsPerson = true`: every
life-event workflow upserts it while it has an open caseworker task (`workflows.pipeline`).
Each one's open tasks and stage come from its `timeline` query (visibility is eventually
consistent; the query is the workflow's own word). Escalated first, then oldest.

A doubtful match (`match:<n>`: the n-th person the workflow matched, counted across its
`residents.match_people` calls in the order they ran, as the pipeline numbers them) is shown
with the person as the event names them and the residents the index found. Both are read from
the workflow's history: the activity's input (the people, as `PersonDetails`) and its result
(`MatchResult.candidate_keys`), decoded with the client's data converter (the project's
codec decrypts). The candidates' details come from the resident index through
`CandidateLookup` (its adapter, over the index's store, is in `deploy/`), which also says
which of their fields agree with the person's.

A decision goes to the workflow as its `decide_match` update, a task dealt with as
`resolve_task`; a refused update is an answer (`Answered(False, its message)`), not an error.

No personal data is logged here: workflow IDs, task names and exception types only.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any, Literal, Protocol
from urllib.parse import quote

import structlog
from temporalio.api.enums.v1 import EventType
from temporalio.client import (
    Client,
    WorkflowHandle,
    WorkflowQueryFailedError,
    WorkflowQueryRejectedError,
    WorkflowUpdateFailedError,
)
from temporalio.service import RPCError, RPCStatusCode

from contracts.addresses import UkAddress
from contracts.residents import MatchResult, PersonDetails
from contracts.temporal import Activity, SearchAttributes
from contracts.timeline import EventRecord, MatchDecision, Receipt, Timeline
from services.portal.ports import Answered, Candidate, Case, QueueItem

__all__ = [
    "ESCALATED",
    "NEEDS_PERSON_QUERY",
    "PERSON_FIELDS",
    "CandidateLookup",
    "EventResidents",
    "QueueUnavailable",
    "TemporalQueue",
    "address_text",
    "match_place",
    "person_fields",
    "temporal_ui_link",
]

log = structlog.get_logger(__name__)

ESCALATED = "escalated"
NEEDS_PERSON_QUERY = f"{SearchAttributes.NEEDS_PERSON.name} = true AND ExecutionStatus = 'Running'"
PERSON_FIELDS = (
    "given_names",
    "family_name",
    "date_of_birth",
    "address",
    "nhs_number",
    "national_insurance_number",
)
"""The fields a person and a candidate are shown by, side by side, in this order."""

_CONCURRENT_QUERIES = 8  # the queue asks each workflow for its timeline: a few at a time
_QUERY_FAILED = "This case could not be reached. Try again in a moment."
_GONE = "This case is no longer open."
# A query that could not be answered: the workflow is gone, has no such query, or failed it.
_UNREADABLE = (RPCError, WorkflowQueryFailedError, WorkflowQueryRejectedError)


class QueueUnavailable(Exception):
    """Temporal did not answer (down, or not reached): the page says "not available just
    now" (`create_app(unavailable=…)`). A code, never a value."""


def _unreachable(error: BaseException) -> bool:
    if isinstance(error, RPCError):
        return error.status in (RPCStatusCode.UNAVAILABLE, RPCStatusCode.DEADLINE_EXCEEDED)
    # A lazily connected client that cannot connect says so with a RuntimeError.
    return isinstance(error, RuntimeError) and str(error).startswith("Failed client connect")


@contextmanager
def _reaching(what: str) -> Iterator[None]:
    """Temporal down or out of reach → `QueueUnavailable`; anything else as it is."""
    try:
        yield
    except (RPCError, RuntimeError) as error:
        if not _unreachable(error):
            raise
        log.warning("caseworker.temporal_unavailable", call=what, error=type(error).__name__)
        raise QueueUnavailable("temporal_unavailable") from None


class CandidateLookup(Protocol):
    """The resident index, as the console needs it for a doubtful match."""

    async def candidates(self, person: PersonDetails, keys: Sequence[str]) -> Sequence[Candidate]:
        """What the index holds about each resident of `keys` (in that order; a key it does
        not know is left out), in `PERSON_FIELDS`, and which of those agree with `person`."""


class EventResidents(Protocol):
    """Whom a life event is about, for the ledger (the pages record each action there)."""

    async def about(self, workflow_id: str) -> tuple[str, ...]: ...


def temporal_ui_link(ui_url: str, namespace: str, workflow_id: str, run_id: str) -> str:
    """The workflow's history in the Temporal UI (IDs quoted: a corrected run's has a `/`)."""
    return (
        f"{ui_url.rstrip('/')}/namespaces/{quote(namespace, safe='')}/workflows/"
        f"{quote(workflow_id, safe='')}/{quote(run_id, safe='')}/history"
    )


def match_place(task: str) -> int | None:
    """n of a `match:<n>` task; None for any other task."""
    kind, _, place = task.partition(":")
    if kind != "match" or not place.isdigit():
        return None
    return int(place)


def address_text(address: UkAddress) -> str:
    return ", ".join([*address.lines, address.town, address.postcode])


def person_fields(person: PersonDetails) -> dict[str, str]:
    """The person as the event names them, in `PERSON_FIELDS` (what it gives only)."""
    fields = {
        "given_names": person.name.given_names or "",
        "family_name": person.name.family_name or "",
        "date_of_birth": person.date_of_birth.isoformat() if person.date_of_birth else "",
        "address": address_text(person.address) if person.address is not None else "",
        "nhs_number": person.nhs_number or "",
        "national_insurance_number": person.national_insurance_number or "",
    }
    return {name: value for name, value in fields.items() if value}


class TemporalQueue:
    """`ports.CaseworkerQueue` (and `EventResidents`) on a Temporal client made by
    `services.common.temporal.connect` (its data converter decodes the project's payloads)."""

    def __init__(
        self,
        client: Client,
        temporal_ui_url: str,
        namespace: str,
        candidate_lookup: CandidateLookup,
    ) -> None:
        self._client = client
        self._ui = temporal_ui_url
        self._namespace = namespace
        self._lookup = candidate_lookup

    # -- the queue --------------------------------------------------------------------------

    async def items(self) -> Sequence[QueueItem]:
        """Every running workflow that needs a person, with its open tasks: escalated first,
        then the oldest. One that has closed its tasks since visibility listed it is left out."""
        with _reaching("list_workflows"):
            listed = [e async for e in self._client.list_workflows(NEEDS_PERSON_QUERY)]
        gate = asyncio.Semaphore(_CONCURRENT_QUERIES)

        async def item(execution: Any) -> QueueItem | None:
            async with gate:
                handle = self._client.get_workflow_handle(execution.id, run_id=execution.run_id)
                timeline = await self._timeline(handle)
            if timeline is None or not timeline.caseworker_tasks:
                return None
            return self._item(
                execution.id,
                execution.run_id,
                execution.typed_search_attributes.get(SearchAttributes.LIFE_EVENT_TYPE) or "",
                timeline,
                execution.start_time,
            )

        found = [i for i in await asyncio.gather(*map(item, listed)) if i is not None]
        return sorted(found, key=lambda i: (i.stage != ESCALATED, i.started_at, i.workflow_id))

    async def case(self, workflow_id: str, task: str) -> Case | None:
        """The task while it is open (None otherwise): the workflow's timeline, and for a
        doubtful match the person and the candidates."""
        handle = self._client.get_workflow_handle(workflow_id)
        try:
            with _reaching("describe"):
                described = await handle.describe()
        except RPCError as error:
            if error.status is RPCStatusCode.NOT_FOUND:
                return None
            raise
        run = self._client.get_workflow_handle(workflow_id, run_id=described.run_id)
        timeline = await self._timeline(run)
        if timeline is None or task not in timeline.caseworker_tasks:
            return None
        item = self._item(
            workflow_id,
            described.run_id,
            described.typed_search_attributes.get(SearchAttributes.LIFE_EVENT_TYPE) or "",
            timeline,
            described.start_time,
        )
        place = match_place(task)
        if place is None:
            return Case(item=item, timeline=timeline, person={})
        doubtful = await self._doubtful(run, place)
        if doubtful is None:
            log.warning("caseworker.match_not_in_history", workflow_id=workflow_id, task=task)
            return Case(item=item, timeline=timeline, person={})
        person, result = doubtful
        candidates = await self._lookup.candidates(person, result.candidate_keys)
        return Case(
            item=item,
            timeline=timeline,
            person=person_fields(person),
            candidates=tuple(candidates),
        )

    # -- answers ----------------------------------------------------------------------------

    async def decide_match(
        self, workflow_id: str, task: str, decision: Literal["link", "create"], resident: str | None
    ) -> Answered:
        place = match_place(task)
        if place is None:
            return Answered(False, "This task is not an identity decision.")
        answer = MatchDecision(
            mover=place, decision=decision, resident=resident if decision == "link" else None
        )
        return await self._update(workflow_id, task, "decide_match", answer)

    async def resolve(self, workflow_id: str, task: str) -> Answered:
        return await self._update(workflow_id, task, "resolve_task", task)

    async def about(self, workflow_id: str) -> tuple[str, ...]:
        """The residents the event is about (its `record` query), none when not known (yet:
        a move says whom it is about once its movers are matched)."""
        handle = self._client.get_workflow_handle(workflow_id)
        try:
            with _reaching("record"):
                record: EventRecord = await handle.query("record", result_type=EventRecord)
        except _UNREADABLE as error:
            log.warning(
                "caseworker.record_unreadable", workflow_id=workflow_id, error=type(error).__name__
            )
            return ()
        return tuple(record.about)

    async def _update(self, workflow_id: str, task: str, update: str, argument: Any) -> Answered:
        handle = self._client.get_workflow_handle(workflow_id)
        try:
            with _reaching(update):
                receipt: Receipt = await handle.execute_update(
                    update, argument, result_type=Receipt
                )
        except WorkflowUpdateFailedError as error:
            # The workflow's validator refused it: its message is a fixed sentence.
            cause = error.cause
            message = str(getattr(cause, "message", "") or "The case did not take this answer.")
            log.info("caseworker.update_refused", workflow_id=workflow_id, task=task, update=update)
            return Answered(False, message)
        except RPCError as error:
            log.warning(
                "caseworker.update_failed",
                workflow_id=workflow_id,
                task=task,
                update=update,
                error=error.status.name,
            )
            gone = error.status is RPCStatusCode.NOT_FOUND
            return Answered(False, _GONE if gone else _QUERY_FAILED)
        log.info("caseworker.update_taken", workflow_id=workflow_id, task=task, update=update)
        return Answered(True, receipt.message)

    # -- reading a workflow -----------------------------------------------------------------

    async def _timeline(self, handle: WorkflowHandle[Any, Any]) -> Timeline | None:
        try:
            with _reaching("timeline"):
                timeline: Timeline = await handle.query("timeline", result_type=Timeline)
        except _UNREADABLE as error:
            # Gone since it was listed, or not a life-event workflow: not in the queue.
            log.info(
                "caseworker.timeline_unreadable", workflow_id=handle.id, error=type(error).__name__
            )
            return None
        return timeline

    def _item(
        self,
        workflow_id: str,
        run_id: str,
        event_type: str,
        timeline: Timeline,
        started_at: datetime,
    ) -> QueueItem:
        return QueueItem(
            workflow_id=workflow_id,
            event_type=event_type,
            stage=timeline.stage,
            tasks=tuple(timeline.caseworker_tasks),
            started_at=started_at,
            temporal_ui_url=temporal_ui_link(self._ui, self._namespace, workflow_id, run_id),
        )

    async def _doubtful(
        self, handle: WorkflowHandle[Any, Any], place: int
    ) -> tuple[PersonDetails, MatchResult] | None:
        """The person at `place` and the index's answer about them, from the run's history:
        each `match_people` call's people are numbered on from the last call's."""
        converter = self._client.data_converter
        calls: dict[int, tuple[int, list[PersonDetails]]] = {}  # scheduled event → (first, people)
        numbered = 0
        history = await handle.fetch_history()
        for event in history.events:
            if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
                scheduled = event.activity_task_scheduled_event_attributes
                if scheduled.activity_type.name != Activity.MATCH_PEOPLE:
                    continue
                [people] = await converter.decode(scheduled.input.payloads, [list[PersonDetails]])
                calls[event.event_id] = (numbered, people)
                numbered += len(people)
            elif event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
                completed = event.activity_task_completed_event_attributes
                call = calls.get(completed.scheduled_event_id)
                if call is None:
                    continue
                first, people = call
                if not first <= place < first + len(people):
                    continue
                [results] = await converter.decode(completed.result.payloads, [list[MatchResult]])
                result: MatchResult = results[place - first]
                return people[place - first], result
        return None
