"""A plan: what the council will do about one life event, step by step.

The same plan is shown to ops (workflow query), the resident (portal) and the caseworker, so
it names services, purposes and data categories, never the resident's data itself.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StringConstraints

from contracts.base import ContractModel
from contracts.keys import ReasonCode
from contracts.shares import DataCategory
from contracts.temporal import TaskQueue

__all__ = ["ActivityName", "Fact", "Plan", "PlanRequest", "PlannedStep"]

Fact = str | bool
"""A fact about an event that the catalogue's conditions test: a code or a yes/no."""


ActivityName = Annotated[
    str,
    StringConstraints(pattern=r"^[a-z][a-z_]*(\.[a-z][a-z_]*)?$", max_length=100),
    Field(
        description="A Temporal activity, `<service>.<action>` (`contracts.temporal.Activity`). "
        "A name rather than a list, so that a service's new activity is no new plan version."
    ),
]


class PlanRequest(ContractModel):
    """What the planner is told about an event: its type and id, and the facts the
    life-event workflow drew from it (`direction`, `school_age_child`…), no personal data."""

    event_type: str
    event_id: str
    facts: dict[str, Fact] = Field(default_factory=dict)


class PlannedStep(ContractModel):
    name: str = Field(description="Unique within the plan, e.g. 'council-tax'.")
    service: TaskQueue = Field(description="The council service that acts and receives the data.")
    recipient: str | None = Field(
        default=None,
        description="Who the data is for, as the data-sharing policy names them, when that is "
        "not the service itself (an organisation outside the council that the service tells).",
    )
    activity: ActivityName
    purpose: str = Field(description="Purpose code, as in the data-sharing policy.")
    categories: tuple[DataCategory, ...] = Field(
        description="Data categories the service receives."
    )
    confirm: bool = Field(description="Whether the resident must confirm before it acts.")
    notification: str = Field(description="Notification template sent when it is done.")
    notify: bool = Field(
        default=True,
        description="Whether the residents in the step are told when it is done; false where "
        "one summary to someone else tells it (a death's informant).",
    )
    description: str = Field(description="What the step does, for residents and caseworkers.")
    check: ActivityName | None = Field(
        default=None,
        description="A read-only question the service answers first, through the gate, with "
        "the same data: the step goes on (and the resident is asked) only when the answer is "
        "`done`; otherwise it is skipped with the answer's code as the reason.",
    )
    at: ReasonCode | None = Field(
        default=None,
        description="When the step is done, when not at once: a date in the life it follows "
        "(`reception_window_opens`…) or a change in it (`moved_out_of_area`).",
    )
    applies: bool
    reason: str = Field(
        default="",
        max_length=64,
        description="Why the step does not apply to this event, as a code: the catalogue's "
        "own reason for the step (`not_chosen_by_informant`), else the fact that ruled it out "
        "(`direction`), or `no_<fact>` for a yes/no that was no.",
    )

    @property
    def shared_with(self) -> str:
        """The recipient the consent gate decides about."""
        return self.recipient or self.service


class Plan(ContractModel):
    """Every step of the service catalogue (at `catalogue_version`) for one life event,
    whether it applies to this event or not."""

    event_type: str
    event_id: str
    catalogue_version: str
    steps: tuple[PlannedStep, ...]

    @property
    def active(self) -> tuple[PlannedStep, ...]:
        return tuple(step for step in self.steps if step.applies)
