"""Undoing a school admissions step (a life event withdrawn as entered in error): after an
in-year admission for two children, and after a birth's early-years listing and its funded
offer, the store is exactly as it was before the step; a retry of the step does not do it
again. The compensation a withdrawal asks for (`schools.undo`) withdraws alike, its tokens
for the purpose of the step it undoes (admissions or early years)."""

from __future__ import annotations

from services.common.council import ActionKey
from services.schools.activities import SchoolActivities
from services.schools.store import SchoolStore
from tests.services.schools.test_admissions import data
from tests.services.schools.test_early_years import EARLY_YEARS, birth, on
from tests.support.council import action, age, new_resident
from tests.support.undo import assert_reversed_exactly, assert_undone_exactly, dump, reversal


async def test_undoing_an_admission_puts_the_applications_back_exactly(
    service: SchoolActivities, store: SchoolStore
) -> None:
    await service.offer_in_year_admission(
        action(service, data("within", "2016-02-01"), (new_resident(),))
    )
    before = await dump(store)
    people = tuple(new_resident() for _ in range(4))
    moving = action(service, data("into", age(45), "2015-06-15", "2013-03-01", age(2)), people)
    outcome = await service.offer_in_year_admission(moving)
    assert outcome.code == "application_recorded"

    await assert_undone_exactly(store, ActionKey(moving.workflow_id, moving.step), before)

    assert await service.offer_in_year_admission(moving) == outcome
    assert await dump(store) == before


async def test_undoing_a_birth_takes_the_early_years_listing_and_offer_back(
    service: SchoolActivities, store: SchoolStore
) -> None:
    await service.offer_in_year_admission(
        action(service, data("within", "2016-02-01"), (new_resident(),))
    )
    before = await dump(store)
    listed = birth(step="early-years")
    assert (await service.record_early_years(listed)).code == "registered"
    after_listing = await dump(store)
    offered = birth(step="two")
    outcome = await on("2025-09-01").run(service.offer_early_education, offered)
    assert outcome.code == "offer_made"

    # Each step undone on its own, the last first.
    await assert_undone_exactly(store, ActionKey(offered.workflow_id, offered.step), after_listing)
    await assert_undone_exactly(store, ActionKey(listed.workflow_id, listed.step), before)

    assert await on("2025-09-01").run(service.offer_early_education, offered) == outcome
    assert await dump(store) == before


async def test_the_compensation_of_an_admission_withdraws_the_applications(
    service: SchoolActivities, store: SchoolStore
) -> None:
    before = await dump(store)
    people = tuple(new_resident() for _ in range(3))
    moving = action(service, data("into", age(45), "2015-06-15", "2013-03-01"), people)
    assert (await service.offer_in_year_admission(moving)).code == "application_recorded"

    await assert_reversed_exactly(service.undo, store, reversal(service, moving), before)


async def test_the_compensation_of_an_early_years_listing_takes_the_child_off_the_list(
    service: SchoolActivities, store: SchoolStore
) -> None:
    before = await dump(store)
    listed = birth(step="early-years")
    assert (await service.record_early_years(listed)).code == "registered"
    compensation = reversal(service, listed, purpose=EARLY_YEARS.purpose)

    await assert_reversed_exactly(service.undo, store, compensation, before)
