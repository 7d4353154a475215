"""UK postal addresses, with a validated postcode and an optional UPRN, and the addresses a
move needs by its direction."""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field, StringConstraints, WithJsonSchema

from contracts.base import ContractModel
from contracts.errors import rule_error
from contracts.rules import Rule, present, unless

__all__ = [
    "NEW_ADDRESS_REQUIRED",
    "OLD_ADDRESS_REQUIRED",
    "AddressLine",
    "UkAddress",
    "UkPostcode",
    "Uprn",
    "normalise_postcode",
]

# The format rules of the UK postcode (outward code: area, district; inward code: sector,
# unit), as published for GOV.UK forms, plus the one historic exception GIR 0AA.
_POSTCODE_PATTERN = (
    r"^(GIR 0AA|[A-PR-UWYZ]([0-9]{1,2}|[A-HK-Y][0-9]{1,2}|[0-9][A-HJKPSTUW]"
    r"|[A-HK-Y][0-9][ABEHMNPRV-Y]) [0-9][ABD-HJLNP-UW-Z]{2})$"
)


def normalise_postcode(value: str) -> str:
    """Upper case, one space before the three-character inward code."""
    compact = re.sub(r"\s+", "", value).upper()
    return f"{compact[:-3]} {compact[-3:]}" if len(compact) > 3 else compact


def _prepare_postcode(value: Any) -> Any:
    return normalise_postcode(value) if isinstance(value, str) else value


def _check_postcode(value: str) -> str:
    if not re.fullmatch(_POSTCODE_PATTERN, value):
        raise rule_error("postcode", "must be a valid UK postcode")
    return value


UkPostcode = Annotated[
    str,
    BeforeValidator(_prepare_postcode),
    AfterValidator(_check_postcode),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": _POSTCODE_PATTERN,
            "description": "UK postcode in upper case with one space, e.g. SW1A 2AA. The "
            "models also accept lower case and missing/extra spaces and normalise them.",
        }
    ),
]

Uprn = Annotated[
    str,
    StringConstraints(pattern=r"^[1-9][0-9]{0,11}$"),
    Field(
        description="Unique Property Reference Number (OS AddressBase), up to 12 digits, "
        "as a string so that no language loses precision."
    ),
]

# Lines are kept as written: addresses are not ours to reformat.
AddressLine = Annotated[str, StringConstraints(min_length=1, max_length=100)]


class UkAddress(ContractModel):
    """A UK postal address as the source system holds it."""

    lines: tuple[AddressLine, ...] = Field(
        min_length=1,
        max_length=5,
        description="Address lines before the town: building, street, locality.",
    )
    town: Annotated[str, StringConstraints(min_length=1, max_length=100)] = Field(
        description="Post town."
    )
    postcode: UkPostcode
    uprn: Uprn | None = None


# A move (`contracts.keys.Direction`) into the council area may come from an address we do
# not know, and one out of it may go to one: every model of a move states the same two rules.
OLD_ADDRESS_REQUIRED = Rule(
    "old_address_required",
    "old_address is required unless 'into'",
    unless("direction", "into", present("old_address")),
)
NEW_ADDRESS_REQUIRED = Rule(
    "new_address_required",
    "new_address is required unless 'out_of'",
    unless("direction", "out_of", present("new_address")),
)
