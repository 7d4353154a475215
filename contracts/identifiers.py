"""Identifiers and contact details, each checked by the rule that really defines it.

Values are normalised to one canonical form (no spaces, upper case, E.164) so that equal
identifiers compare equal and a model round-trips unchanged. The JSON Schema shows the
canonical form; the models also accept the common written forms and normalise them.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

import phonenumbers
from email_validator import EmailNotValidError, validate_email
from pydantic import AfterValidator, BeforeValidator, WithJsonSchema

from contracts.errors import rule_error

__all__ = [
    "EmailAddress",
    "NationalInsuranceNumber",
    "NhsNumber",
    "PhoneNumber",
    "is_valid_nhs_number",
    "is_valid_ni_number",
]


def _compact_upper(value: Any) -> Any:
    if isinstance(value, str):
        return re.sub(r"[\s-]", "", value).upper()
    return value


# --- NHS number -------------------------------------------------------------------------

_NHS_PATTERN = r"^[0-9]{10}$"


def is_valid_nhs_number(value: str) -> bool:
    """Modulus 11: weights 10..2 on the first nine digits; the tenth is the check digit."""
    if not re.fullmatch(_NHS_PATTERN, value):
        return False
    total = sum(
        int(digit) * weight for digit, weight in zip(value[:9], range(10, 1, -1), strict=True)
    )
    check = 11 - total % 11
    if check == 11:
        check = 0
    # A computed check of 10 means no valid NHS number has these nine digits.
    return check != 10 and check == int(value[9])


def _check_nhs(value: str) -> str:
    if not re.fullmatch(_NHS_PATTERN, value):
        raise rule_error("nhs_number_format", "NHS number must be 10 digits")
    if not is_valid_nhs_number(value):
        raise rule_error("nhs_number_check_digit", "NHS number fails the modulus 11 check")
    return value


NhsNumber = Annotated[
    str,
    BeforeValidator(_compact_upper),
    AfterValidator(_check_nhs),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": _NHS_PATTERN,
            "description": "NHS number, 10 digits without spaces; the last digit is a "
            "modulus 11 check digit.",
        }
    ),
]


# --- National Insurance number ----------------------------------------------------------

# HMRC: first letter not D F I Q U V; second letter not D F I O Q U V; the prefixes
# BG GB KN NK NT TN ZZ are never allocated (TN is for temporary numbers); suffix A-D.
_NI_PATTERN = r"^(?!BG|GB|KN|NK|NT|TN|ZZ)[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z][0-9]{6}[A-D]$"


def is_valid_ni_number(value: str) -> bool:
    return re.fullmatch(_NI_PATTERN, value) is not None


def _check_ni(value: str) -> str:
    if not re.fullmatch(r"^[A-Z]{2}[0-9]{6}[A-Z]$", value):
        raise rule_error(
            "ni_number_format", "National Insurance number must be 2 letters, 6 digits, 1 letter"
        )
    if not is_valid_ni_number(value):
        raise rule_error(
            "ni_number_prefix",
            "National Insurance number breaks HMRC prefix or suffix rules",
        )
    return value


NationalInsuranceNumber = Annotated[
    str,
    BeforeValidator(_compact_upper),
    AfterValidator(_check_ni),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": _NI_PATTERN,
            "description": "National Insurance number without spaces, e.g. AB123456C; "
            "HMRC prefix rules apply (no D, F, I, Q, U, V first; no D, F, I, O, Q, U, V "
            "second; never BG, GB, KN, NK, NT, TN, ZZ); suffix A-D.",
        }
    ),
]


# --- E-mail -----------------------------------------------------------------------------


def _check_email(value: str) -> str:
    try:
        # Deliverability needs DNS, and contracts do no I/O.
        return validate_email(value, check_deliverability=False).normalized
    except EmailNotValidError:
        # email-validator's own message quotes parts of the address: never surface it.
        raise rule_error("email", "must be a valid e-mail address") from None


EmailAddress = Annotated[
    str,
    AfterValidator(_check_email),
    WithJsonSchema(
        {"type": "string", "format": "email", "maxLength": 254, "description": "E-mail address."}
    ),
]


# --- Phone ------------------------------------------------------------------------------


def _check_phone(value: str) -> str:
    if len(value) > 32:
        raise rule_error("phone", "must be a valid phone number")
    try:
        # National numbers without a +country code are read as UK numbers.
        parsed = phonenumbers.parse(value, "GB")
    except phonenumbers.NumberParseException:
        raise rule_error("phone", "must be a valid phone number") from None
    if not phonenumbers.is_valid_number(parsed):
        raise rule_error("phone", "must be a valid phone number")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


PhoneNumber = Annotated[
    str,
    AfterValidator(_check_phone),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": r"^\+[1-9][0-9]{6,14}$",
            "description": "Phone number in E.164 form, e.g. +442079460123. The models "
            "also accept UK national form (020 7946 0123) and normalise it.",
        }
    ),
]
