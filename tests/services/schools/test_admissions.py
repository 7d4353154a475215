"""schools.find_catchment and schools.offer_in_year_admission: the catchment school for the
new address or the home (with a child's reception dates), another council's area named,
one application per child of school age, idempotent; refuses any token not good for
exactly this data."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from temporalio.exceptions import ApplicationError

from contracts.actions import ServiceAction
from services.schools.activities import SchoolActivities
from services.schools.catchment import year_group
from services.schools.store import SchoolStore
from tests.support.council import (
    REFUSALS,
    Refusal,
    action,
    action_of,
    address,
    age,
    assert_refused_untouched,
    move,
    new_resident,
    snapshot,
)

PERSON = {"name": {"given_names": "Robin", "family_name": "Placeholder"}}


def data(direction: str, *born: str | None, **kw: Any) -> dict[str, Any]:
    return {
        "identity": [PERSON for _ in born],
        "birth": [{"date_of_birth": b} for b in born],
        "address": move(direction, **kw),
    }


@pytest.mark.parametrize(
    ("born", "moving", "year"),
    [
        ("2015-06-15", "2025-10-18", 6),  # 10 on 31 August 2025
        ("2014-08-31", "2025-10-18", 7),  # 11 on 31 August: secondary
        ("2014-09-01", "2025-10-18", 6),  # the youngest of year 6
        ("2021-05-01", "2025-10-18", 0),  # Reception
        ("2021-09-01", "2025-10-18", None),  # 4 on the move date, but nursery this year
        ("2010-01-01", "2025-10-18", 11),
        ("2009-01-01", "2025-10-18", None),  # past Year 11
        ("2015-06-15", "2025-08-20", 6),  # August: the year starting in September
        ("2015-06-15", "2025-07-20", 5),
    ],
)
def test_year_group(born: str, moving: str, year: int | None) -> None:
    assert year_group(date.fromisoformat(born), date.fromisoformat(moving)) == year


async def test_catchment_schools_are_shown_before_confirmation_and_nothing_is_recorded(
    service: SchoolActivities, store: SchoolStore
) -> None:
    before = await snapshot(store)
    query = {"address": move("within")}
    found = await service.find_catchment(action(service, query, (new_resident(),)))
    assert found.outcome == "done"
    assert found.references["district"] == "AB2"
    assert found.references["primary_school"] == "Fictitious Avenue Primary School"
    assert found.references["secondary_school"] == "Exampletown Academy"
    elsewhere = {"address": move("into", new=address("1 Unknown Way", "AB9 9ZZ"))}
    missing = await service.find_catchment(action(service, elsewhere, (new_resident(),)))
    assert missing.outcome == "no_action"
    assert missing.code == "no_catchment_school"
    assert await snapshot(store) == before


def home(postcode: str = "AB3 5HJ") -> dict[str, Any]:
    """The `address` category outside a move: where the resident lives."""
    return {"address": address("7 Pretend Street", postcode)}


def _shares(service: SchoolActivities, *people: dict[str, Any]) -> ServiceAction:
    """Each of `people`'s data as a resident's own share (a birth: parents and child)."""
    return action_of(
        service,
        [(new_resident(), data) for data in people],
        event_type="lifeevents.birth.registered.v1",
    )


async def test_the_catchment_of_a_home_with_a_childs_reception_dates(
    service: SchoolActivities, store: SchoolStore
) -> None:
    before = await snapshot(store)
    child = {"address": home(), "birth": {"date_of_birth": "2023-05-20"}}
    parent = {"address": home()}
    found = await service.find_catchment(_shares(service, parent, child))
    assert found.outcome == "done"
    assert found.code == "catchment_found"
    assert found.references == {
        "district": "AB3",
        "primary_school": "Pretend Street Primary School",
        "primary_school_code": "SCH-1103",
        "secondary_school": "Made-Up Hill High School",
        "secondary_school_code": "SCH-2102",
        # The September after the fourth birthday; applications close on 15 January before.
        "reception_starts": "2027-09-01",
        "applications_close": "2027-01-15",
    }
    without_birth = await service.find_catchment(_shares(service, parent))
    assert "reception_starts" not in without_birth.references
    assert without_birth.references["primary_school"] == "Pretend Street Primary School"
    assert await snapshot(store) == before


@pytest.mark.parametrize(
    ("query", "code", "references"),
    [
        (
            {"address": home("CD4 1AA")},
            "outside_the_area",
            {"council": "Caddenham District Council"},
        ),
        (
            {"address": move("out_of", new=address("9 Elsewhere Row", "JK2 7XY"))},
            "outside_the_area",
            {"council": "Jexford City Council"},
        ),
        (
            {"address": home("EF1 2BD"), "birth": {"date_of_birth": "2023-05-20"}},
            "outside_the_area",
            {"council": "Efferby Borough Council"},
        ),
        # Neither a catchment here nor another council known.
        ({"address": home("AB9 9ZZ")}, "no_catchment_school", {}),
        ({"address": move("out_of", new=None)}, "no_catchment_school", {}),
    ],
    ids=["home", "move", "home_with_birth", "unknown", "out_of_unknown"],
)
async def test_an_address_in_another_councils_area_names_that_council(
    service: SchoolActivities,
    store: SchoolStore,
    query: dict[str, Any],
    code: str,
    references: dict[str, str],
) -> None:
    found = await service.find_catchment(_shares(service, query))
    assert (found.outcome, found.code, found.references) == ("no_action", code, references)


@pytest.mark.parametrize(
    ("people", "code"),
    [
        (
            [
                {"address": home(), "birth": {"date_of_birth": "2023-05-20"}},
                {"address": home(), "birth": {"date_of_birth": "2024-01-02"}},
            ],
            "invalid_data:child_repeated",
        ),
        ([{"address": home()}, {"address": home("AB1 3DE")}], "invalid_data:residents_disagree"),
        ([{"address": home(), "identity": PERSON}], "invalid_data:<extra>"),
        ([{"address": home("AB3")}], "invalid_data:address.home.address.postcode"),
        (
            [{"address": {**move("within"), "move_date": "soon"}}],
            "invalid_data:address.move.move_date",
        ),
    ],
    ids=["two_children", "two_homes", "extra", "bad_postcode", "bad_move"],
)
async def test_a_catchment_query_that_is_not_one_place_is_refused_as_invalid(
    service: SchoolActivities, people: list[dict[str, Any]], code: str
) -> None:
    with pytest.raises(ApplicationError) as refused:
        await service.find_catchment(_shares(service, *people))
    assert refused.value.type == "ShareDataInvalid"
    assert refused.value.message == code


@pytest.mark.parametrize("direction", ["into", "within"])
async def test_one_application_per_child_of_school_age_at_the_catchment_school(
    service: SchoolActivities, store: SchoolStore, direction: str
) -> None:
    people = tuple(new_resident() for _ in range(4))
    outcome = await service.offer_in_year_admission(
        action(service, data(direction, age(45), "2015-06-15", "2013-03-01", age(2)), people)
    )
    assert outcome.outcome == "done"
    assert outcome.code == "application_recorded"
    refs = outcome.references
    assert refs["applications"] == "2"
    assert (refs["school_1"], refs["year_group_1"]) == (
        "Fictitious Avenue Primary School",
        "Year 6",
    )
    assert (refs["school_2"], refs["year_group_2"]) == ("Exampletown Academy", "Year 8")
    applications = await store.all_applications()
    assert [(a.resident, a.school, a.status) for a in applications] == [
        (people[1], "SCH-1102", "received"),
        (people[2], "SCH-2101", "received"),
    ]
    assert {a.reference for a in applications} == {refs["application_1"], refs["application_2"]}


async def test_no_catchment_school_known_leaves_it_to_the_admissions_team(
    service: SchoolActivities, store: SchoolStore
) -> None:
    outcome = await service.offer_in_year_admission(
        action(
            service,
            data("into", "2015-06-15", new=address("1 Unknown Way", "AB9 9ZZ")),
            (new_resident(),),
        )
    )
    assert outcome.references["school_1"] == "to be allocated"
    [application] = await store.all_applications()
    assert application.school is None
    assert application.status == "awaiting_allocation"


@pytest.mark.parametrize(
    ("direction", "born", "code"),
    [
        ("within", age(40), "no_school_age_child"),
        ("within", None, "no_school_age_child"),
        ("out_of", "2015-06-15", "not_moving_into_the_area"),
    ],
)
async def test_nothing_to_apply_for_is_no_action(
    service: SchoolActivities, store: SchoolStore, direction: str, born: str | None, code: str
) -> None:
    outcome = await service.offer_in_year_admission(
        action(service, data(direction, born), (new_resident(),))
    )
    assert outcome.outcome == "no_action"
    assert outcome.code == code
    assert await store.all_applications() == []


async def test_the_same_step_twice_applies_once_and_answers_the_same(
    service: SchoolActivities, store: SchoolStore
) -> None:
    first_action = action(service, data("within", "2015-06-15"), (new_resident(),))
    first = await service.offer_in_year_admission(first_action)
    after = await snapshot(store)
    assert await service.offer_in_year_admission(first_action) == first
    assert await snapshot(store) == after
    assert len(await store.all_applications()) == 1


@pytest.mark.parametrize(("problem", "spoil"), REFUSALS, ids=[p for p, _ in REFUSALS])
async def test_a_bad_token_is_refused_and_nothing_changes(
    service: SchoolActivities, store: SchoolStore, problem: str, spoil: Refusal
) -> None:
    good = action(service, data("within", "2015-06-15"), (new_resident(),))
    await assert_refused_untouched(
        service.offer_in_year_admission, spoil(service, good), problem, store
    )
    query = action(service, {"address": move("within")}, (new_resident(),))
    await assert_refused_untouched(service.find_catchment, spoil(service, query), problem, store)
