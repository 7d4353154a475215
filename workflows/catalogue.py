"""The service catalogue (catalogue.toml) and the plan it gives for an event.

`plan_for` is a pure function of the catalogue and the event; workflows call it through an
activity so the plan is recorded in their history, and a catalogue edit never changes the
plan of a workflow already running.
"""

from __future__ import annotations

import tomllib
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from contracts import AddressChangedV1, CloudEvent
from contracts.plan import Plan, PlannedStep

__all__ = ["CATALOGUE_PATH", "Catalogue", "StepSpec", "load_catalogue", "plan_for"]

CATALOGUE_PATH = Path(__file__).with_name("catalogue.toml")
SCHOOL_AGE = range(4, 16)  # reception (rising fives) to year 11


class StepSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    event_type: str
    name: str
    service: str
    activity: str
    purpose: str
    categories: tuple[str, ...]
    confirm: bool
    notification: str
    description: str
    directions: tuple[Literal["into", "within", "out_of"], ...] | None = None
    requires: Literal["school_age_child"] | None = None


class Catalogue(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    version: str
    steps: tuple[StepSpec, ...] = Field(alias="step")

    def for_type(self, event_type: str) -> tuple[StepSpec, ...]:
        return tuple(s for s in self.steps if s.event_type == event_type)


@cache
def load_catalogue(path: Path = CATALOGUE_PATH) -> Catalogue:
    return Catalogue.model_validate(tomllib.loads(path.read_text(encoding="utf-8")))


def plan_for(event: CloudEvent[Any], catalogue: Catalogue | None = None) -> Plan:
    catalogue = catalogue or load_catalogue()
    steps = []
    for spec in catalogue.for_type(event.type):
        reason = _not_applying(spec, event)
        steps.append(
            PlannedStep(
                **spec.model_dump(exclude={"event_type", "directions", "requires"}),
                applies=not reason,
                reason=reason,
            )
        )
    return Plan(
        event_type=event.type,
        event_id=event.id,
        catalogue_version=catalogue.version,
        steps=tuple(steps),
    )


def _not_applying(
    spec: StepSpec, event: CloudEvent[Any]
) -> Literal["", "direction", "no_school_age_child"]:
    data = event.data
    if spec.directions is not None and (
        not isinstance(data, AddressChangedV1) or data.direction not in spec.directions
    ):
        return "direction"
    if spec.requires == "school_age_child" and not (
        isinstance(data, AddressChangedV1)
        and any(
            m.date_of_birth is not None and _age(m.date_of_birth, data.move_date) in SCHOOL_AGE
            for m in data.movers
        )
    ):
        return "no_school_age_child"
    return ""


def _age(born: date, on: date) -> int:
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))
