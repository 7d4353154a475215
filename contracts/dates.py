"""Dates as life events use them: calendar dates in the UK, checked against the clock.

Clock rules (nothing in the future, nothing implausibly old) are checked at validation time,
so they live in the models, not in the static JSON Schema.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated
from zoneinfo import ZoneInfo

from pydantic import AfterValidator, Field

from contracts.errors import rule_error

__all__ = [
    "EARLIEST_DATE_OF_BIRTH",
    "DateOfBirth",
    "PastDate",
    "uk_today",
]

_UK = ZoneInfo("Europe/London")

# Nobody alive or recently dead was born before this; anything earlier is a data-entry
# error (a mistyped century), not a person.
EARLIEST_DATE_OF_BIRTH = date(1880, 1, 1)


def uk_today() -> date:
    """Today's date where the events happen: a birth just after midnight BST is 'today'."""
    return datetime.now(_UK).date()


def _not_in_future(value: date) -> date:
    if value > uk_today():
        raise rule_error("date_in_future", "must not be in the future")
    return value


def _plausible_birth(value: date) -> date:
    if value < EARLIEST_DATE_OF_BIRTH:
        raise rule_error("date_of_birth_too_early", "must not be before 1880-01-01")
    return value


PastDate = Annotated[
    date,
    AfterValidator(_not_in_future),
    Field(description="Calendar date (YYYY-MM-DD), not in the future (UK time)."),
]

DateOfBirth = Annotated[
    date,
    AfterValidator(_not_in_future),
    AfterValidator(_plausible_birth),
    Field(description="Date of birth (YYYY-MM-DD): not in the future, not before 1880."),
]
