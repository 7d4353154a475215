"""The sameness rule: is a report of a life event one the council has had before?

The same facts sit in many systems: council tax, housing, benefits and the electoral
canvass all learn of one move; the registrar, the hospital and the coroner of one death.
Each sends its own event, with its own id. The first report of a life event is acted on;
a later report of the same life event does nothing twice, and one that contradicts it is a
caseworker's to settle. Whom a report is about is decided first, by the matching rule
(`matching.py`); this rule then compares the report with the *first* reports before it
about any of the same residents (a report merged into another is never compared with),
oldest first, leaving out any withdrawn:

- **A move** is the same move as an earlier one when they share at least one mover and their
  move dates are at most `MOVE_DATES_WITHIN` apart (sources learn of a move days apart, and
  date it by what they were told). With the same new address → `same`; the movers this
  report adds (a partner council tax did not know of) are `added`. With another new
  address → `contradicts` (`new_address`). Moves further apart are two moves.
- **A death** is the same death as an earlier one about the same person, whatever the
  dates. With the same date of death → `same`; with another → `contradicts`
  (`date_of_death`).
- **A birth** is the same birth as an earlier one of the same child. With the same date of
  birth → `same`; with another → `contradicts` (`date_of_birth`).

Addresses are the same when both have a UPRN and it is equal, or else when postcode and
address lines are equal once folded (case and spaces, as the index compares residences);
"moved out of the area, address not known" equals only itself. The first earlier report
that is the same event decides; nothing earlier → `first`.

This module is pure (no I/O): the store finds the earlier reports, `compare` applies the rule.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from contracts.addresses import UkAddress
from contracts.events.common import EventReference
from contracts.residents import Difference, LifeEventReport, SameEvent

__all__ = ["MOVE_DATES_WITHIN", "Earlier", "compare", "same_address"]

MOVE_DATES_WITHIN = timedelta(days=7)


@dataclass(frozen=True)
class Earlier:
    """A first report before this one, of the same kind, about one of the same residents."""

    workflow_id: str
    event: EventReference
    residents: tuple[str, ...]
    on: date
    new_address: UkAddress | None


def _fold(line: str) -> str:
    return " ".join(line.casefold().split())


def same_address(a: UkAddress | None, b: UkAddress | None) -> bool:
    if a is None or b is None:
        return a is b
    if a.uprn is not None and b.uprn is not None:
        return a.uprn == b.uprn
    return a.postcode == b.postcode and [_fold(x) for x in a.lines] == [_fold(x) for x in b.lines]


def _is_same_event(report: LifeEventReport, earlier: Earlier) -> bool:
    if not set(report.residents) & set(earlier.residents):
        return False
    if report.kind == "move":
        return abs(report.on - earlier.on) <= MOVE_DATES_WITHIN
    return True


def compare(report: LifeEventReport, earlier: Sequence[Earlier]) -> SameEvent:
    """`report` against the first reports before it (oldest first; see the module doc)."""
    first = next((e for e in earlier if _is_same_event(report, e)), None)
    if first is None:
        return SameEvent(verdict="first", first=report.event, first_workflow=report.workflow_id)
    differences: list[Difference] = []
    if report.kind == "move" and not same_address(report.new_address, first.new_address):
        differences.append("new_address")
    if report.kind == "death" and report.on != first.on:
        differences.append("date_of_death")
    if report.kind == "birth" and report.on != first.on:
        differences.append("date_of_birth")
    if differences:
        return SameEvent(
            verdict="contradicts",
            first=first.event,
            first_workflow=first.workflow_id,
            differences=tuple(differences),
        )
    return SameEvent(
        verdict="same",
        first=first.event,
        first_workflow=first.workflow_id,
        added=tuple(r for r in report.residents if r not in first.residents),
    )
