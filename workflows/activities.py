"""Activities the workflow worker runs itself, on the workflow task queue."""

from __future__ import annotations

from temporalio import activity

from contracts.plan import Plan, PlanRequest
from contracts.temporal import Activity
from workflows.catalogue import plan_for

__all__ = ["plan_event"]


@activity.defn(name=Activity.PLAN_EVENT)
async def plan_event(request: PlanRequest) -> Plan:
    """The plan for an event, from the catalogue as it is now. An activity, so the plan is
    recorded in the workflow's history and a later catalogue edit cannot change it."""
    return plan_for(request)
