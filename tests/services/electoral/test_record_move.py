"""electoral.record_move: removal at the old address, invitation at the new one, for movers
aged 16 or over (or of unknown age); idempotent; refuses any token not good for this data."""

from __future__ import annotations

from typing import Any

import pytest

from services.electoral.activities import ElectoralActivities
from services.electoral.store import ElectoralStore
from tests.support.council import (
    REFUSALS,
    Refusal,
    action,
    age,
    assert_refused_untouched,
    move,
    new_resident,
    snapshot,
)


def person(years: int | None) -> dict[str, Any]:
    found: dict[str, Any] = {"name": {"given_names": "Sam", "family_name": "Example"}}
    if years is not None:
        found["date_of_birth"] = age(years)
    return found


def data(direction: str, *ages: int | None, **kw: Any) -> dict[str, Any]:
    return {"identity": [person(a) for a in ages], "address": move(direction, **kw)}


@pytest.mark.parametrize(
    ("direction", "code", "removals", "invitations"),
    [
        ("within", "removed_and_invited", 3, 3),
        ("into", "invited", 0, 3),
        ("out_of", "removed", 3, 0),
    ],
)
async def test_movers_aged_16_or_over_or_of_unknown_age_are_removed_and_invited(
    service: ElectoralActivities,
    store: ElectoralStore,
    direction: str,
    code: str,
    removals: int,
    invitations: int,
) -> None:
    movers = tuple(new_resident() for _ in range(5))
    outcome = await service.record_move(
        action(service, data(direction, 45, 16, 15, 3, None), movers)
    )
    assert outcome.outcome == "done"
    assert outcome.code == code
    assert await store.counts() == {"removals": removals, "invitations": invitations}
    counted = {movers[0], movers[1], movers[4]}
    if removals:
        assert set(await store.removed()) == counted
        assert outcome.references["removals"] == "3"
    if invitations:
        assert set(await store.invited()) == counted
        assert len(outcome.references["invitation_references"].split(",")) == 3
    assert outcome.references["effective_date"] == "2025-10-18"


async def test_only_children_moving_is_no_action(
    service: ElectoralActivities, store: ElectoralStore
) -> None:
    outcome = await service.record_move(
        action(service, data("within", 15, 2), (new_resident(), new_resident()))
    )
    assert outcome.outcome == "no_action"
    assert outcome.code == "no_eligible_mover"
    assert await store.counts() == {"removals": 0, "invitations": 0}


async def test_the_same_step_twice_changes_once_and_answers_the_same(
    service: ElectoralActivities, store: ElectoralStore
) -> None:
    first_action = action(service, data("within", 40), (new_resident(),))
    first = await service.record_move(first_action)
    after = await snapshot(store)
    assert await service.record_move(first_action) == first
    assert await snapshot(store) == after
    assert await store.counts() == {"removals": 1, "invitations": 1}


@pytest.mark.parametrize(("problem", "spoil"), REFUSALS, ids=[p for p, _ in REFUSALS])
async def test_a_bad_token_is_refused_and_nothing_changes(
    service: ElectoralActivities, store: ElectoralStore, problem: str, spoil: Refusal
) -> None:
    good = action(service, data("within", 40), (new_resident(),))
    await assert_refused_untouched(service.record_move, spoil(service, good), problem, store)
