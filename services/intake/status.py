"""What became of an event, as its source system may see it: a state, a stage, a reason code.

The workflow is the truth once there is one (looked up by the ID the orchestrator derives
from source + id, and the IDs of the event's later runs: a correction's run, a withdrawal's
hold, the latest of which says what stands); before that, the intake's own records say
whether it took the event or the orchestrator dead-lettered it. Nothing from the event's
payload is ever part of a status.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from temporalio.client import (
    Client,
    WorkflowExecutionDescription,
    WorkflowExecutionStatus,
    WorkflowHandle,
)
from temporalio.service import RPCError, RPCStatusCode

from contracts.events.common import EventReference
from contracts.temporal import SearchAttributes, corrected_id, workflow_id_for
from contracts.timeline import Outcome
from services.intake.store import IntakeStore

__all__ = ["EventState", "EventStatus", "StatusReader", "StatusUnavailable"]


class EventState(StrEnum):
    ACCEPTED = "accepted"  # the intake wrote it to Kafka; no workflow yet
    RUNNING = "running"
    COMPLETED = "completed"
    MERGED = "merged"  # another report of a life event already handled: nothing done twice
    CONTRADICTED = "contradicted"  # contradicted the first report: a caseworker settled it
    WITHDRAWN = "withdrawn"  # its source withdrew it: stopped, or never started if it came late
    CORRECTED = "corrected"  # its source corrected it: run again on the corrected facts
    FAILED = "failed"  # failed, terminated, timed out or cancelled
    DEAD_LETTERED = "dead_lettered"


_FAILED = {
    WorkflowExecutionStatus.FAILED: "failed",
    WorkflowExecutionStatus.TERMINATED: "terminated",
    WorkflowExecutionStatus.TIMED_OUT: "timed_out",
    WorkflowExecutionStatus.CANCELED: "cancelled",
}


@dataclass(frozen=True)
class EventStatus:
    source: str
    event_id: str
    state: EventState
    event_type: str | None = None
    stage: str | None = None  # RUNNING: the workflow's LifeEventStage search attribute
    reason: str | None = None  # DEAD_LETTERED: the DLQ reason code; FAILED: how it ended
    accepted_at: datetime | None = None
    # MERGED, CONTRADICTED: the first report; WITHDRAWN, CORRECTED: the withdrawal or
    # correction
    merged_into: EventReference | None = None


# A workflow that completed without acting, because its event was another report of one
# already handled: to its source, not "completed" (it did nothing), but what became of it.
_NOT_ACTED = {
    state.value: state
    for state in (
        EventState.MERGED,
        EventState.CONTRADICTED,
        EventState.WITHDRAWN,
        EventState.CORRECTED,
    )
}


# An event's runs after its first: each correction's, or a withdrawal's hold on the next ID.
_MOST_RUNS = 21


class StatusUnavailable(Exception):
    """Temporal could not be asked in time; the caller should try again later."""


class StatusReader:
    def __init__(self, store: IntakeStore, temporal: Client, *, timeout: float) -> None:
        self.store = store
        self.temporal = temporal
        self.timeout = timeout

    async def status(self, source: str, event_id: str) -> EventStatus | None:
        """The event's status, or None if neither Temporal nor the intake knows of it."""
        accepted = await self.store.find_accepted(source, event_id)
        accepted_at = accepted.accepted_at if accepted else None
        event_type = accepted.event_type if accepted else None
        latest = await self._latest_run(workflow_id_for(source, event_id))
        if latest is not None:
            handle, description, corrected = latest
            attributes = description.typed_search_attributes
            event_type = event_type or attributes.get(SearchAttributes.LIFE_EVENT_TYPE)
            status = description.status
            if status in _FAILED:
                state, stage, reason = EventState.FAILED, None, _FAILED[status]
            elif status == WorkflowExecutionStatus.COMPLETED:
                # Run again on corrected facts, and that run has completed: corrected.
                state = EventState.CORRECTED if corrected else EventState.COMPLETED
                stage, reason = None, None
                outcome = await self._outcome(handle.id)
                if outcome is not None and outcome.stage in _NOT_ACTED:
                    return EventStatus(
                        source,
                        event_id,
                        _NOT_ACTED[outcome.stage],
                        event_type,
                        accepted_at=accepted_at,
                        merged_into=outcome.merged_into,
                    )
            else:  # running, or continued as new (the newest run is described, so: running)
                state, stage, reason = (
                    EventState.RUNNING,
                    attributes.get(SearchAttributes.STAGE),
                    None,
                )
            return EventStatus(
                source, event_id, state, event_type, stage, reason, accepted_at=accepted_at
            )
        dead = await self.store.find_dead_letter(source, event_id)
        if dead is not None:
            return EventStatus(
                source,
                event_id,
                EventState.DEAD_LETTERED,
                event_type,
                reason=dead.reason,
                accepted_at=accepted_at,
            )
        if accepted is not None:
            return EventStatus(
                source, event_id, EventState.ACCEPTED, event_type, accepted_at=accepted_at
            )
        return None

    async def _outcome(self, workflow_id: str) -> Outcome | None:
        """What a completed life-event workflow returned (its close event alone is read);
        None for a workflow that returns something else."""
        try:
            outcome = await asyncio.wait_for(
                self.temporal.get_workflow_handle(workflow_id, result_type=Outcome).result(
                    rpc_timeout=timedelta(seconds=self.timeout)
                ),
                self.timeout + 1,
            )
        except RPCError as error:
            raise StatusUnavailable(error.status.name) from None
        except TimeoutError as error:
            raise StatusUnavailable(type(error).__name__) from None
        except Exception:
            return None
        return outcome if isinstance(outcome, Outcome) else None

    async def _latest_run(
        self, workflow_id: str
    ) -> tuple[WorkflowHandle[Any, Any], WorkflowExecutionDescription, bool] | None:
        """The event's latest run, described, and whether it is a later run than the first
        (on corrected facts, or a withdrawal's hold on its ID); None: no run at all."""
        found: tuple[WorkflowHandle[Any, Any], WorkflowExecutionDescription, bool] | None = None
        for n in range(_MOST_RUNS):
            run = workflow_id if n == 0 else corrected_id(workflow_id, n)
            handle = self.temporal.get_workflow_handle(run)
            try:
                description = await asyncio.wait_for(
                    handle.describe(rpc_timeout=timedelta(seconds=self.timeout)),
                    self.timeout + 1,
                )
            except RPCError as error:
                if error.status != RPCStatusCode.NOT_FOUND:
                    raise StatusUnavailable(error.status.name) from None
                return found
            except (TimeoutError, RuntimeError) as error:  # RuntimeError: lazy client
                raise StatusUnavailable(type(error).__name__) from None
            found = (handle, description, n > 0)
        return found
