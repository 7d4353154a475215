"""``lifeevents.birth.registered.v1``: a birth entered in the register."""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import ConfigDict, Field, StringConstraints, model_validator

from contracts.addresses import UkAddress
from contracts.base import ContractModel
from contracts.dates import DateOfBirth
from contracts.errors import rule_error
from contracts.events.common import Payload, Registration, check_registered_after
from contracts.identifiers import NationalInsuranceNumber, NhsNumber
from contracts.people import ContactDetails, PersonName, SexAsRegistered
from contracts.rules import Rule, present, stated

__all__ = ["BirthRegisteredV1", "Child", "Informant", "Parent", "PlaceOfBirth"]


class PlaceOfBirth(ContractModel):
    """Where the child was born, as registered (a hospital, or a home address)."""

    description: Annotated[str, StringConstraints(min_length=1, max_length=200)] = Field(
        description="Place of birth as written in the register, e.g. a hospital name."
    )
    address: UkAddress | None = None


class Child(ContractModel):
    name: PersonName
    date_of_birth: DateOfBirth
    sex: SexAsRegistered = Field(description="Sex as entered in the register.")
    place_of_birth: PlaceOfBirth
    nhs_number: NhsNumber | None = None


class Parent(ContractModel):
    role: Literal["mother", "father", "parent"] = Field(
        description="Parent as registered: 'parent' covers the second female parent."
    )
    name: PersonName
    date_of_birth: DateOfBirth | None = None
    address: UkAddress = Field(description="Usual address.")
    contact: ContactDetails | None = None
    national_insurance_number: NationalInsuranceNumber | None = None


InformantCapacity = Literal[
    "mother",
    "father",
    "parent",
    "occupier",
    "present_at_birth",
    "responsible_for_child",
    "other",
]


class Informant(ContractModel):
    """Who gave the information to the registrar, in the capacity the register records."""

    capacity: InformantCapacity
    name: PersonName
    address: UkAddress
    contact: ContactDetails | None = None


# Parents given means at least one: an empty list says no more than none.
PARENT_OR_INFORMANT_REQUIRED = Rule(
    "parent_or_informant_required",
    "needs parents or informant",
    {
        "anyOf": [
            {"required": ["parents"], "properties": {"parents": {"minItems": 1}}},
            present("informant"),
        ]
    },
)


class BirthRegisteredV1(Payload):
    """A birth has been registered."""

    event_type: ClassVar[str] = "lifeevents.birth.registered.v1"
    model_config = ConfigDict(json_schema_extra=stated(PARENT_OR_INFORMANT_REQUIRED))

    child: Child
    parents: tuple[Parent, ...] = Field(default=(), max_length=2)
    informant: Informant | None = None
    registration: Registration

    @model_validator(mode="after")
    def _consistent(self) -> BirthRegisteredV1:
        if not self.parents and self.informant is None:
            raise PARENT_OR_INFORMANT_REQUIRED.error()
        for parent in self.parents:
            if parent.date_of_birth is not None and (
                parent.date_of_birth >= self.child.date_of_birth
            ):
                raise rule_error(
                    "parent_born_after_child",
                    "parents[].date_of_birth must be before child.date_of_birth",
                )
        check_registered_after(self.registration, self.child.date_of_birth, "child.date_of_birth")
        return self
