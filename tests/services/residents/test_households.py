"""Moves, households, and the deceased leaving them."""

from __future__ import annotations

from datetime import date

import pytest

from contracts.addresses import UkAddress
from contracts.residents import DeathRecord, MoveRecord
from services.residents.index import ResidentIndex, ResidentIndexError
from tests.services.residents.support import address, person

MOVED = date(2026, 3, 1)


async def residents(index: ResidentIndex, count: int, at: UkAddress | None = None) -> list[str]:
    results = await index.match_people(
        [person(f"Member{n}", "Hollowmere", date(1970 + n, 1, 1), address=at) for n in range(count)]
    )
    keys = [r.resident for r in results]
    assert all(k is not None for k in keys)
    return [k for k in keys if k is not None]


def move(
    keys: list[str], to: UkAddress | None, *, step: str = "move", on: date = MOVED
) -> MoveRecord:
    return MoveRecord(
        residents=tuple(keys),
        new_address=to,
        move_date=on,
        direction="within" if to is not None else "out_of",
        workflow_id="wf-move",
        step=step,
    )


async def test_people_at_one_address_are_a_household(index: ResidentIndex) -> None:
    home = address(7, uprn="999000000007")
    parent, child = await residents(index, 2, at=home)
    resident = await index.resident(parent)
    assert resident is not None
    assert resident.address == home
    assert resident.household == (child,)


async def test_a_move_joins_the_household_at_the_new_address(index: ResidentIndex) -> None:
    new_home = address(9, postcode="AB2 4FG")
    [already_there] = await residents(index, 1, at=new_home)
    movers = await index.match_people(
        [person("Pat", "Elsewhere", date(1980, 1, 1), address=address(3))]
    )
    mover = movers[0].resident
    assert mover is not None
    household = await index.record_move(move([mover], new_home))
    assert household.address == new_home
    assert household.residents == tuple(sorted([already_there, mover]))
    old = await index.resident(mover)
    assert old is not None
    assert old.household == (already_there,)


async def test_an_address_matches_by_uprn_or_by_postcode_and_lines(
    index: ResidentIndex,
) -> None:
    with_uprn = address(5, uprn="999000000005")
    [a] = await residents(index, 1, at=with_uprn)
    [b] = await index.match_people(
        [person("Bea", "Othername", date(1991, 1, 1), address=address(5))]
    )  # same lines and postcode, no UPRN
    # Same UPRN, lines written differently.
    written_otherwise = UkAddress(
        lines=("5  IMAGINARY street",), town="Exampletown", postcode="ab12de", uprn="999000000005"
    )
    [c] = await index.match_people(
        [person("Cy", "Thirdname", date(1992, 1, 1), address=written_otherwise)]
    )
    resident = await index.resident(a)
    assert resident is not None
    assert set(resident.household) == {b.resident, c.resident}


async def test_record_move_is_idempotent_on_workflow_and_step(index: ResidentIndex) -> None:
    [key] = await residents(index, 1, at=address(1))
    first = await index.record_move(move([key], address(2)))
    # A retry of the same step, even after a later move, changes nothing and answers the same.
    await index.record_move(move([key], address(3), step="later", on=date(2026, 4, 1)))
    assert await index.record_move(move([key], address(2))) == first
    resident = await index.resident(key)
    assert resident is not None
    assert resident.address == address(3)


async def test_an_older_move_arriving_late_does_not_undo_a_newer_one(
    index: ResidentIndex,
) -> None:
    [key] = await residents(index, 1, at=address(1))
    await index.record_move(move([key], address(3), step="newer", on=date(2026, 4, 1)))
    await index.record_move(move([key], address(2), step="older", on=date(2026, 2, 1)))
    resident = await index.resident(key)
    assert resident is not None
    assert resident.address == address(3)


async def test_moving_out_to_an_unknown_address(index: ResidentIndex) -> None:
    home = address(8)
    stayer, leaver = await residents(index, 2, at=home)
    household = await index.record_move(move([leaver], None))
    assert household == household.model_copy(update={"address": None, "residents": (leaver,)})
    gone = await index.resident(leaver)
    assert gone is not None
    assert (gone.address, gone.household) == (None, ())
    stays = await index.resident(stayer)
    assert stays is not None
    assert stays.household == ()
    plan = await index.contact_for(leaver)
    assert plan.channels == ()  # no address, no e-mail, no phone: nothing to deliver to


async def test_the_deceased_leave_the_household(index: ResidentIndex) -> None:
    home = address(12, uprn="999000000012")
    deceased, spouse = await residents(index, 2, at=home)
    await index.mark_deceased(
        DeathRecord(
            resident=deceased, date_of_death=date(2026, 8, 7), workflow_id="wf-d", step="flag"
        )
    )
    survivor = await index.resident(spouse)
    assert survivor is not None
    assert survivor.household == ()
    them = await index.resident(deceased)
    assert them is not None
    assert them.flags == ("deceased",)
    assert them.household == (spouse,)  # who is left at their last address
    [newcomer] = await index.match_people(
        [person("New", "Arrival", date(2000, 1, 1), address=address(30))]
    )
    assert newcomer.resident is not None
    household = await index.record_move(move([newcomer.resident], home))
    assert household.residents == tuple(sorted([spouse, newcomer.resident]))


async def test_a_move_of_an_unknown_resident_is_refused(index: ResidentIndex) -> None:
    with pytest.raises(ResidentIndexError) as refused:
        await index.record_move(move(["res_" + "x" * 22], address(1)))
    assert refused.value.code == "unknown_resident"
