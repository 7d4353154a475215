"""Undoing a council tax step (a life event withdrawn as entered in error): after a death that
passed the account to the estate, and after a move that closed one account and opened
another, the store is exactly as it was before the step; a retry of the step does not do it
again; a step whose rows a later step changed is refused whole until that one is undone.
Runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import structlog

from contracts.addresses import UkAddress
from contracts.people import PersonName
from services.common.council import ActionKey
from services.common.journal import Undone
from services.counciltax.activities import CouncilTaxActivities
from services.counciltax.seed import seed_account
from services.counciltax.store import CouncilTaxStore
from tests.services.counciltax.test_record_death import (
    ELSEWHERE,
    LAST,
    account_at,
    contact,
    deceased,
)
from tests.services.counciltax.test_record_move import data, residents
from tests.support.council import OLD, action, action_of, address, new_resident
from tests.support.undo import assert_undone_exactly, dump

ALBERT = PersonName(given_names="Imaginary Albert", family_name="Testworth")


async def test_undoing_a_death_puts_every_account_back_exactly(
    service: CouncilTaxActivities, store: CouncilTaxStore
) -> None:
    dead, executor = new_resident(), new_resident()
    assert await seed_account(store, [(dead, ALBERT)], UkAddress.model_validate(LAST)) == 1
    await account_at(store, "CT-TEST0000U1", [new_resident()], 1, ELSEWHERE)
    before = await dump(store)
    death = action_of(
        service, [(dead, deceased()), (executor, contact("executor"))], deceased={dead}
    )
    outcome = await service.record_death(death)
    assert outcome.code == "account_passed_to_estate"

    await assert_undone_exactly(store, ActionKey(death.workflow_id, death.step), before)

    assert await service.record_death(death) == outcome
    assert await dump(store) == before


async def test_undoing_a_move_puts_every_account_back_exactly(
    service: CouncilTaxActivities, store: CouncilTaxStore
) -> None:
    await service.record_move(action(service, data("into", new=OLD), residents()))
    before = await dump(store)
    moving = action(service, data("within", new=address("1 Other Way", "AB4 1AA")), residents())
    outcome = await service.record_move(moving)
    assert outcome.code == "account_closed_and_opened"

    await assert_undone_exactly(store, ActionKey(moving.workflow_id, moving.step), before)

    assert await service.record_move(moving) == outcome
    assert await dump(store) == before


async def test_a_step_whose_rows_a_later_step_changed_is_not_undone_until_that_one_is(
    service: CouncilTaxActivities, store: CouncilTaxStore
) -> None:
    await service.record_move(action(service, data("into", new=OLD), residents()))
    before = await dump(store)
    new_home = address("1 Other Way", "AB4 1AA")
    moving = action(service, data("within", new=new_home), residents())
    await service.record_move(moving)
    after_moving = await dump(store)
    # Others join the account the move opened: its row is no longer what the move left.
    joining = action(service, data("into", new=new_home), residents())
    assert (await service.record_move(joining)).code == "account_joined"
    after_joining = await dump(store)
    first = ActionKey(moving.workflow_id, moving.step)

    with structlog.testing.capture_logs() as logs:
        refused = await store.undo(first)

    assert refused == Undone(restored=0, conflicts=("ctax_accounts",))
    assert await dump(store) == after_joining
    assert logs == [
        {
            "event": "council.action.undone",
            "log_level": "info",
            "store": "ctax",
            "workflow_id": moving.workflow_id,
            "step": moving.step,
            "restored": 0,
            "conflicts": ["ctax_accounts"],
            "already_undone": False,
        }
    ]
    assert (await store.undo(ActionKey(joining.workflow_id, joining.step))).restored > 0
    assert await dump(store) == after_moving
    await assert_undone_exactly(store, first, before)
