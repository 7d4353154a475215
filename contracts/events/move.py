"""``lifeevents.address.changed.v1``: a person or household has moved."""

from __future__ import annotations

from datetime import date, timedelta
from typing import ClassVar, Literal

from pydantic import ConfigDict, Field, model_validator

from contracts.addresses import NEW_ADDRESS_REQUIRED, OLD_ADDRESS_REQUIRED, UkAddress
from contracts.base import ContractModel
from contracts.dates import DateOfBirth, uk_today
from contracts.errors import rule_error
from contracts.events.common import Payload, Reference
from contracts.identifiers import NationalInsuranceNumber, NhsNumber
from contracts.keys import Direction
from contracts.people import ContactDetails, PersonName
from contracts.rules import stated

__all__ = ["MOVE_DATE_MAX_AGE", "MOVE_DATE_MAX_LEAD", "AddressChangedV1", "Mover", "Tenure"]

# Six years: the longest a council can reach back for council tax, so an older move date
# is a keying error rather than late news.
MOVE_DATE_MAX_AGE = timedelta(days=6 * 366)
# Housing and council tax systems record agreed future moves, but not years ahead.
MOVE_DATE_MAX_LEAD = timedelta(days=180)


class Mover(ContractModel):
    name: PersonName
    date_of_birth: DateOfBirth | None = None
    contact: ContactDetails | None = None
    nhs_number: NhsNumber | None = None
    national_insurance_number: NationalInsuranceNumber | None = None


Tenure = Literal[
    "owner_occupier",
    "private_rented",
    "social_rented",
    "shared_ownership",
    "temporary_accommodation",
    "other",
]


class AddressChangedV1(Payload):
    """People have moved address, together (one household) or alone."""

    event_type: ClassVar[str] = "lifeevents.address.changed.v1"
    model_config = ConfigDict(json_schema_extra=stated(OLD_ADDRESS_REQUIRED, NEW_ADDRESS_REQUIRED))

    movers: tuple[Mover, ...] = Field(min_length=1, max_length=20)
    old_address: UkAddress | None = Field(
        default=None, description="Required unless moving into the area from outside the UK."
    )
    new_address: UkAddress | None = Field(
        default=None, description="Required unless moving out of the area to an unknown address."
    )
    move_date: date = Field(
        description="Date of the move: at most 6 years ago and at most 180 days ahead."
    )
    direction: Direction = Field(
        description="Relative to the council area: into it, within it, or out of it."
    )
    tenure: Tenure | None = Field(default=None, description="Tenure at the new address.")
    source_reference: Reference = Field(description="The source system's own reference.")

    @model_validator(mode="after")
    def _consistent(self) -> AddressChangedV1:
        today = uk_today()
        if self.move_date < today - MOVE_DATE_MAX_AGE:
            raise rule_error("move_date_too_old", "move_date must be within the last 6 years")
        if self.move_date > today + MOVE_DATE_MAX_LEAD:
            raise rule_error("move_date_too_far_ahead", "move_date must be within 180 days")
        if self.direction != "into" and self.old_address is None:
            raise OLD_ADDRESS_REQUIRED.error()
        if self.direction != "out_of" and self.new_address is None:
            raise NEW_ADDRESS_REQUIRED.error()
        if self.old_address is not None and self.old_address == self.new_address:
            raise rule_error("same_address", "new_address must differ from old_address")
        for mover in self.movers:
            if mover.date_of_birth is not None and mover.date_of_birth > self.move_date:
                raise rule_error(
                    "mover_born_after_move", "movers[].date_of_birth must not be after move_date"
                )
        return self
