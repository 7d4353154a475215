"""What crosses the notification service's boundary.

A `Notification` is one message to one resident about one workflow step. Its contact part
has the fields of the resident index's `ContactPlan` (resident, deceased, channels, email,
phone, address), so a workflow builds it as

    Notification(**plan.model_dump(), template=step.notification,
                 references=outcome.references, workflow_id=..., step=step.name)
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import Field, StringConstraints

from contracts.addresses import UkAddress
from contracts.base import ContractModel
from contracts.keys import ResidentKey, StepName, WorkflowId
from contracts.residents import Channel

__all__ = ["InboxMessage", "Notification", "TemplateCode"]

TemplateCode = Annotated[
    str,
    StringConstraints(pattern=r"^[a-z][a-z0-9-]*(\.[a-z0-9-]+)+$"),
    Field(description="A notification code of the service catalogue, e.g. `move.council-tax`."),
]


class Notification(ContractModel):
    """One message to one resident about one workflow step, and how to reach them."""

    resident: ResidentKey
    template: TemplateCode
    references: dict[str, str] = Field(
        default_factory=dict,
        description="The service's `ActionOutcome.references`: codes, references and dates, "
        "never personal data; they fill the template.",
    )
    workflow_id: WorkflowId
    step: StepName
    deceased: bool = Field(
        default=False, description="True: nothing is sent or recorded for this resident."
    )
    channels: tuple[Channel, ...] = Field(
        default=(), description="Deliverable channels in the resident's order of preference."
    )
    email: str | None = Field(default=None, max_length=320)
    phone: str | None = Field(default=None, max_length=32)
    address: UkAddress | None = None


class InboxMessage(ContractModel):
    """A message in a resident's portal inbox."""

    reference: str
    template: str
    subject: str
    body: str
    workflow_id: str
    step: str
    created_at: datetime
