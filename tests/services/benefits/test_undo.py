"""Undoing a benefits step (a life event withdrawn as entered in error): after a death that
ended the deceased's claims and opened reviews, and after a move that recorded a change on
each claim, the store of seeded claims is exactly as it was before the step; a retry of the
step does not do it again."""

from __future__ import annotations

from services.benefits.activities import BenefitActivities
from services.benefits.store import BenefitStore
from services.common.council import ActionKey
from tests.services.benefits.test_change_of_circumstances import CLAIMANT, data
from tests.services.benefits.test_record_death import claims, deceased, survivor
from tests.support.council import action, action_of, new_resident
from tests.support.undo import assert_undone_exactly, dump


async def test_undoing_a_death_puts_the_claims_back_exactly(
    service: BenefitActivities, store: BenefitStore
) -> None:
    dead, spouse, son = new_resident(), new_resident(), new_resident()
    await claims(
        store,
        ("HB-TEST0000U1", dead, "housing_benefit"),
        ("CTR-TEST000U1", dead, "council_tax_reduction"),
        ("CTR-TEST000U2", spouse, "council_tax_reduction"),
    )
    await service.record_change_of_circumstances(action(service, data("within", 1), (CLAIMANT,)))
    before = await dump(store)
    death = action_of(
        service,
        [(dead, deceased()), (spouse, survivor(80, 1)), (son, survivor(None, 1))],
        deceased={dead},
    )
    outcome = await service.record_death(death)
    assert outcome.code == "claims_ended"

    await assert_undone_exactly(store, ActionKey(death.workflow_id, death.step), before)

    assert await service.record_death(death) == outcome
    assert await dump(store) == before


async def test_undoing_a_move_puts_the_changes_back_exactly(
    service: BenefitActivities, store: BenefitStore
) -> None:
    await service.record_change_of_circumstances(action(service, data("into", 1), (CLAIMANT,)))
    before = await dump(store)
    moving = action(service, data("out_of", 2), (new_resident(), CLAIMANT))
    outcome = await service.record_change_of_circumstances(moving)
    assert outcome.code == "change_recorded"

    await assert_undone_exactly(store, ActionKey(moving.workflow_id, moving.step), before)

    assert await service.record_change_of_circumstances(moving) == outcome
    assert await dump(store) == before
