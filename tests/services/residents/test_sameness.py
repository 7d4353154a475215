"""The sameness rule (`sameness.compare`) and the index's record of reports
(`claim_report`): the first report of a life event is acted on, another report of it is
merged, one that contradicts it goes to a caseworker."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta

import pytest

from contracts.addresses import UkAddress
from contracts.events.common import EventReference
from contracts.residents import LifeEventReport, ReportKind
from services.residents.index import ResidentIndex, ResidentIndexError
from services.residents.sameness import Earlier, compare, same_address
from tests.services.residents.support import address, person

MOVED = date(2026, 3, 2)
NEW = address(7, uprn=None)
OTHER_NEW = address(9, uprn=None)
COUNCIL_TAX = EventReference(source="/council-tax/revenues", id="CT-1")
HOUSING = EventReference(source="/housing/lettings", id="H-1")
CANVASS = EventReference(source="/electoral/canvass", id="EC-1")


def report(
    kind: ReportKind,
    event: EventReference,
    residents: tuple[str, ...],
    on: date = MOVED,
    new_address: UkAddress | None = NEW,
) -> LifeEventReport:
    return LifeEventReport(
        kind=kind,
        event=event,
        residents=residents,
        on=on,
        new_address=new_address if kind == "move" else None,
        workflow_id=f"lifeevent-{event.id.lower()}",
    )


def earlier(first: LifeEventReport) -> Earlier:
    return Earlier(first.workflow_id, first.event, first.residents, first.on, first.new_address)


A, B, C = "res_AAAAAAAAAAAAAAAAAAAAAA", "res_BBBBBBBBBBBBBBBBBBBBBB", "res_CCCCCCCCCCCCCCCCCCCCCC"


class TestRule:
    def test_nothing_before_is_first(self) -> None:
        same = compare(report("move", HOUSING, (A,)), [])
        assert (same.verdict, same.first, same.first_workflow) == (
            "first",
            HOUSING,
            "lifeevent-h-1",
        )

    def test_a_move_days_apart_to_the_same_address_is_the_same_move(self) -> None:
        first = report("move", COUNCIL_TAX, (A, B))
        same = compare(report("move", HOUSING, (B, A), MOVED + timedelta(days=7)), [earlier(first)])
        assert (same.verdict, same.first, same.first_workflow, same.added) == (
            "same",
            COUNCIL_TAX,
            "lifeevent-ct-1",
            (),
        )

    def test_a_move_more_than_a_week_apart_is_another_move(self) -> None:
        first = report("move", COUNCIL_TAX, (A,))
        later = report("move", HOUSING, (A,), MOVED - timedelta(days=8))
        assert compare(later, [earlier(first)]).verdict == "first"

    def test_a_move_of_other_people_is_another_move(self) -> None:
        first = report("move", COUNCIL_TAX, (A,))
        assert compare(report("move", HOUSING, (B,)), [earlier(first)]).verdict == "first"

    def test_the_movers_a_report_adds_are_named(self) -> None:
        first = report("move", COUNCIL_TAX, (A,))
        same = compare(report("move", HOUSING, (C, A, B)), [earlier(first)])
        assert (same.verdict, same.added) == ("same", (C, B))

    def test_another_new_address_contradicts(self) -> None:
        first = report("move", COUNCIL_TAX, (A, B))
        same = compare(report("move", HOUSING, (A,), new_address=OTHER_NEW), [earlier(first)])
        assert (same.verdict, same.first, same.differences) == (
            "contradicts",
            COUNCIL_TAX,
            ("new_address",),
        )

    def test_an_address_written_otherwise_is_the_same_address(self) -> None:
        written = UkAddress(
            lines=("7  IMAGINARY street",), town="Exampletown", postcode=NEW.postcode
        )
        assert same_address(NEW, written)
        with_uprn = NEW.model_copy(update={"uprn": "999000000007"})
        assert same_address(with_uprn, with_uprn.model_copy(update={"lines": ("Flat 7",)}))
        assert not same_address(with_uprn, with_uprn.model_copy(update={"uprn": "999000000008"}))
        assert same_address(None, None)
        assert not same_address(NEW, None)

    def test_a_move_away_to_an_unknown_address_is_the_same_only_as_one(self) -> None:
        first = report("move", COUNCIL_TAX, (A,), new_address=None)
        assert compare(
            report("move", HOUSING, (A,), new_address=None), [earlier(first)]
        ).verdict == ("same")
        assert compare(report("move", HOUSING, (A,)), [earlier(first)]).verdict == "contradicts"

    def test_the_oldest_same_event_decides(self) -> None:
        older = report("move", COUNCIL_TAX, (A,), MOVED - timedelta(days=30))
        first = report("move", CANVASS, (A,))
        same = compare(report("move", HOUSING, (A,)), [earlier(older), earlier(first)])
        assert same.first == CANVASS

    def test_a_death_with_another_date_contradicts_whatever_the_dates(self) -> None:
        first = report("death", COUNCIL_TAX, (A,), date(2026, 1, 1))
        assert compare(
            report("death", HOUSING, (A,), date(2026, 1, 1)), [earlier(first)]
        ).verdict == ("same")
        same = compare(report("death", HOUSING, (A,), date(2025, 6, 1)), [earlier(first)])
        assert (same.verdict, same.differences) == ("contradicts", ("date_of_death",))

    def test_a_birth_with_another_date_contradicts(self) -> None:
        first = report("birth", COUNCIL_TAX, (A,), date(2026, 1, 1))
        same = compare(report("birth", HOUSING, (A,), date(2026, 1, 2)), [earlier(first)])
        assert (same.verdict, same.differences) == ("contradicts", ("date_of_birth",))


async def residents(index: ResidentIndex, count: int) -> tuple[str, ...]:
    given = ["Ada", "Bea", "Cy"]
    matched = await index.match_people(
        [person(given[i], "Quillfeather", date(1980 + i, 1, 1)) for i in range(count)]
    )
    return tuple(m.resident for m in matched if m.resident is not None)


class TestClaim:
    async def test_the_second_report_is_merged_and_the_third_too(
        self, index: ResidentIndex
    ) -> None:
        a, b = await residents(index, 2)
        first = await index.claim_report(report("move", COUNCIL_TAX, (a,)))
        second = await index.claim_report(report("move", HOUSING, (a, b)))
        third = await index.claim_report(report("move", CANVASS, (b,), MOVED + timedelta(days=2)))
        assert first.verdict == "first"
        assert (second.verdict, second.first_workflow, second.added) == (
            "same",
            "lifeevent-ct-1",
            (b,),
        )
        # Merged reports are never compared with: the third is the first's too.
        assert (third.verdict, third.first) == ("same", COUNCIL_TAX)

    async def test_a_repeated_claim_answers_the_same(self, index: ResidentIndex) -> None:
        (a,) = await residents(index, 1)
        await index.claim_report(report("move", COUNCIL_TAX, (a,)))
        second = report("move", HOUSING, (a,), new_address=OTHER_NEW)
        assert await index.claim_report(second) == await index.claim_report(second)
        # Repeating the first does not make it a report of itself.
        assert (await index.claim_report(report("move", COUNCIL_TAX, (a,)))).verdict == "first"

    async def test_of_two_reports_at_once_exactly_one_is_first(self, index: ResidentIndex) -> None:
        (a,) = await residents(index, 1)
        verdicts = await asyncio.gather(
            index.claim_report(report("death", COUNCIL_TAX, (a,), date(2026, 1, 1))),
            index.claim_report(report("death", HOUSING, (a,), date(2026, 1, 1))),
        )
        assert sorted(v.verdict for v in verdicts) == ["first", "same"]
        [first] = [v for v in verdicts if v.verdict == "first"]
        [merged] = [v for v in verdicts if v.verdict == "same"]
        assert merged.first_workflow == first.first_workflow

    async def test_kinds_are_compared_only_with_their_own(self, index: ResidentIndex) -> None:
        (a,) = await residents(index, 1)
        await index.claim_report(report("move", COUNCIL_TAX, (a,)))
        assert (await index.claim_report(report("death", HOUSING, (a,)))).verdict == "first"

    async def test_an_unknown_resident_is_refused(self, index: ResidentIndex) -> None:
        with pytest.raises(ResidentIndexError, match="unknown_resident"):
            await index.claim_report(report("move", HOUSING, ("res_" + "x" * 22,)))
