"""Catchment schools by postcode district, and which school year a child is in.

A small static table of synthetic schools for the synthetic districts of the examples; a
deployment would ask the admissions system's catchment map instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from contracts.shares import age_on

__all__ = [
    "CATCHMENTS",
    "LAST_PRIMARY_YEAR",
    "SCHOOL_YEARS",
    "Catchment",
    "School",
    "catchment_for",
    "district",
    "year_group",
    "year_name",
]

# Reception (0) to Year 11: the years of compulsory schooling an in-year application is for.
SCHOOL_YEARS = range(12)
LAST_PRIMARY_YEAR = 6


@dataclass(frozen=True)
class School:
    code: str
    name: str


@dataclass(frozen=True)
class Catchment:
    primary: School
    secondary: School

    def school_for(self, year: int) -> School:
        return self.primary if year <= LAST_PRIMARY_YEAR else self.secondary


_ACADEMY = School("SCH-2101", "Exampletown Academy")

CATCHMENTS: dict[str, Catchment] = {
    "AB1": Catchment(School("SCH-1101", "Sample Close Primary School"), _ACADEMY),
    "AB2": Catchment(School("SCH-1102", "Fictitious Avenue Primary School"), _ACADEMY),
    "AB3": Catchment(
        School("SCH-1103", "Pretend Street Primary School"),
        School("SCH-2102", "Made-Up Hill High School"),
    ),
    "AB4": Catchment(
        School("SCH-1104", "Notional Green Primary School"),
        School("SCH-2102", "Made-Up Hill High School"),
    ),
}


def district(postcode: str) -> str:
    """The outward code: `AB2 4FG` → `AB2`."""
    return postcode.split(" ", 1)[0].upper()


def catchment_for(postcode: str) -> Catchment | None:
    return CATCHMENTS.get(district(postcode))


def year_group(born: date, moving: date) -> int | None:
    """The school year (0 = Reception … 11 = Year 11) of the academic year the child joins
    on moving (from August, the one starting in September), or None outside school years.
    In England a child's year is set by their age on 31 August before it starts."""
    start_year = moving.year if moving.month >= 8 else moving.year - 1
    year = age_on(born, date(start_year, 8, 31)) - 4
    return year if year in SCHOOL_YEARS else None


def year_name(year: int) -> str:
    return "Reception" if year == 0 else f"Year {year}"
