"""One workflow per life-event type, under the names `contracts.temporal` starts.

Births and deaths, for now, record their event and end; moves carry their plan through
(`workflows.move`). Each workflow moves to a module of its own once it has a body.
"""

from __future__ import annotations

from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from contracts import AddressChangedV1, BirthRegisteredV1, CloudEvent, DeathRegisteredV1
    from contracts.plan import PlanRequest
    from contracts.timeline import Outcome

from workflows.move import MoveWorkflow, facts
from workflows.recording import record_received

__all__ = [
    "WORKFLOWS",
    "BereavementWorkflow",
    "BirthWorkflow",
    "MoveWorkflow",
    "plan_request",
]


@workflow.defn
class BirthWorkflow:
    @workflow.run
    async def run(self, event: CloudEvent[BirthRegisteredV1]) -> Outcome:
        return record_received(event)


@workflow.defn
class BereavementWorkflow:
    @workflow.run
    async def run(self, event: CloudEvent[DeathRegisteredV1]) -> Outcome:
        return record_received(event)


WORKFLOWS = (BirthWorkflow, MoveWorkflow, BereavementWorkflow)


def plan_request(event: CloudEvent[Any]) -> PlanRequest:
    """What the planner is told about an event, as the event's workflow tells it."""
    stated = facts(event.data) if isinstance(event.data, AddressChangedV1) else {}
    return PlanRequest(event_type=event.type, event_id=event.id, facts=stated)
