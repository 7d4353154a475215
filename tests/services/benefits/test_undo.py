"""Undoing a benefits step (a life event withdrawn as entered in error): after a death that
ended the deceased's claims and opened reviews, and after a move that recorded a change on
each claim, the store of seeded claims is exactly as it was before the step; a retry of the
step does not do it again. The compensation a withdrawal asks for (`benefits.undo`) restores
the claims alike; a step that recorded nothing has nothing to undo."""

from __future__ import annotations

from contracts.actions import ActionOutcome
from services.benefits.activities import BenefitActivities
from services.benefits.store import BenefitStore
from services.common.council import ActionKey
from tests.services.benefits.test_change_of_circumstances import CLAIMANT, data
from tests.services.benefits.test_record_death import claims, deceased, survivor
from tests.support.council import action, action_of, new_resident
from tests.support.undo import assert_reversed_exactly, assert_undone_exactly, dump, reversal


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


async def test_the_compensation_of_a_death_restores_the_claims_and_withdraws_the_reviews(
    service: BenefitActivities, store: BenefitStore
) -> None:
    dead, spouse = new_resident(), new_resident()
    await claims(
        store,
        ("HB-TEST0000U1", dead, "housing_benefit"),
        ("CTR-TEST000U2", spouse, "council_tax_reduction"),
    )
    before = await dump(store)
    death = action_of(service, [(dead, deceased()), (spouse, survivor(80, 1))], deceased={dead})
    assert (await service.record_death(death)).code == "claims_ended"

    await assert_reversed_exactly(
        service.undo, store, reversal(service, death, deceased=True), before
    )


async def test_the_compensation_of_a_move_without_a_claim_has_nothing_to_undo(
    service: BenefitActivities, store: BenefitStore
) -> None:
    moving = action(service, data("within", 1), (new_resident(),))
    assert (await service.record_change_of_circumstances(moving)).code == "no_claim"
    before = await dump(store)

    outcome = await service.undo(reversal(service, moving))

    assert outcome == ActionOutcome(outcome="no_action", code="nothing_to_undo")
    assert await dump(store) == before
