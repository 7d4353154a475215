"""``lifeevents.death.registered.v1``: a death entered in the register (Tell Us Once)."""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import ConfigDict, Field, StringConstraints, model_validator

from contracts.addresses import UkAddress
from contracts.base import ContractModel
from contracts.dates import DateOfBirth, PastDate
from contracts.errors import rule_error
from contracts.events.common import Payload, Registration, check_registered_after
from contracts.identifiers import NationalInsuranceNumber, NhsNumber
from contracts.people import ContactDetails, PersonName
from contracts.rules import Rule, stated

__all__ = [
    "DeathRegisteredV1",
    "Deceased",
    "HouseholdMember",
    "RelatedPerson",
    "TellUsOnceRecipient",
]


class Deceased(ContractModel):
    name: PersonName
    date_of_birth: DateOfBirth
    date_of_death: PastDate
    last_address: UkAddress = Field(description="Usual address at the date of death.")
    nhs_number: NhsNumber | None = None
    national_insurance_number: NationalInsuranceNumber | None = None


Relationship = Annotated[str, StringConstraints(min_length=1, max_length=60)]


class RelatedPerson(ContractModel):
    """Informant, next of kin or executor: someone the council may need to talk to."""

    name: PersonName
    relationship: Relationship = Field(
        description="Relationship to the deceased as given, e.g. 'daughter', 'solicitor'."
    )
    address: UkAddress | None = None
    contact: ContactDetails | None = None


class HouseholdMember(ContractModel):
    """Someone who lived at the deceased's address (their services may need reviewing)."""

    name: PersonName
    date_of_birth: DateOfBirth | None = None
    relationship: Relationship | None = None


# The organisations Tell Us Once can inform, by stable code. A new code is a new
# contract version: a consumer matching on these must know every value it can receive.
TellUsOnceRecipient = Literal[
    "dwp",
    "hmrc",
    "hm_passport_office",
    "dvla",
    "veterans_uk",
    "public_sector_pensions",
    "council_tax",
    "housing_benefit",
    "council_housing",
    "electoral_registration",
    "libraries",
    "blue_badge",
    "adult_social_care",
    "parking_permits",
]


NO_DUPLICATE_ORGANISATION = Rule(
    "duplicate_organisation",
    "organisations_to_tell must not repeat an organisation",
    {"properties": {"organisations_to_tell": {"uniqueItems": True}}},
)


class DeathRegisteredV1(Payload):
    """A death has been registered, with what the informant agreed to share."""

    event_type: ClassVar[str] = "lifeevents.death.registered.v1"
    model_config = ConfigDict(json_schema_extra=stated(NO_DUPLICATE_ORGANISATION))

    deceased: Deceased
    informant: RelatedPerson
    next_of_kin: tuple[RelatedPerson, ...] = Field(default=(), max_length=10)
    executors: tuple[RelatedPerson, ...] = Field(default=(), max_length=10)
    household_members: tuple[HouseholdMember, ...] | None = Field(
        default=None,
        max_length=20,
        description="People who lived with the deceased: null when not known, [] when "
        "the deceased lived alone.",
    )
    organisations_to_tell: tuple[TellUsOnceRecipient, ...] = Field(
        default=(),
        description="Organisations the informant agreed to tell (Tell Us Once); no others "
        "may be told from this event.",
    )
    registration: Registration

    @model_validator(mode="after")
    def _consistent(self) -> DeathRegisteredV1:
        if self.deceased.date_of_death < self.deceased.date_of_birth:
            raise rule_error(
                "death_before_birth",
                "deceased.date_of_death must not be before deceased.date_of_birth",
            )
        if len(set(self.organisations_to_tell)) != len(self.organisations_to_tell):
            raise NO_DUPLICATE_ORGANISATION.error()
        check_registered_after(
            self.registration, self.deceased.date_of_death, "deceased.date_of_death"
        )
        return self
