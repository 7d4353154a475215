"""The English childhood dates (contracts.childhood): every expected date written out by hand
from the rules, then properties over any date of birth."""

from __future__ import annotations

import ast
from datetime import date, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import contracts.childhood
from contracts.childhood import (
    ChildhoodDates,
    Milestone,
    MilestoneCode,
    MilestoneKind,
    birthday,
    childhood_dates,
    reception_starts,
    still_ahead,
    term_after,
)

D = date.fromisoformat
OFFER, REMINDER = MilestoneKind.OFFER, MilestoneKind.REMINDER
TWO, THREE, OPENS, CLOSING = (
    MilestoneCode.TWO_YEAR_OLD_FUNDING,
    MilestoneCode.THREE_YEAR_OLD_ENTITLEMENT,
    MilestoneCode.RECEPTION_WINDOW_OPENS,
    MilestoneCode.RECEPTION_WINDOW_CLOSING,
)


def expected(dates: str) -> ChildhoodDates:
    """From a row of the table below: the date of birth, then the dates in field order."""
    born, two, three, starts, opens, closes, closing = map(D, dates.split())
    return ChildhoodDates(born, two, three, starts, opens, closes, closing)


# Each row: born, two-year-old funding, three-year-old entitlement, reception starts, the
# window opens, it closes, and the reminder two weeks before it closes.
CHILDREN = {
    # The last day of a school year's cohort: four on 31 August 2025, reception the next day.
    "31 Aug": "2021-08-31 2023-09-01 2024-09-01 2025-09-01 2024-09-01 2025-01-15 2025-01-01",
    # A day later, a year later: four on 1 September 2025; the September *after* is 2026.
    "1 Sep": "2021-09-01 2024-01-01 2025-01-01 2026-09-01 2025-09-01 2026-01-15 2026-01-01",
    # Second and third birthdays on 1 March (2022, 2023); the fourth on 29 February 2024.
    "29 Feb": "2020-02-29 2022-04-01 2023-04-01 2024-09-01 2023-09-01 2024-01-15 2024-01-01",
    # 2100 is not a leap year: the fourth birthday is 1 March 2100.
    "29 Feb 2096": "2096-02-29 2098-04-01 2099-04-01 2100-09-01 2099-09-01 2100-01-15 2100-01-01",
    "31 Dec": "2021-12-31 2024-01-01 2025-01-01 2026-09-01 2025-09-01 2026-01-15 2026-01-01",
    # Birthdays on a term's first day: the term *after* it.
    "1 Jan": "2022-01-01 2024-04-01 2025-04-01 2026-09-01 2025-09-01 2026-01-15 2026-01-01",
    # The term boundaries of 1 April, on both sides.
    "31 Mar": "2022-03-31 2024-04-01 2025-04-01 2026-09-01 2025-09-01 2026-01-15 2026-01-01",
    "1 Apr": "2022-04-01 2024-09-01 2025-09-01 2026-09-01 2025-09-01 2026-01-15 2026-01-01",
}


@pytest.mark.parametrize("row", CHILDREN.values(), ids=CHILDREN.keys())
def test_childhood_dates(row: str) -> None:
    child = expected(row)
    assert childhood_dates(child.date_of_birth) == child


@pytest.mark.parametrize(
    ("day", "term"),
    [
        ("2023-12-31", "2024-01-01"),
        ("2024-01-01", "2024-04-01"),
        ("2024-02-29", "2024-04-01"),
        ("2024-03-31", "2024-04-01"),
        ("2024-04-01", "2024-09-01"),
        ("2024-08-31", "2024-09-01"),
        ("2024-09-01", "2025-01-01"),
        ("2024-12-31", "2025-01-01"),
    ],
)
def test_term_after(day: str, term: str) -> None:
    assert term_after(D(day)) == D(term)


@pytest.mark.parametrize(
    ("born", "age", "on"),
    [
        ("2020-02-29", 1, "2021-03-01"),
        ("2020-02-29", 2, "2022-03-01"),
        ("2020-02-29", 4, "2024-02-29"),
        ("2096-02-29", 4, "2100-03-01"),
        ("2021-08-31", 4, "2025-08-31"),
    ],
)
def test_birthday(born: str, age: int, on: str) -> None:
    assert birthday(D(born), age) == D(on)


def test_the_cohort_boundary_is_1_september() -> None:
    assert reception_starts(D("2022-08-31")) == D("2026-09-01")
    assert reception_starts(D("2022-09-01")) == D("2027-09-01")


def test_milestones_of_a_child_born_31_august() -> None:
    # The three-year-old entitlement and the window's opening fall on the same day, 1
    # September 2024: in MilestoneCode order.
    assert expected(CHILDREN["31 Aug"]).milestones == (
        Milestone(TWO, D("2023-09-01"), OFFER),
        Milestone(THREE, D("2024-09-01"), OFFER),
        Milestone(OPENS, D("2024-09-01"), REMINDER),
        Milestone(CLOSING, D("2025-01-01"), REMINDER),
    )


def test_milestones_of_a_child_born_1_september() -> None:
    assert expected(CHILDREN["1 Sep"]).milestones == (
        Milestone(TWO, D("2024-01-01"), OFFER),
        Milestone(THREE, D("2025-01-01"), OFFER),
        Milestone(OPENS, D("2025-09-01"), REMINDER),
        Milestone(CLOSING, D("2026-01-01"), REMINDER),
    )


MILESTONES_31_AUGUST = expected(CHILDREN["31 Aug"]).milestones


@pytest.mark.parametrize(
    ("today", "codes"),
    [
        # Registered at six weeks: everything is ahead.
        ("2021-10-12", [TWO, THREE, OPENS, CLOSING]),
        ("2023-09-01", [TWO, THREE, OPENS, CLOSING]),
        ("2023-09-02", [THREE, OPENS, CLOSING]),
        # Due today is still ahead.
        ("2024-09-01", [THREE, OPENS, CLOSING]),
        ("2024-09-02", [CLOSING]),
        ("2025-01-01", [CLOSING]),
        # The window is still open until 15 January, but its last reminder has gone.
        ("2025-01-02", []),
        # Recorded after the window closed: no reminder about it.
        ("2025-01-16", []),
    ],
)
def test_still_ahead(today: str, codes: list[MilestoneCode]) -> None:
    assert [m.code for m in still_ahead(MILESTONES_31_AUGUST, D(today))] == codes


def test_still_ahead_orders_what_it_is_given() -> None:
    shuffled = list(reversed(MILESTONES_31_AUGUST))
    assert still_ahead(shuffled, D("2000-01-01")) == MILESTONES_31_AUGUST
    assert still_ahead([], D("2000-01-01")) == ()


def test_the_module_imports_only_the_standard_library() -> None:
    """Workflow code imports it: nothing that could do I/O or read a clock."""
    tree = ast.parse(Path(contracts.childhood.__file__).read_text(encoding="utf-8"))
    imported = {
        (node.module or "") if isinstance(node, ast.ImportFrom) else alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    }
    assert imported == {"__future__", "collections.abc", "dataclasses", "datetime", "enum"}
    assert "today" not in {n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute)}


# --- properties ---------------------------------------------------------------------------

births = st.dates(min_value=date(1900, 1, 1), max_value=date(2400, 12, 31))
TERM_STARTS = {(1, 1), (4, 1), (9, 1)}


def _is_term_start(day: date) -> bool:
    return (day.month, day.day) in TERM_STARTS


@given(born=births)
def test_milestones_are_ordered_and_complete(born: date) -> None:
    milestones = childhood_dates(born).milestones
    assert [m.on for m in milestones] == sorted(m.on for m in milestones)
    assert {m.code for m in milestones} == set(MilestoneCode)


@given(born=births)
def test_reception_is_the_september_after_the_fourth_birthday(born: date) -> None:
    dates = childhood_dates(born)
    starts, fourth, fifth = dates.reception_starts, birthday(born, 4), birthday(born, 5)
    assert (starts.month, starts.day) == (9, 1)
    assert fourth < starts <= fifth  # at most a year after the fourth birthday
    assert starts <= fifth < starts.replace(year=starts.year + 1)  # turns five that year


@given(born=births)
def test_the_window_is_the_autumn_before_reception(born: date) -> None:
    dates = childhood_dates(born)
    year = dates.reception_starts.year
    assert dates.reception_window_opens == date(year - 1, 9, 1)
    assert dates.reception_window_closes == date(year, 1, 15)
    assert dates.reception_window_closing == date(year, 1, 1)
    assert dates.reception_window_closes - dates.reception_window_closing == timedelta(days=14)
    assert born < dates.reception_window_opens


@given(born=births)
def test_funding_starts_the_first_term_after_the_birthday(born: date) -> None:
    dates = childhood_dates(born)
    for age, starts in ((2, dates.two_year_old_funding), (3, dates.three_year_old_entitlement)):
        turned = birthday(born, age)
        assert _is_term_start(starts)
        assert turned < starts
        between = (turned + timedelta(days=n) for n in range(1, (starts - turned).days))
        assert not any(_is_term_start(day) for day in between)


@given(born=births, today=births)
def test_still_ahead_keeps_exactly_what_is_not_passed(born: date, today: date) -> None:
    milestones = childhood_dates(born).milestones
    ahead = still_ahead(milestones, today)
    assert ahead == tuple(m for m in milestones if m.on >= today)
