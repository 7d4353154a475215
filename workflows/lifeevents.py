"""One workflow per life-event type, under the names `contracts.temporal` starts.

Births, for now, record their event and end; moves (`workflows.move`) and deaths
(`workflows.bereavement`) go through the life-event pipeline. Each workflow moves to a
module of its own once it has a body.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from contracts import AddressChangedV1, BirthRegisteredV1, CloudEvent, DeathRegisteredV1
    from contracts.plan import Fact, PlanRequest
    from contracts.timeline import Outcome

from workflows import bereavement, move
from workflows.bereavement import BereavementWorkflow
from workflows.move import MoveWorkflow
from workflows.recording import record_received

__all__ = [
    "AROUND_THE_PLAN",
    "FACTS",
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


WORKFLOWS = (BirthWorkflow, MoveWorkflow, BereavementWorkflow)


# What each life event states for its plan's conditions, as its workflow does (a death's
# workflow asks the index who remains; the preview takes the household the event lists).
FACTS: Mapping[str, Callable[[Any], dict[str, Fact]]] = MappingProxyType(
    {
        AddressChangedV1.event_type: move.facts,
        DeathRegisteredV1.event_type: bereavement.stated_facts,
    }
)


# What a life event's workflow does besides its plan's steps (before, after), in words.
AROUND_THE_PLAN: Mapping[str, tuple[tuple[str, ...], tuple[str, ...]]] = MappingProxyType(
    {DeathRegisteredV1.event_type: bereavement.AROUND_THE_PLAN}
)


def plan_request(event: CloudEvent[Any]) -> PlanRequest:
    """What the planner is told about an event, as the event's workflow tells it."""
    stated = FACTS[event.type](event.data) if event.type in FACTS else {}
    return PlanRequest(event_type=event.type, event_id=event.id, facts=stated)
