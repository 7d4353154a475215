"""The service catalogue (catalogue.toml) and the plan it gives for an event.

`plan_for` is a pure function of the catalogue and what a life-event workflow says about its
event (`PlanRequest`: type, id, facts); workflows call it through an activity so the plan is
recorded in their history, and a catalogue edit never changes the plan of a workflow already
running. A step's conditions (`when`) are data: each names a fact and what it must be.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from contracts.childhood import MilestoneCode
from contracts.plan import Fact, Plan, PlannedStep, PlanRequest
from contracts.shares import DataCategory
from contracts.temporal import ACTIVITY_QUEUE, Activity, TaskQueue

__all__ = [
    "CATALOGUE_PATH",
    "Catalogue",
    "LifeChange",
    "StepSpec",
    "load_catalogue",
    "plan_for",
    "unmet",
]

CATALOGUE_PATH = Path(__file__).with_name("catalogue.toml")

LifeChange = Literal["moved_out_of_area"]
"""What besides a date a step may wait for (`at`): a change in the life it follows."""

Condition = list[str] | bool
"""A code fact must be one of the listed codes; a yes/no fact must have this value."""


class StepSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    event_type: str
    name: str
    service: TaskQueue
    recipient: str | None = None
    activity: Activity
    purpose: str
    categories: tuple[DataCategory, ...]
    confirm: bool
    notification: str
    notify: bool = True
    description: str
    when: dict[str, Condition] = Field(default_factory=dict)
    skipped_because: str | None = Field(
        default=None, description="The reason code shown when a `when` condition is not met."
    )
    check: Activity | None = None
    at: MilestoneCode | LifeChange | None = None

    @model_validator(mode="after")
    def _served_by_its_service(self) -> StepSpec:
        for activity in (self.activity, self.check):
            if activity is not None and ACTIVITY_QUEUE[activity] is not self.service:
                raise ValueError(f"{activity} is not served by {self.service}")
        return self


class Catalogue(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    version: str
    steps: tuple[StepSpec, ...] = Field(alias="step")

    def for_type(self, event_type: str) -> tuple[StepSpec, ...]:
        return tuple(s for s in self.steps if s.event_type == event_type)


@cache
def load_catalogue(path: Path = CATALOGUE_PATH) -> Catalogue:
    return Catalogue.model_validate(tomllib.loads(path.read_text(encoding="utf-8")))


def plan_for(request: PlanRequest, catalogue: Catalogue | None = None) -> Plan:
    catalogue = catalogue or load_catalogue()
    steps = []
    for spec in catalogue.for_type(request.event_type):
        reason = unmet(spec.when, request.facts)
        if reason and spec.skipped_because:
            reason = spec.skipped_because
        steps.append(
            PlannedStep(
                **spec.model_dump(exclude={"event_type", "when", "skipped_because"}),
                applies=not reason,
                reason=reason,
            )
        )
    return Plan(
        event_type=request.event_type,
        event_id=request.event_id,
        catalogue_version=catalogue.version,
        steps=tuple(steps),
    )


def unmet(conditions: Mapping[str, Condition], facts: Mapping[str, Fact]) -> str:
    """The first condition the facts do not meet, as a reason code; "" when all are met. A
    fact the workflow does not state meets no condition."""
    for fact, condition in conditions.items():
        value = facts.get(fact)
        if isinstance(condition, bool):
            if value is not condition:
                return f"no_{fact}" if condition else fact
        elif not isinstance(value, str) or value not in condition:
            return fact
    return ""
