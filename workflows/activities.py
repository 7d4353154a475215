"""Activities the workflow worker runs itself, on the workflow task queue."""

from __future__ import annotations

from typing import Any

from temporalio import activity

from contracts import from_structured
from contracts.plan import Plan
from workflows.catalogue import plan_for

__all__ = ["PLAN_EVENT", "plan_event"]

PLAN_EVENT = "plan_event"


@activity.defn(name=PLAN_EVENT)
async def plan_event(event: dict[str, Any]) -> Plan:
    """The plan for an event (structured-mode JSON), from the catalogue as it is now. An
    activity, so the plan is recorded in the workflow's history and a later catalogue edit
    cannot change it."""
    return plan_for(from_structured(event))
