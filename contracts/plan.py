"""A plan: what the council will do about one life event, step by step.

The same plan is shown to ops (workflow query), the resident (portal) and the caseworker, so
it names services, purposes and data categories, never the resident's data itself.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from contracts.base import ContractModel

__all__ = ["Plan", "PlannedStep"]


class PlannedStep(ContractModel):
    name: str = Field(description="Unique within the plan, e.g. 'council-tax'.")
    service: str = Field(description="The council service that acts and receives the data.")
    activity: str = Field(description="The Temporal activity the service runs.")
    purpose: str = Field(description="Purpose code, as in the data-sharing policy.")
    categories: tuple[str, ...] = Field(description="Data categories the service receives.")
    confirm: bool = Field(description="Whether the resident must confirm before it acts.")
    notification: str = Field(description="Notification template sent when it is done.")
    description: str = Field(description="What the step does, for residents and caseworkers.")
    applies: bool
    reason: Literal["", "direction", "no_school_age_child"] = Field(
        default="", description="Why the step does not apply to this event, as a code."
    )


class Plan(ContractModel):
    event_type: str
    event_id: str
    catalogue_version: str
    steps: tuple[PlannedStep, ...]

    @property
    def active(self) -> tuple[PlannedStep, ...]:
        return tuple(step for step in self.steps if step.applies)
