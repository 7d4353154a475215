"""Undoing an electoral services step (a life event withdrawn as entered in error): after a
move that removed and invited several movers, and after a death that marked an entry removed,
the store is exactly as it was before the step; a retry of the step does not do it again.
The compensation a withdrawal asks for (`electoral.undo`) reinstates and withdraws alike."""

from __future__ import annotations

from services.common.council import ActionKey
from services.electoral.activities import ElectoralActivities
from services.electoral.store import ElectoralStore
from tests.services.electoral.test_record_death import deceased, registered
from tests.services.electoral.test_record_move import data
from tests.support.council import action, action_of, new_resident
from tests.support.undo import assert_reversed_exactly, assert_undone_exactly, dump, reversal


async def test_undoing_a_move_puts_the_removals_and_invitations_back_exactly(
    service: ElectoralActivities, store: ElectoralStore
) -> None:
    await registered(store, ("EL-TEST0000U1", new_resident()))
    await service.record_move(action(service, data("within", 40), (new_resident(),)))
    before = await dump(store)
    movers = tuple(new_resident() for _ in range(4))
    moving = action(service, data("within", 45, 16, 15, None), movers)
    outcome = await service.record_move(moving)
    assert outcome.code == "removed_and_invited"

    await assert_undone_exactly(store, ActionKey(moving.workflow_id, moving.step), before)

    assert await service.record_move(moving) == outcome
    assert await dump(store) == before


async def test_undoing_a_death_puts_the_register_back_exactly(
    service: ElectoralActivities, store: ElectoralStore
) -> None:
    dead, spouse = new_resident(), new_resident()
    await registered(store, ("EL-TEST0000U2", dead), ("EL-TEST0000U3", spouse))
    before = await dump(store)
    death = action_of(service, [(dead, deceased())], deceased={dead})
    outcome = await service.record_death(death)
    assert outcome.code == "entry_removed"

    await assert_undone_exactly(store, ActionKey(death.workflow_id, death.step), before)

    assert await service.record_death(death) == outcome
    assert await dump(store) == before


async def test_the_compensation_of_a_move_reinstates_the_entries_and_withdraws_the_invitations(
    service: ElectoralActivities, store: ElectoralStore
) -> None:
    await registered(store, ("EL-TEST0000U1", new_resident()))
    before = await dump(store)
    moving = action(
        service, data("within", 45, 16, 15, None), tuple(new_resident() for _ in range(4))
    )
    assert (await service.record_move(moving)).code == "removed_and_invited"

    await assert_reversed_exactly(service.undo, store, reversal(service, moving), before)


async def test_the_compensation_of_a_death_reinstates_the_deceaseds_entry(
    service: ElectoralActivities, store: ElectoralStore
) -> None:
    dead = new_resident()
    await registered(store, ("EL-TEST0000U2", dead))
    before = await dump(store)
    death = action_of(service, [(dead, deceased())], deceased={dead})
    assert (await service.record_death(death)).code == "entry_removed"

    await assert_reversed_exactly(
        service.undo, store, reversal(service, death, deceased=True), before
    )
