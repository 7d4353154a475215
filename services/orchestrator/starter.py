"""Start the workflow for a life event: once, whoever delivers it, however often.

The workflow ID is derived from the event's source and id; REJECT_DUPLICATE refuses a second
run after the first has closed, USE_EXISTING returns the running one. Temporal being
unreachable is not the event's fault: it is retried with backoff, never dead-lettered.
"""

from __future__ import annotations

import asyncio
import time
from enum import StrEnum
from typing import Any

import structlog
from temporalio.client import Client
from temporalio.common import (
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from contracts import CloudEvent
from contracts.temporal import SearchAttributes, workflow_id_for

__all__ = ["StartResult", "TemporalUnavailable", "WorkflowStarter"]

log = structlog.get_logger(__name__)

_TRANSIENT = frozenset(
    {
        RPCStatusCode.UNAVAILABLE,
        RPCStatusCode.DEADLINE_EXCEEDED,
        RPCStatusCode.RESOURCE_EXHAUSTED,
        RPCStatusCode.ABORTED,
        RPCStatusCode.CANCELLED,
    }
)
_FIRST_DELAY = 0.5
_MAX_DELAY = 10.0


class StartResult(StrEnum):
    STARTED = "started"  # or found running: USE_EXISTING does not tell them apart
    ALREADY_DONE = "already_done"


class TemporalUnavailable(Exception):
    """Temporal did not answer within the retry window; the record must be read again."""


class WorkflowStarter:
    def __init__(
        self, client: Client, *, task_queue: str, council_area: str, retry_window: float
    ) -> None:
        self.client = client
        self.task_queue = task_queue
        self.council_area = council_area
        self.retry_window = retry_window

    async def start(self, event: CloudEvent[Any], workflow_name: str) -> StartResult:
        workflow_id = workflow_id_for(event.source, event.id)
        deadline = time.monotonic() + self.retry_window
        delay = _FIRST_DELAY
        while True:
            try:
                await self.client.start_workflow(
                    workflow_name,
                    event,
                    id=workflow_id,
                    task_queue=self.task_queue,
                    id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                    id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
                    search_attributes=self._search_attributes(event),
                )
                return StartResult.STARTED
            except WorkflowAlreadyStartedError:
                return StartResult.ALREADY_DONE
            except (RPCError, RuntimeError) as error:
                if not _is_transient(error):
                    raise
                if time.monotonic() + delay > deadline:
                    raise TemporalUnavailable(workflow_id) from error
                log.warning("temporal.unavailable", workflow_id=workflow_id, retry_in_seconds=delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, _MAX_DELAY)

    def _search_attributes(self, event: CloudEvent[Any]) -> TypedSearchAttributes:
        return TypedSearchAttributes(
            [
                SearchAttributePair(SearchAttributes.LIFE_EVENT_TYPE, event.type),
                SearchAttributePair(SearchAttributes.LIFE_EVENT_ID, event.id),
                SearchAttributePair(SearchAttributes.STAGE, "received"),
                SearchAttributePair(SearchAttributes.NEEDS_PERSON, False),
                SearchAttributePair(SearchAttributes.COUNCIL_AREA, self.council_area),
            ]
        )


def _is_transient(error: Exception) -> bool:
    if isinstance(error, RPCError):
        return error.status in _TRANSIENT
    # A lazy client that has never reached the server reports it this way, not as an RPCError.
    return str(error).startswith("Failed client connect")
