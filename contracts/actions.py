"""What a workflow hands a council service for one step of a plan, and what comes back.

Every council service exposes its actions as Temporal activities on its own task queue,
taking a `ServiceAction` and returning an `ActionOutcome`. Data about a person is decided
about that person: the action carries one `ResidentShare` per resident, each with that
resident's data and the share token the consent gate issued for exactly that data. The
service verifies every token against its resident and data before it touches any of it, and
keys its change on `workflow_id` + `step`, so a retried activity changes nothing twice.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from contracts.base import ContractModel
from contracts.errors import rule_error
from contracts.keys import ResidentKey, StepName, WorkflowId

__all__ = ["ActionOutcome", "ResidentShare", "ServiceAction", "UndoRequest"]


class ResidentShare(ContractModel):
    """One resident's data for one step, and the token that lets the service have it."""

    resident: ResidentKey
    share_token: str = Field(
        min_length=1,
        max_length=4096,
        description="From the consent gate: bound to this resident, this recipient and "
        "purpose, and the SHA-256 of exactly `data`.",
    )
    data: dict[str, Any] = Field(
        description="This resident's data by category (identity, address, household…): what "
        "the share token's data hash covers, nothing more."
    )


class ServiceAction(ContractModel):
    """One step of a plan for a council service: the life event it is about, and one share
    per resident whose data the step hands over."""

    workflow_id: WorkflowId = Field(description="With `step`, the action's idempotency key.")
    step: StepName
    event_id: str = Field(min_length=1, max_length=256)
    event_type: str = Field(min_length=1, max_length=256)
    shares: tuple[ResidentShare, ...] = Field(
        min_length=1,
        max_length=20,
        description="One per resident whose data the step shares; residents the gate refused "
        "are not here.",
        # Each resident once is unique by a property, which JSON Schema cannot say; what it
        # can (no two shares alike) it says.
        json_schema_extra={"uniqueItems": True},
    )

    @model_validator(mode="after")
    def _one_share_each(self) -> ServiceAction:
        if len({share.resident for share in self.shares}) != len(self.shares):
            raise rule_error("resident_repeated", "each resident is shared once")
        return self

    @property
    def residents(self) -> tuple[str, ...]:
        return tuple(share.resident for share in self.shares)


class ActionOutcome(ContractModel):
    """What the service did, as a code, and its own references for the notification."""

    outcome: Literal["done", "no_action"]
    code: str = Field(description="What was done, as a code, e.g. `account_closed_and_opened`.")
    references: dict[str, str] = Field(
        default_factory=dict,
        description="The service's own references and dates (account numbers, final bill "
        "date, council to contact) — never personal data.",
    )


class UndoRequest(ContractModel):
    """Undo what a life event's workflow recorded with a platform service (the resident
    index, the gate's and the notification service's record of a death): its source
    withdrew or corrected the event. Idempotent: undone once, whoever asks again."""

    workflow_id: WorkflowId = Field(description="The life event's workflow, whose records go.")
    undone_by: WorkflowId = Field(description="The workflow of the withdrawal or correction.")
