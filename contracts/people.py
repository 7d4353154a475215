"""People as life events name them: any script, any shape, never re-cased by us."""

from __future__ import annotations

import unicodedata
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BeforeValidator, ConfigDict, Field, model_validator

from contracts.base import WHITE_SPACE, ContractModel
from contracts.errors import rule_error
from contracts.identifiers import EmailAddress, PhoneNumber
from contracts.rules import Rule, any_present, stated

__all__ = [
    "CONTACT_REQUIRED",
    "NAME_REQUIRED",
    "ContactDetails",
    "NamePart",
    "PersonName",
    "SexAsRegistered",
]


def _nfc(value: Any) -> Any:
    # One normal form, so that the same name typed on two systems compares equal.
    return unicodedata.normalize("NFC", value) if isinstance(value, str) else value


def _check_name_part(value: str) -> str:
    # Control and separator characters are never part of a name; format characters such
    # as ZERO WIDTH NON-JOINER are, in Persian and Indic scripts, so they stay allowed.
    if any(unicodedata.category(ch) in {"Cc", "Cs", "Co", "Cn", "Zl", "Zp"} for ch in value):
        raise rule_error("name_characters", "must not contain control characters")
    return value


# What of that rule a pattern says alike in every regex dialect: C0 and C1 controls, the
# line and paragraph separators, and the private use area of the basic plane. Unassigned
# code points (which depend on the Unicode version) and private use beyond the basic plane
# (which needs dialect-specific escapes) are checked by the model only. The pattern also
# says that a part is not white space only (the model strips it, then needs a character).
# It is a little stricter than the model in one way: a tab or line break at either end,
# which the model strips, is still a control character to the schema (canonical form).
# Leading spaces and the first other character are disjoint classes: no backtracking blowup.
_CONTROLS = r"\x00-\x1f\x7f-\x9f\u2028\u2029\ue000-\uf8ff"
_SPACES = r"\x20\xa0\u1680\u2000-\u200a\u202f\u205f\u3000"  # White_Space, not controls
_NAME_PART_PATTERN = rf"^[{_SPACES}]*[^{_CONTROLS}{WHITE_SPACE}][^{_CONTROLS}]*$"

NamePart = Annotated[
    str,
    BeforeValidator(_nfc),
    AfterValidator(_check_name_part),
    Field(
        min_length=1,
        max_length=200,
        description="Unicode (NFC), as written; no re-casing.",
        json_schema_extra={"pattern": _NAME_PART_PATTERN},
    ),
]

NAME_REQUIRED = Rule(
    "name_required", "needs given_names or family_name", any_present("given_names", "family_name")
)
CONTACT_REQUIRED = Rule("contact_required", "needs email or phone", any_present("email", "phone"))


class PersonName(ContractModel):
    """A name as registered. Not everyone has both parts, so only one is required."""

    model_config = ConfigDict(json_schema_extra=stated(NAME_REQUIRED))

    given_names: NamePart | None = Field(
        default=None, description="All given names/forenames, in their written order."
    )
    family_name: NamePart | None = Field(default=None, description="Surname/family name.")

    @model_validator(mode="after")
    def _at_least_one_part(self) -> PersonName:
        if self.given_names is None and self.family_name is None:
            raise NAME_REQUIRED.error()
        return self


SexAsRegistered = Literal["male", "female", "indeterminate"]


class ContactDetails(ContractModel):
    """How a person asked to be contacted; at least one way."""

    model_config = ConfigDict(json_schema_extra=stated(CONTACT_REQUIRED))

    email: EmailAddress | None = None
    phone: PhoneNumber | None = None

    @model_validator(mode="after")
    def _at_least_one(self) -> ContactDetails:
        if self.email is None and self.phone is None:
            raise CONTACT_REQUIRED.error()
        return self
