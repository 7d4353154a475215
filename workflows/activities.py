"""Activities the workflow worker runs itself, on the workflow task queue."""

from __future__ import annotations

from temporalio import activity
from temporalio.client import WorkflowExecutionStatus, WorkflowQueryFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from contracts.plan import Plan, PlanRequest
from contracts.temporal import Activity
from contracts.timeline import EventRecord
from workflows.catalogue import plan_for

__all__ = ["plan_event", "record_of"]


@activity.defn(name=Activity.PLAN_EVENT)
async def plan_event(request: PlanRequest) -> Plan:
    """The plan for an event, from the catalogue as it is now. An activity, so the plan is
    recorded in the workflow's history and a later catalogue edit cannot change it."""
    return plan_for(request)


@activity.defn(name=Activity.RECORD_OF)
async def record_of(workflow_id: str) -> EventRecord:
    """What a life event's workflow did (its `record` query), once it has closed: while it
    runs it may still act, so this fails, to be retried (`still_running`). A workflow that
    keeps no record (an event withdrawn before it arrived) did nothing."""
    handle = activity.client().get_workflow_handle(workflow_id)
    try:
        description = await handle.describe()
    except RPCError as error:
        if error.status == RPCStatusCode.NOT_FOUND:
            raise ApplicationError("no_workflow", type="NoRecord", non_retryable=True) from None
        raise
    if description.status == WorkflowExecutionStatus.RUNNING:
        raise ApplicationError("still_running", type="StillRunning")
    try:
        record: EventRecord = await handle.query("record", result_type=EventRecord)
    except WorkflowQueryFailedError:
        return EventRecord(
            event_id="", event_type=description.workflow_type, stage="", done=(), told=()
        )
    return record
