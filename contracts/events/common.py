"""What every life-event payload shares: the base class and the register entry."""

from __future__ import annotations

from datetime import date
from typing import Annotated, ClassVar

from pydantic import Field, StringConstraints

from contracts.base import ContractModel
from contracts.dates import PastDate
from contracts.errors import rule_error

__all__ = [
    "EventId",
    "EventReference",
    "Payload",
    "Reference",
    "Registration",
    "Source",
    "check_registered_after",
]


_PRINTABLE = r"^[\x21-\x7e]+$"

EventId = Annotated[
    str,
    StringConstraints(min_length=1, max_length=128, pattern=_PRINTABLE),
    Field(description="Unique per source; producers use a UUID. Reused on re-send."),
]
Source = Annotated[
    str,
    StringConstraints(min_length=1, max_length=256, pattern=_PRINTABLE),
    Field(description="URI-reference of the producing system, e.g. /register-office/gro."),
]


class EventReference(ContractModel):
    """Which event: the CloudEvent's `source` and `id`, which name it whoever delivers it."""

    source: Source
    id: EventId


class Payload(ContractModel):
    """The ``data`` of a life event. Each subclass is one versioned event type."""

    event_type: ClassVar[str]


# References are the source system's, opaque to us; printable ASCII keeps them safe to
# quote in logs and headers without escaping.
Reference = Annotated[
    str,
    StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9/._:-]*$"),
]


class Registration(ContractModel):
    """The register entry an event comes from."""

    district: Annotated[str, StringConstraints(min_length=1, max_length=100)] = Field(
        description="Registration district (or sub-district) name."
    )
    registered_on: PastDate = Field(description="Date the entry was registered.")
    entry_reference: Reference = Field(
        description="Reference of the register entry (e.g. GRO entry number), opaque."
    )


def check_registered_after(registration: Registration, event_date: date, field: str) -> None:
    """A register entry cannot predate the event it records."""
    if registration.registered_on < event_date:
        raise rule_error(
            "registered_before_event", f"registration.registered_on must not be before {field}"
        )
