"""One workflow per life-event type, under the names `contracts.temporal` starts: births
(`workflows.birth`), moves (`workflows.move`) and deaths (`workflows.bereavement`), each
through the life-event pipeline; and what the plan preview needs to know of each. Besides
them, every other workflow the worker runs: a source's withdrawal and correction of its
event (`workflows.amendment`), and a resident's request for a call, which the portal starts
(`workflows.callback`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date
from types import MappingProxyType
from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from contracts import AddressChangedV1, BirthRegisteredV1, CloudEvent, DeathRegisteredV1
    from contracts.events import EventCorrectedV1, EventWithdrawnV1
    from contracts.plan import Fact, PlanRequest

from workflows import bereavement, birth, move
from workflows.amendment import (
    AROUND_A_CORRECTION,
    AROUND_A_WITHDRAWAL,
    CorrectionWorkflow,
    WithdrawalWorkflow,
    WithdrawnEvent,
)
from workflows.bereavement import BereavementWorkflow
from workflows.birth import BirthWorkflow
from workflows.callback import CallbackWorkflow
from workflows.move import MoveWorkflow

__all__ = [
    "AROUND_THE_PLAN",
    "DUE_DATES",
    "FACTS",
    "WORKFLOWS",
    "BereavementWorkflow",
    "BirthWorkflow",
    "CallbackWorkflow",
    "MoveWorkflow",
    "plan_request",
]


WORKFLOWS = (
    BirthWorkflow,
    MoveWorkflow,
    BereavementWorkflow,
    WithdrawalWorkflow,
    CorrectionWorkflow,
    WithdrawnEvent,
    CallbackWorkflow,
)
"""Every workflow the worker runs (`workflows.worker`), and the replay tests replay."""


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
    {
        BirthRegisteredV1.event_type: birth.AROUND_THE_PLAN,
        DeathRegisteredV1.event_type: bereavement.AROUND_THE_PLAN,
        EventWithdrawnV1.event_type: AROUND_A_WITHDRAWAL,
        EventCorrectedV1.event_type: AROUND_A_CORRECTION,
    }
)


# The day each dated step (`at`) of a life event falls on, as its workflow schedules it.
DUE_DATES: Mapping[str, Callable[[Any], dict[str, date]]] = MappingProxyType(
    {BirthRegisteredV1.event_type: birth.due_dates}
)


def plan_request(event: CloudEvent[Any]) -> PlanRequest:
    """What the planner is told about an event, as the event's workflow tells it."""
    stated = FACTS[event.type](event.data) if event.type in FACTS else {}
    return PlanRequest(event_type=event.type, event_id=event.id, facts=stated)
