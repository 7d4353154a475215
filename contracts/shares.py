"""Data categories, and the shapes each category has when a service receives it.

A workflow hands a council service one `ResidentShare` per resident whose data a step
shares (`contracts.actions`): that resident's data by category, and the share token the
consent gate issued for exactly that data. The token's data hash is `data_hash` of the
resident's `data`: one canonical JSON, so the workflow and the receiver hash alike.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from contracts.addresses import NEW_ADDRESS_REQUIRED, OLD_ADDRESS_REQUIRED, UkAddress
from contracts.base import ContractModel
from contracts.errors import rule_error
from contracts.identifiers import NationalInsuranceNumber
from contracts.keys import Direction
from contracts.people import ContactDetails, PersonName
from contracts.rules import stated

__all__ = [
    "ADULT_AGE",
    "SPECIAL_CATEGORIES",
    "CategoryList",
    "DataCategory",
    "HomeAddress",
    "HouseholdPlace",
    "MoveAddress",
    "PersonBirth",
    "PersonContact",
    "PersonDeath",
    "PersonIdentity",
    "age_on",
    "canonical_json",
    "data_hash",
]

ADULT_AGE = 18


def age_on(born: date, on: date) -> int:
    """Completed years on a day."""
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


# --- the categories -------------------------------------------------------------------------


class DataCategory(StrEnum):
    """Categories of personal data, never the data. The special categories (UK GDPR Art. 9)
    are health, disability, ethnicity and religion."""

    IDENTITY = "identity"
    CONTACT = "contact"
    ADDRESS = "address"
    HOUSEHOLD = "household"
    BIRTH = "birth"
    DEATH = "death"
    FINANCIAL = "financial"
    BENEFITS = "benefits"
    EDUCATION = "education"
    HEALTH = "health"
    DISABILITY = "disability"
    ETHNICITY = "ethnicity"
    RELIGION = "religion"

    @property
    def special(self) -> bool:
        return self in SPECIAL_CATEGORIES


SPECIAL_CATEGORIES: frozenset[DataCategory] = frozenset(
    {DataCategory.HEALTH, DataCategory.DISABILITY, DataCategory.ETHNICITY, DataCategory.RELIGION}
)


def _sorted_unique(categories: list[DataCategory]) -> list[DataCategory]:
    if len(set(categories)) != len(categories):
        raise rule_error("category_repeated", "data categories must not repeat")
    return sorted(categories)


# Any order is taken (and sorted); a repeat is refused, which the schema says as uniqueItems.
CategoryList = Annotated[
    list[DataCategory],
    Field(min_length=1, max_length=32, json_schema_extra={"uniqueItems": True}),
    AfterValidator(_sorted_unique),
]


# --- the hash a share token is bound to -------------------------------------------------------


def canonical_json(data: Any) -> bytes:
    """One byte string for one value: sorted keys, no spaces, UTF-8, no NaN.

    Pydantic models are dumped in JSON mode first, so a model and its JSON dict hash alike.
    """
    if isinstance(data, BaseModel):
        data = data.model_dump(mode="json", by_alias=True)
    return json.dumps(
        data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode()


def data_hash(data: Any) -> str:
    """The `sha256:<hex>` a share token is bound to; raw bytes are hashed as they are."""
    raw = data if isinstance(data, bytes) else canonical_json(data)
    return "sha256:" + hashlib.sha256(raw).hexdigest()


# --- one resident's data, by category ---------------------------------------------------------


class PersonIdentity(ContractModel):
    """`identity`: who the resident is."""

    name: PersonName
    date_of_birth: date | None = Field(
        default=None, description="As the event gives it; null when not known."
    )


class PersonBirth(ContractModel):
    """`birth`: when the resident was born, when known."""

    date_of_birth: date | None = None


class MoveAddress(ContractModel):
    """`address` for a change of address: where from, where to, when, and which way."""

    model_config = ConfigDict(json_schema_extra=stated(OLD_ADDRESS_REQUIRED, NEW_ADDRESS_REQUIRED))

    direction: Direction
    move_date: date
    old_address: UkAddress | None = None
    new_address: UkAddress | None = None

    @model_validator(mode="after")
    def _consistent(self) -> MoveAddress:
        if self.direction != "into" and self.old_address is None:
            raise OLD_ADDRESS_REQUIRED.error()
        if self.direction != "out_of" and self.new_address is None:
            raise NEW_ADDRESS_REQUIRED.error()
        return self


class HomeAddress(ContractModel):
    """`address` outside a move: where the resident lives now (a new-born child, at their
    parents' address; after a move within the area, the new one)."""

    address: UkAddress


class HouseholdPlace(ContractModel):
    """`household`: the resident's place in the household they are part of after the event:
    their `age` on the day, or only whether they are an adult (18+), and how many adults
    already live there who are not part of the event. With neither age nor adult, the
    resident counts as an adult (no discount is given on a guess)."""

    age: int | None = Field(default=None, ge=0, le=130)
    adult: bool | None = None
    other_adults: int = Field(
        default=0,
        ge=0,
        le=10_000,
        description="Adults already living there (a hall of residence may house thousands); 0 "
        "when none or unknown.",
    )

    @property
    def is_adult(self) -> bool:
        if self.age is not None:
            return self.age >= ADULT_AGE
        return self.adult is not False


class PersonDeath(ContractModel):
    """`death`: a resident's death as registered. Shared only about the deceased: a service
    finds the deceased among an action's residents by this key."""

    date_of_death: date
    last_address: UkAddress = Field(description="Their usual address at the date of death.")
    national_insurance_number: NationalInsuranceNumber | None = Field(
        default=None,
        description="Only where the recipient needs it to find its own record (DWP, HMRC).",
    )


class PersonContact(ContractModel):
    """`contact`: how to reach someone acting for another resident (the executor of an
    estate, or the informant of a death when no executor is named)."""

    role: Literal["executor", "informant"]
    relationship: str = Field(min_length=1, max_length=60)
    address: UkAddress | None = None
    contact: ContactDetails | None = None
