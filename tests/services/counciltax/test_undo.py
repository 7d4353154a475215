"""Undoing a council tax step (a life event withdrawn as entered in error): after a death that
passed the account to the estate, and after a move that closed one account and opened
another, the store is exactly as it was before the step; a retry of the step does not do it
again; a step whose rows a later step changed is refused whole until that one is undone.
The compensation a withdrawal asks for (`council_tax.undo`) does the same after verifying
its tokens, answers in codes, and refuses a bad token whole. Runs on SQLite and on
PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import structlog

from contracts.actions import ActionOutcome
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
from tests.support.council import OLD, action, action_of, address, new_resident, snapshot
from tests.support.undo import (
    REVERSAL_REFUSALS,
    Spoil,
    assert_reversal_refused_untouched,
    assert_reversed_exactly,
    assert_undone_exactly,
    dump,
    reversal,
)

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


# --- the compensation, as a withdrawal asks for it (council_tax.undo) -------------------------


async def test_the_compensation_of_a_move_reopens_the_account_and_takes_the_movers_off(
    service: CouncilTaxActivities, store: CouncilTaxStore
) -> None:
    await service.record_move(action(service, data("into", new=OLD), residents()))
    before = await dump(store)
    moving = action(service, data("within", new=address("1 Other Way", "AB4 1AA")), residents())
    assert (await service.record_move(moving)).code == "account_closed_and_opened"

    with structlog.testing.capture_logs() as logs:
        await assert_reversed_exactly(service.undo, store, reversal(service, moving), before)

    reversed_lines = [line for line in logs if line["event"] == "council.action.reversed"]
    assert [line["code"] for line in reversed_lines] == ["undone", "already_undone"]
    assert set(reversed_lines[0]) == {
        "event",
        "log_level",
        "service",
        "workflow_id",
        "step",
        "event_id",
        "residents",
        "outcome",
        "code",
    }


async def test_the_compensation_of_a_death_is_allowed_for_the_deceased_and_ends_the_estate(
    service: CouncilTaxActivities, store: CouncilTaxStore
) -> None:
    dead, executor = new_resident(), new_resident()
    assert await seed_account(store, [(dead, ALBERT)], UkAddress.model_validate(LAST)) == 1
    before = await dump(store)
    death = action_of(
        service, [(dead, deceased()), (executor, contact("executor"))], deceased={dead}
    )
    assert (await service.record_death(death)).code == "account_passed_to_estate"
    # The gate knows the resident died, and says so in every token: undoing is allowed all
    # the same (the deceased refusal is for opening something new).
    compensation = reversal(service, death, deceased=True)

    await assert_reversed_exactly(service.undo, store, compensation, before)


async def test_a_compensation_whose_rows_changed_since_is_refused_whole_naming_the_tables(
    service: CouncilTaxActivities, store: CouncilTaxStore
) -> None:
    await service.record_move(action(service, data("into", new=OLD), residents()))
    new_home = address("1 Other Way", "AB4 1AA")
    moving = action(service, data("within", new=new_home), residents())
    await service.record_move(moving)
    assert (
        await service.record_move(action(service, data("into", new=new_home), residents()))
    ).code == "account_joined"
    after_joining = await dump(store)

    outcome = await service.undo(reversal(service, moving))

    assert outcome == ActionOutcome(
        outcome="no_action", code="changed_since", references={"tables": "ctax_accounts"}
    )
    assert await dump(store) == after_joining
    # Asked again, the same answer: nothing was marked undone.
    assert await service.undo(reversal(service, moving)) == outcome


async def test_a_step_that_wrote_nothing_or_was_never_done_has_nothing_to_undo(
    service: CouncilTaxActivities, store: CouncilTaxStore
) -> None:
    dead = new_resident()
    nothing_there = action_of(service, [(dead, deceased())], deceased={dead})
    assert (await service.record_death(nothing_there)).code == "no_account"
    never_done = action(service, data("into", new=OLD), residents())
    before = await snapshot(store)

    for step in (nothing_there, never_done):
        assert await service.undo(reversal(service, step, deceased=True)) == ActionOutcome(
            outcome="no_action", code="nothing_to_undo"
        )
    assert await snapshot(store) == before


@pytest.mark.parametrize(
    ("kind", "problem", "spoil"), REVERSAL_REFUSALS, ids=[p for _, p, _ in REVERSAL_REFUSALS]
)
async def test_a_compensation_with_a_bad_token_or_data_is_refused_and_changes_nothing(
    service: CouncilTaxActivities,
    store: CouncilTaxStore,
    kind: str,
    problem: str,
    spoil: Spoil,
) -> None:
    moving = action(service, data("into", new=OLD), residents())
    await service.record_move(moving)

    await assert_reversal_refused_untouched(
        service.undo, spoil(service, reversal(service, moving)), kind, problem, store
    )


async def test_a_repeat_of_an_undone_step_is_answered_after_its_tokens_expired(
    service: CouncilTaxActivities, store: CouncilTaxStore
) -> None:
    """A retried activity of an undo that committed: its tokens may have expired since."""
    moving = action(service, data("into", new=OLD), residents())
    await service.record_move(moving)
    issued = datetime.now(UTC) - timedelta(minutes=4, seconds=59)
    compensation = reversal(service, moving, now=issued)
    assert (await service.undo(compensation)).code == "undone"
    expired = reversal(service, moving, now=datetime.now(UTC) - timedelta(minutes=6))

    assert await service.undo(expired) == ActionOutcome(outcome="no_action", code="already_undone")
