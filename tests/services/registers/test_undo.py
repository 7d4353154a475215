"""Undoing a council registers step (a life event withdrawn as entered in error): after each
register's step on a death (badge, library membership, parking permit passed on, assisted
collection), and after a birth's junior library card, the seeded registers are exactly as
they were before the step; a retry of the step does not do it again. The compensation a
withdrawal asks for (`registers.undo`) reinstates alike, its tokens for the purpose of the
register whose step it undoes (the service acts for several), and for no other."""

from __future__ import annotations

import pytest

from services.common.council import ActionKey
from services.registers.activities import RegistersActivities
from services.registers.store import RegistersStore
from tests.services.registers.test_library_card import birth
from tests.services.registers.test_registers import (
    ADULT_A,
    ADULT_B,
    ALL,
    BLUE_BADGE,
    COLLECTION,
    IDS,
    LIBRARY,
    PARKING,
    Register,
    _seeded,
    activity_of,
    death,
    survivor_data,
)
from tests.support.undo import (
    assert_reversal_refused_untouched,
    assert_reversed_exactly,
    assert_undone_exactly,
    dump,
    reversal,
)


@pytest.mark.parametrize("register", ALL, ids=IDS)
async def test_undoing_a_death_puts_the_register_back_exactly(
    service: RegistersActivities, store: RegistersStore, register: Register
) -> None:
    await _seeded(store)
    before = await dump(store)
    perform = activity_of(service, register)
    # Only the parking permit and the collection look at who is left.
    step = death(register)
    if register in (PARKING, COLLECTION):
        step = death(register, (ADULT_B, survivor_data(age=50)), (ADULT_A, survivor_data(age=79)))
    outcome = await perform(step)
    assert outcome.outcome == "done"

    await assert_undone_exactly(store, ActionKey(step.workflow_id, step.step), before)

    assert await perform(step) == outcome
    assert await dump(store) == before


async def test_undoing_a_birth_takes_the_junior_card_back(
    service: RegistersActivities, store: RegistersStore
) -> None:
    await _seeded(store)
    before = await dump(store)
    born = birth()
    outcome = await service.issue_library_card(born)
    assert outcome.code == "card_issued"

    await assert_undone_exactly(store, ActionKey(born.workflow_id, born.step), before)

    assert await service.issue_library_card(born) == outcome
    assert await dump(store) == before


@pytest.mark.parametrize("register", ALL, ids=IDS)
async def test_the_compensation_of_a_death_reinstates_the_register_for_its_own_purpose(
    service: RegistersActivities, store: RegistersStore, register: Register
) -> None:
    await _seeded(store)
    before = await dump(store)
    step = death(register)
    if register in (PARKING, COLLECTION):
        step = death(register, (ADULT_B, survivor_data(age=50)), (ADULT_A, survivor_data(age=79)))
    assert (await activity_of(service, register)(step)).outcome == "done"
    compensation = reversal(service, step, purpose=register.purpose, deceased=True)

    await assert_reversed_exactly(service.undo, store, compensation, before)


async def test_the_compensation_of_a_birth_cancels_the_junior_card(
    service: RegistersActivities, store: RegistersStore
) -> None:
    await _seeded(store)
    before = await dump(store)
    born = birth()
    assert (await service.issue_library_card(born)).code == "card_issued"
    compensation = reversal(service, born, purpose=LIBRARY.purpose)

    await assert_reversed_exactly(service.undo, store, compensation, before)


async def test_a_compensation_for_a_purpose_the_registers_do_not_act_for_is_refused(
    service: RegistersActivities, store: RegistersStore
) -> None:
    await _seeded(store)
    step = death(BLUE_BADGE)
    await service.end_blue_badge(step)
    spoilt = reversal(service, step, purpose="council-tax-liability", deceased=True)

    await assert_reversal_refused_untouched(
        service.undo, spoilt, "ShareRefused", "wrong_purpose", store
    )
