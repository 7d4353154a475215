"""Undoing a council registers step (a life event withdrawn as entered in error): after each
register's step on a death (badge, library membership, parking permit passed on, assisted
collection), and after a birth's junior library card, the seeded registers are exactly as
they were before the step; a retry of the step does not do it again."""

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
    COLLECTION,
    IDS,
    PARKING,
    Register,
    _seeded,
    activity_of,
    death,
    survivor_data,
)
from tests.support.undo import assert_undone_exactly, dump


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
