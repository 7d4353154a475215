"""Dates as life events use them: calendar dates in the UK, checked against the clock.

The clock rule (nothing in the future) is checked at validation time, so it lives in the
models, not in the static JSON Schema; the fixed earliest date of birth is in both.
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Annotated
from zoneinfo import ZoneInfo

from pydantic import AfterValidator, Field

from contracts.errors import rule_error

__all__ = [
    "EARLIEST_DATE_OF_BIRTH",
    "DateOfBirth",
    "PastDate",
    "uk_date",
    "uk_moment",
    "uk_today",
]

_UK = ZoneInfo("Europe/London")

# Nobody alive or recently dead was born before this; anything earlier is a data-entry
# error (a mistyped century), not a person.
EARLIEST_DATE_OF_BIRTH = date(1880, 1, 1)
# The same rule for a JSON Schema, on the canonical YYYY-MM-DD form: a year from 1880 on.
_FROM_EARLIEST_YEAR = r"^(18[89][0-9]|19[0-9]{2}|[2-9][0-9]{3})-[0-9]{2}-[0-9]{2}$"


def uk_today() -> date:
    """Today's date where the events happen: a birth just after midnight BST is 'today'."""
    return datetime.now(_UK).date()


def uk_date(moment: datetime) -> date:
    """The UK calendar date of an aware moment (a workflow's `workflow.now()`, in UTC)."""
    return moment.astimezone(_UK).date()


def uk_moment(day: date, at: time) -> datetime:
    """That wall-clock time on that day in the UK, as an aware moment (GMT or BST)."""
    return datetime.combine(day, at, tzinfo=_UK)


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
    Field(
        description="Date of birth (YYYY-MM-DD): not in the future, not before 1880.",
        json_schema_extra={"pattern": _FROM_EARLIEST_YEAR},
    ),
]
