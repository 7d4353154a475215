"""The English childhood dates a birth sets years ahead: funded early education, and the
reception school application.

The birth workflow turns these into durable timers and dated timeline entries, and the
schools service names the entitlement it offers by them, so they are computed here, once,
as plain `datetime.date` arithmetic: no clock is read (callers pass `today`), nothing is
imported but the standard library, and the same date of birth always gives the same dates,
in the workflow sandbox and on replay alike.

The rules, each with its source:

- **Funding terms** begin on 1 January, 1 April and 1 September, and funded early education
  begins "the term after" a birthday: the first of those dates strictly after it (Childcare
  Act 2006 s.7; the Local Authority (Duty to Secure Early Years Provision Free of Charge)
  Regulations 2014; DfE "Early education and childcare: statutory guidance for local
  authorities"). A child whose birthday is 1 September starts on 1 January, not that day.
- **Eligible two-year-olds** (the 15 hours for families who meet the criteria) from the term
  after the second birthday; **every three-year-old** (the universal 15 hours) from the term
  after the third birthday (same sources). The family is offered each when it begins.
- **Reception**: a child is admitted in the September following their fourth birthday, that
  is, in the school year (1 September to 31 August) in which they turn five (School
  Admissions Code 2021 para 2.17). Compulsory school age itself comes later, on the
  prescribed day after the fifth birthday (Education Act 1996 s.8); no reminder needs it.
- **The reception application window** closes on 15 January of the calendar year in which
  the child starts, the national closing date for primary applications (School Admissions
  (Admission Arrangements and Co-ordination of Admission Arrangements) (England) Regulations
  2012, Schedule 2). No rule fixes when it opens: councils open applications in the autumn
  of the school year before, most in September. We take 1 September of that school year,
  the earliest any council opens, so that the reminder is never later than the window. The
  family is reminded on that day and again two weeks before the close (1 January).
- **29 February**: in a common year a person born on 29 February attains an age on
  1 March. The Family Law Reform Act 1969 s.9 makes an age attained at the start of the
  anniversary of the birth; where that year has no 29 February the anniversary is taken as
  1 March, as `contracts.shares.age_on` already counts (it has not turned on 28 February).
  No date here can depend on it: 28 February and 1 March fall in the same funding term
  and the same school year.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

__all__ = [
    "CLOSING_REMINDER_BEFORE",
    "RECEPTION_CLOSING_DAY",
    "SCHOOL_YEAR_STARTS",
    "TERM_STARTS",
    "ChildhoodDates",
    "Milestone",
    "MilestoneCode",
    "MilestoneKind",
    "birthday",
    "childhood_dates",
    "reception_starts",
    "still_ahead",
    "term_after",
]

TERM_STARTS = ((1, 1), (4, 1), (9, 1))
"""(month, day) on which each early-education funding term begins, in calendar order."""

SCHOOL_YEAR_STARTS = (9, 1)
"""(month, day): English school years run from 1 September to 31 August."""

RECEPTION_CLOSING_DAY = (1, 15)
"""(month, day): the national closing date for reception applications."""

CLOSING_REMINDER_BEFORE = timedelta(weeks=2)
"""How long before the reception window closes the family is reminded again."""


class MilestoneKind(StrEnum):
    OFFER = "offer"
    """Something the family is entitled to from that day: offered, not asked for."""
    REMINDER = "reminder"
    """Something the family must do; the reminder says by when."""


class MilestoneCode(StrEnum):
    """In the order in which they fall when they fall on the same day."""

    TWO_YEAR_OLD_FUNDING = "two_year_old_funding"
    THREE_YEAR_OLD_ENTITLEMENT = "three_year_old_entitlement"
    RECEPTION_WINDOW_OPENS = "reception_window_opens"
    RECEPTION_WINDOW_CLOSING = "reception_window_closing"


@dataclass(frozen=True, slots=True)
class Milestone:
    """One dated thing to do for a child: a timer, and an entry on the timeline."""

    code: MilestoneCode
    on: date
    kind: MilestoneKind


@dataclass(frozen=True, slots=True)
class ChildhoodDates:
    """Every date that follows from a date of birth, and the milestones among them."""

    date_of_birth: date
    two_year_old_funding: date
    three_year_old_entitlement: date
    reception_starts: date
    reception_window_opens: date
    reception_window_closes: date
    reception_window_closing: date
    """The second reminder: `CLOSING_REMINDER_BEFORE` the window closes."""

    @property
    def milestones(self) -> tuple[Milestone, ...]:
        """The offers and reminders, by date (on the same day, in `MilestoneCode` order)."""
        return _ordered(
            [
                Milestone(
                    MilestoneCode.TWO_YEAR_OLD_FUNDING,
                    self.two_year_old_funding,
                    MilestoneKind.OFFER,
                ),
                Milestone(
                    MilestoneCode.THREE_YEAR_OLD_ENTITLEMENT,
                    self.three_year_old_entitlement,
                    MilestoneKind.OFFER,
                ),
                Milestone(
                    MilestoneCode.RECEPTION_WINDOW_OPENS,
                    self.reception_window_opens,
                    MilestoneKind.REMINDER,
                ),
                Milestone(
                    MilestoneCode.RECEPTION_WINDOW_CLOSING,
                    self.reception_window_closing,
                    MilestoneKind.REMINDER,
                ),
            ]
        )


def birthday(date_of_birth: date, age: int) -> date:
    """The day a person born on `date_of_birth` attains `age`: 1 March, in a common year, for
    one born on 29 February (see the module docstring)."""
    year = date_of_birth.year + age
    try:
        return date_of_birth.replace(year=year)
    except ValueError:  # 29 February in a common year
        return date(year, 3, 1)


def term_after(day: date) -> date:
    """The first funding term start (1 January, 1 April, 1 September) strictly after `day`."""
    for month, start in TERM_STARTS:
        if (month, start) > (day.month, day.day):
            return date(day.year, month, start)
    month, start = TERM_STARTS[0]
    return date(day.year + 1, month, start)


def _school_year_after(day: date) -> date:
    """The first 1 September strictly after `day`."""
    month, start = SCHOOL_YEAR_STARTS
    year = day.year if (day.month, day.day) < (month, start) else day.year + 1
    return date(year, month, start)


def reception_starts(date_of_birth: date) -> date:
    """The 1 September following the fourth birthday (School Admissions Code 2021 para 2.17):
    the start of the school year in which the child turns five."""
    return _school_year_after(birthday(date_of_birth, 4))


def childhood_dates(date_of_birth: date) -> ChildhoodDates:
    """Every date of the module's rules for a child born on `date_of_birth`."""
    starts = reception_starts(date_of_birth)
    month, start = SCHOOL_YEAR_STARTS
    closing_month, closing_day = RECEPTION_CLOSING_DAY
    closes = date(starts.year, closing_month, closing_day)
    return ChildhoodDates(
        date_of_birth=date_of_birth,
        two_year_old_funding=term_after(birthday(date_of_birth, 2)),
        three_year_old_entitlement=term_after(birthday(date_of_birth, 3)),
        reception_starts=starts,
        reception_window_opens=date(starts.year - 1, month, start),
        reception_window_closes=closes,
        reception_window_closing=closes - CLOSING_REMINDER_BEFORE,
    )


def still_ahead(milestones: Iterable[Milestone], today: date) -> tuple[Milestone, ...]:
    """The milestones not yet passed on `today` (the date in England, not UTC's), by date.

    One due today is still ahead (its timer fires at once); one due before is dropped, so a
    birth recorded late never reminds a family of a window that has already closed. A caller
    that resumes after acting on today's milestones (continue-as-new) passes on what remains
    rather than filtering again, or today's would be acted on twice."""
    return _ordered(m for m in milestones if m.on >= today)


def _ordered(milestones: Iterable[Milestone]) -> tuple[Milestone, ...]:
    codes = list(MilestoneCode)
    return tuple(sorted(milestones, key=lambda m: (m.on, codes.index(m.code))))
