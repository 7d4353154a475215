"""council_tax.record_move: the effect in the council tax store for each direction of move,
idempotency, and refusal of any token that is not good for exactly this data. Runs on
SQLite and on PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest
from temporalio.exceptions import ApplicationError

from services.counciltax.activities import CouncilTaxActivities
from services.counciltax.store import CouncilTaxStore
from tests.support.council import (
    OLD,
    REFUSALS,
    Refusal,
    action,
    address,
    assert_refused_untouched,
    move,
    new_resident,
    per_resident,
    share,
    snapshot,
)

PAT = {"name": {"given_names": "Pat", "family_name": "Placeholder"}, "date_of_birth": "1980-01-31"}
ROBIN = {"name": {"given_names": "Robin", "family_name": "Placeholder"}}


def data(
    direction: str = "within", members: list[dict[str, Any]] | None = None, **kw: Any
) -> dict[str, Any]:
    members = members or [{"age": 45}, {"age": 10}]
    identity = [PAT, ROBIN][: len(members)] if len(members) <= 2 else [PAT] * len(members)
    return {
        "identity": identity,
        "address": move(direction, **kw),
        "household": {"members": members, "other_adults": 0},
    }


def residents(n: int = 2) -> tuple[str, ...]:
    return tuple(new_resident() for _ in range(n))


async def test_within_closes_the_old_account_and_opens_one_with_single_person_discount(
    service: CouncilTaxActivities, store: CouncilTaxStore
) -> None:
    earlier = await service.record_move(action(service, data("into", new=OLD), residents()))
    movers = residents()

    outcome = await service.record_move(
        action(service, data("within", new=address("1 Other Way", "AB4 1AA")), movers)
    )

    assert outcome.outcome == "done"
    assert outcome.code == "account_closed_and_opened"
    refs = outcome.references
    assert refs["closed_account"] == earlier.references["account"]
    assert refs["final_bill_date"] == "2025-10-18"
    assert refs["liability_start"] == "2025-10-18"
    assert refs["single_person_discount"] == "25%"
    assert refs["adults"] == "1"
    accounts = {a.reference: a for a in await store.all_accounts()}
    closed, opened = accounts[refs["closed_account"]], accounts[refs["account"]]
    assert closed.closed_on is not None
    assert closed.closed_on.isoformat() == "2025-10-18"
    assert opened.closed_on is None
    assert opened.opened_on is not None
    assert opened.discount_percent == 25
    assert opened.liable == (movers[0],)  # the child is not liable


async def test_two_adults_get_no_discount_and_unknown_ages_count_as_adults(
    service: CouncilTaxActivities,
) -> None:
    two = await service.record_move(
        action(service, data("into", [{"age": 40}, {"adult": True}]), residents())
    )
    unknown = await service.record_move(
        action(
            service,
            data("into", [{"age": 40}, {}], new=address("2 Else Row", "AB5 2BB")),
            residents(),
        )
    )
    for outcome in (two, unknown):
        assert outcome.references["single_person_discount"] == "none"
        assert outcome.references["adults"] == "2"


async def test_other_adults_at_the_new_address_count_and_the_movers_join_their_account(
    service: CouncilTaxActivities, store: CouncilTaxStore
) -> None:
    there = await service.record_move(action(service, data("into", [{"age": 50}]), residents(1)))
    assert there.references["single_person_discount"] == "25%"
    joining = data("into", [{"age": 30}])
    joining["household"]["other_adults"] = 1
    movers = residents(1)

    outcome = await service.record_move(action(service, joining, movers))

    assert outcome.code == "account_joined"
    assert outcome.references["account"] == there.references["account"]
    assert outcome.references["single_person_discount"] == "none"
    [account] = await store.all_accounts()
    assert account.discount_percent == 0
    assert account.adults == 2
    assert movers[0] in account.liable


async def test_a_lone_adult_joining_two_adults_gets_no_discount_and_the_account_counts_three(
    service: CouncilTaxActivities, store: CouncilTaxStore
) -> None:
    couple = residents(2)
    there = await service.record_move(
        action(service, data("into", [{"age": 50}, {"age": 48}]), couple)
    )
    assert there.references["adults"] == "2"
    joining = data("into", [{"age": 30}])
    # The index tells the workflow who already lives there: the two adults.
    joining["household"]["other_adults"] = 2
    lodger = residents(1)

    outcome = await service.record_move(action(service, joining, lodger))

    assert outcome.code == "account_joined"
    assert outcome.references["single_person_discount"] == "none"
    assert outcome.references["adults"] == "3"
    [account] = await store.all_accounts()
    assert account.adults == 3
    assert account.discount_percent == 0
    assert set(account.liable) == {*couple, *lodger}


async def test_adults_the_account_counts_are_added_to_even_when_the_index_knows_fewer(
    service: CouncilTaxActivities, store: CouncilTaxStore
) -> None:
    await service.record_move(
        action(service, data("into", [{"age": 50}, {"age": 48}]), residents(2))
    )
    joining = data("into", [{"age": 30}])  # the index knew of no one living there

    outcome = await service.record_move(action(service, joining, residents(1)))

    assert outcome.references["adults"] == "3"
    [account] = await store.all_accounts()
    assert account.adults == 3


async def test_into_the_area_opens_only(
    service: CouncilTaxActivities, store: CouncilTaxStore
) -> None:
    outcome = await service.record_move(action(service, data("into"), residents()))
    assert outcome.code == "account_opened"
    assert "closed_account" not in outcome.references
    [account] = await store.all_accounts()
    assert account.reference == outcome.references["account"]
    assert account.closed_on is None


@pytest.mark.parametrize(
    ("new", "council"),
    [
        (address("7 Far Lane", "EF3 9ZZ"), "Efferby Borough Council"),
        (address("8 Away Street", "ZE1 0AA"), "unknown"),
        (None, "unknown"),
    ],
)
async def test_out_of_the_area_closes_only_and_names_the_council_to_contact(
    service: CouncilTaxActivities, store: CouncilTaxStore, new: dict[str, Any] | None, council: str
) -> None:
    outcome = await service.record_move(action(service, data("out_of", new=new), residents()))
    assert outcome.code == "account_closed"
    assert outcome.references["contact_council"] == council
    assert outcome.references["final_bill_date"] == "2025-10-18"
    assert "account" not in outcome.references
    [account] = await store.all_accounts()  # nothing was open: the end of liability is recorded
    assert account.closed_on is not None
    assert account.opened_on is None


async def test_the_same_step_twice_changes_once_and_answers_the_same(
    service: CouncilTaxActivities, store: CouncilTaxStore
) -> None:
    first_action = action(service, data("within"), residents())
    first = await service.record_move(first_action)
    after_first = await snapshot(store)

    again = await service.record_move(first_action)
    # A retry may come with a new token for the same data: still the first outcome.
    renewed = first_action.model_copy(
        update={"shares": tuple(share(service, s.resident, s.data) for s in first_action.shares)}
    )
    third = await service.record_move(renewed)

    assert again == first == third
    assert await snapshot(store) == after_first
    assert len(await store.all_accounts()) == 2


@pytest.mark.parametrize(("problem", "spoil"), REFUSALS, ids=[p for p, _ in REFUSALS])
async def test_a_bad_token_is_refused_and_nothing_changes(
    service: CouncilTaxActivities, store: CouncilTaxStore, problem: str, spoil: Refusal
) -> None:
    good = action(service, data("within"), residents())
    await assert_refused_untouched(service.record_move, spoil(service, good), problem, store)


async def test_a_repeat_needs_a_genuine_token_too(
    service: CouncilTaxActivities, store: CouncilTaxStore
) -> None:
    good = action(service, data("within"), residents())
    await service.record_move(good)
    for problem, spoil in REFUSALS:
        if problem == "expired":
            continue  # a retry after the token expired returns the first outcome
        await assert_refused_untouched(service.record_move, spoil(service, good), problem, store)


async def test_data_of_the_wrong_shape_is_refused_without_a_change(
    service: CouncilTaxActivities, store: CouncilTaxStore
) -> None:
    wrong = data("within")
    wrong["household"] = {"members": [{"age": -1}, {"age": 10}]}
    before = await snapshot(store)
    with pytest.raises(ApplicationError) as refused:
        await service.record_move(action(service, wrong, residents()))
    assert refused.value.type == "ShareDataInvalid"
    assert refused.value.message == "invalid_data:household.age"
    # Two residents whose shares describe different moves are not one household's move.
    one, other = residents(2)
    disagreeing = action(service, data("within"), (one, other))
    elsewhere = per_resident(data("within", new=address("9 Else Row", "AB9 9ZZ")), 2)[1]
    disagreeing = disagreeing.model_copy(
        update={"shares": (disagreeing.shares[0], share(service, other, elsewhere))}
    )
    with pytest.raises(ApplicationError, match="residents_disagree"):
        await service.record_move(disagreeing)
    assert await snapshot(store) == before


async def test_an_unexpected_key_is_not_quoted_in_the_refusal(
    service: CouncilTaxActivities,
) -> None:
    odd = data("within")
    odd["household"] = {
        "members": [{"age": 40, "Ysolde Carrowmore": 1}, {"age": 10}],
        "other_adults": 0,
    }
    with pytest.raises(ApplicationError) as refused:
        await service.record_move(action(service, odd, residents()))
    assert refused.value.message == "invalid_data:household.<extra>"
