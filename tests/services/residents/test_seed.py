"""The demo seed: the synthetic people of contracts/examples, as residents."""

from __future__ import annotations

from collections import Counter

from services.residents.index import ResidentIndex
from services.residents.seed import seed_demo


async def test_seeding_an_empty_index(index: ResidentIndex) -> None:
    report = await seed_demo(index)
    assert Counter(r.outcome for r in report.values()) == {"created": 12}
    assert len(await index.keys()) == 12

    def key(label: str) -> str:
        resident = report[label].resident
        assert resident is not None
        return resident

    mother = await index.resident(key("birth-registered/parents[0]"))
    assert mother is not None
    assert set(mother.household) == {
        key("birth-registered/parents[1]"),
        key("birth-registered/child"),
    }
    assert mother.channels == ("email", "sms", "letter")

    pat = await index.resident(key("address-changed-household/movers[0]"))
    assert pat is not None
    assert pat.address is not None
    assert pat.address.uprn == "999000000044"  # moved
    assert pat.household == (key("address-changed-household/movers[1]"),)

    left = await index.resident(key("address-changed-out-of-area/movers[0]"))
    assert left is not None
    assert left.address is None

    deceased = key("death-registered/deceased")
    assert (await index.contact_for(deceased)).deceased
    spouse = await index.resident(key("death-registered/household_members[0]"))
    assert spouse is not None
    assert spouse.household == ()


async def test_seeding_again_creates_nobody(index: ResidentIndex) -> None:
    first = await seed_demo(index)
    again = await seed_demo(index)
    assert len(await index.keys()) == 12
    outcomes = Counter(r.outcome for r in again.values())
    assert outcomes == {"matched": 8, "doubtful": 4}
    for label, result in again.items():
        if result.outcome == "matched":
            assert result.resident == first[label].resident
        else:  # named without a date of birth or an identifier: a caseworker would decide
            assert result.rule == "name_without_date_of_birth"
            assert result.candidate_keys == (first[label].resident,)
