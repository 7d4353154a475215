"""Activities the workflow worker runs itself, on the workflow task queue."""

from __future__ import annotations

from temporalio import activity
from temporalio.client import WorkflowExecutionStatus, WorkflowQueryFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from contracts.plan import Plan, PlanRequest
from contracts.temporal import Activity
from contracts.timeline import Amended, EventRecord, Outcome
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
        return await _did_nothing(workflow_id, description.workflow_type)
    return record


async def _did_nothing(workflow_id: str, workflow_type: str) -> EventRecord:
    """The record of a workflow that keeps none: one that holds the ID of an event withdrawn
    before it arrived says so (its outcome names the withdrawal)."""
    handle = activity.client().get_workflow_handle(workflow_id, result_type=Outcome)
    try:
        outcome = await handle.result()
    except Exception:  # not a life event's workflow: it did nothing of ours
        outcome = None
    withdrawn = None
    if isinstance(outcome, Outcome) and outcome.stage == "withdrawn" and outcome.merged_into:
        withdrawn = Amended(kind="withdrawn", by=outcome.merged_into, workflow_id="")
    return EventRecord(
        event_id="", event_type=workflow_type, stage="", done=(), told=(), amended=withdrawn
    )
