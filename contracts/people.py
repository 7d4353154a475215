"""People as life events name them: any script, any shape, never re-cased by us."""

from __future__ import annotations

import unicodedata
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BeforeValidator, Field, model_validator

from contracts.base import ContractModel
from contracts.errors import rule_error
from contracts.identifiers import EmailAddress, PhoneNumber

__all__ = ["ContactDetails", "NamePart", "PersonName", "SexAsRegistered"]


def _nfc(value: Any) -> Any:
    # One normal form, so that the same name typed on two systems compares equal.
    return unicodedata.normalize("NFC", value) if isinstance(value, str) else value


def _check_name_part(value: str) -> str:
    # Control and separator characters are never part of a name; format characters such
    # as ZERO WIDTH NON-JOINER are, in Persian and Indic scripts, so they stay allowed.
    if any(unicodedata.category(ch) in {"Cc", "Cs", "Co", "Cn", "Zl", "Zp"} for ch in value):
        raise rule_error("name_characters", "must not contain control characters")
    return value


NamePart = Annotated[
    str,
    BeforeValidator(_nfc),
    AfterValidator(_check_name_part),
    Field(min_length=1, max_length=200, description="Unicode (NFC), as written; no re-casing."),
]


class PersonName(ContractModel):
    """A name as registered. Not everyone has both parts, so only one is required."""

    given_names: NamePart | None = Field(
        default=None, description="All given names/forenames, in their written order."
    )
    family_name: NamePart | None = Field(default=None, description="Surname/family name.")

    @model_validator(mode="after")
    def _at_least_one_part(self) -> PersonName:
        if self.given_names is None and self.family_name is None:
            raise rule_error("name_required", "needs given_names or family_name")
        return self


SexAsRegistered = Literal["male", "female", "indeterminate"]


class ContactDetails(ContractModel):
    """How a person asked to be contacted; at least one way."""

    email: EmailAddress | None = None
    phone: PhoneNumber | None = None

    @model_validator(mode="after")
    def _at_least_one(self) -> ContactDetails:
        if self.email is None and self.phone is None:
            raise rule_error("contact_required", "needs email or phone")
        return self
