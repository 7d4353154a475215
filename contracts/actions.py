"""What a workflow hands a council service for one step of a plan, and what comes back.

Every council service exposes its actions as Temporal activities on its own task queue,
taking a `ServiceAction` and returning an `ActionOutcome`. The service verifies the share
token against exactly `data` before it touches it, and keys its own change on
`workflow_id` + `step`, so a retried activity changes nothing twice.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from contracts.base import ContractModel

__all__ = ["ActionOutcome", "ServiceAction"]


class ServiceAction(ContractModel):
    workflow_id: str = Field(description="With `step`, the idempotency key of the action.")
    step: str
    event_id: str
    event_type: str
    residents: tuple[str, ...] = Field(
        description="Pseudonymous keys of the people the step concerns, in the order `data` "
        "lists them."
    )
    share_token: str = Field(description="From the consent gate, bound to exactly `data`.")
    data: dict[str, Any] = Field(
        description="The shared data by category (identity, address, household…): what the "
        "share token's data hash covers, nothing more."
    )


class ActionOutcome(ContractModel):
    outcome: Literal["done", "no_action"]
    code: str = Field(description="What was done, as a code, e.g. `account_closed_and_opened`.")
    references: dict[str, str] = Field(
        default_factory=dict,
        description="The service's own references and dates (account numbers, final bill "
        "date, council to contact) — never personal data.",
    )
