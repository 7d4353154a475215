"""benefits.find_claims and benefits.record_new_dependant: after a birth, the parents' active
claims are found (recording nothing), and a change of circumstances adds the child to each
from the date of birth, once, whichever workflow asks; `no_claim` otherwise. A token the
gate stamped `deceased` refuses the change; shares that are not one birth are refused as
invalid. Against the service's own SQLite store, seeded with the demo claims."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlalchemy import select
from temporalio.exceptions import ApplicationError

from contracts.actions import ActionOutcome, ServiceAction
from services.benefits.activities import BenefitActivities
from services.benefits.seed import DEMO_CLAIMS
from services.benefits.store import BenefitStore, ChangeRecord, Claim, changes
from tests.support.council import (
    REFUSALS,
    Refusal,
    action_of,
    assert_refused_untouched,
    new_resident,
    snapshot,
)

BORN = "2025-03-10"
CLAIMANT = DEMO_CLAIMS[0].resident  # holds housing benefit and council tax reduction
OTHER_CLAIMANT = DEMO_CLAIMS[2].resident  # holds council tax reduction
CHILD = "res_child0000000000000"


def child_data(other_adults: int = 0) -> dict[str, Any]:
    return {
        "identity": {
            "name": {"given_names": "Fictional Poppy", "family_name": "Sampleworth"},
            "date_of_birth": BORN,
        },
        "birth": {"date_of_birth": BORN},
        "household": {"age": 0, "other_adults": other_adults},
    }


def parent_data(age: int | None = 31, other_adults: int = 0) -> dict[str, Any]:
    return {
        "identity": {"name": {"given_names": "Invented Jo", "family_name": "Sampleworth"}},
        "household": {"age": age, "other_adults": other_adults},
    }


def birth(
    service: BenefitActivities,
    *parents: str,
    other_adults: int = 0,
    deceased: frozenset[str] = frozenset(),
) -> ServiceAction:
    """The child's share, then each parent's."""
    return action_of(
        service,
        [
            (CHILD, child_data(other_adults)),
            *[(parent, parent_data(other_adults=other_adults)) for parent in parents],
        ],
        deceased=deceased,
        event_type="lifeevents.birth.registered.v1",
    )


async def _household(store: BenefitStore) -> list[tuple[str, int, int]]:
    async with store.engine.connect() as conn:
        rows = await conn.execute(
            select(changes.c.claim, changes.c.household_members, changes.c.adults).order_by(
                changes.c.claim
            )
        )
        return [(row.claim, row.household_members, row.adults) for row in rows]


# --- find_claims ------------------------------------------------------------------------------


async def test_the_parents_claims_are_found_and_nothing_is_recorded(
    service: BenefitActivities, store: BenefitStore
) -> None:
    before = await snapshot(store)
    found = await service.find_claims(birth(service, new_resident(), CLAIMANT))
    assert found == ActionOutcome(
        outcome="done",
        code="claims_found",
        references={"claims": "CTR-DEMO00001,HB-DEMO000001"},
    )
    none = await service.find_claims(birth(service, new_resident()))
    assert none == ActionOutcome(outcome="no_action", code="no_claim")
    assert await snapshot(store) == before


async def test_a_claim_held_by_the_child_is_not_a_parents(
    service: BenefitActivities, store: BenefitStore
) -> None:
    # A new-born holds no claim; were one held on the child's key, it is not a parent's.
    await store.add_claims([Claim("HB-CHILD00001", CHILD, "housing_benefit", date(2025, 3, 10))])
    found = await service.find_claims(birth(service, new_resident()))
    assert found.code == "no_claim"


# --- record_new_dependant ---------------------------------------------------------------------


async def test_the_child_is_added_to_each_parents_claim_from_the_date_of_birth(
    service: BenefitActivities, store: BenefitStore
) -> None:
    outcome = await service.record_new_dependant(
        birth(service, CLAIMANT, OTHER_CLAIMANT, other_adults=1)
    )
    assert outcome == ActionOutcome(
        outcome="done",
        code="change_recorded",
        references={
            "claims": "CTR-DEMO00001,CTR-DEMO00002,HB-DEMO000001",
            "effective_from": BORN,
            "reassessment": "award_reassessed",
        },
    )
    born = date(2025, 3, 10)
    assert await store.all_changes() == [
        ChangeRecord("CTR-DEMO00001", "new_dependant", born),
        ChangeRecord("CTR-DEMO00002", "new_dependant", born),
        ChangeRecord("HB-DEMO000001", "new_dependant", born),
    ]
    # Two parents, the child and the adult already living there: four people, three adults.
    assert await _household(store) == [
        ("CTR-DEMO00001", 4, 3),
        ("CTR-DEMO00002", 4, 3),
        ("HB-DEMO000001", 4, 3),
    ]


async def test_no_claim_is_no_action(service: BenefitActivities, store: BenefitStore) -> None:
    outcome = await service.record_new_dependant(birth(service, new_resident(), new_resident()))
    assert outcome == ActionOutcome(outcome="no_action", code="no_claim")
    assert await store.all_changes() == []


async def test_the_same_step_twice_changes_once_and_answers_the_same(
    service: BenefitActivities, store: BenefitStore
) -> None:
    first_action = birth(service, CLAIMANT)
    first = await service.record_new_dependant(first_action)
    after = await snapshot(store)
    assert await service.record_new_dependant(first_action) == first
    assert await snapshot(store) == after


async def test_a_child_another_workflow_added_is_not_added_again(
    service: BenefitActivities, store: BenefitStore
) -> None:
    # The same birth published twice, under two event IDs: two workflows.
    first = await service.record_new_dependant(birth(service, CLAIMANT))
    assert first.code == "change_recorded"
    again = await service.record_new_dependant(birth(service, CLAIMANT))
    assert again == ActionOutcome(
        outcome="no_action",
        code="already_recorded",
        references={"claims": "CTR-DEMO00001,HB-DEMO000001", "effective_from": BORN},
    )
    assert len(await store.all_changes()) == 2


async def test_a_parents_claim_the_child_is_not_on_yet_is_still_changed(
    service: BenefitActivities, store: BenefitStore
) -> None:
    await service.record_new_dependant(birth(service, CLAIMANT))
    # The other parent's data shared this time (they had objected before, say).
    outcome = await service.record_new_dependant(birth(service, CLAIMANT, OTHER_CLAIMANT))
    assert outcome.code == "change_recorded"
    assert outcome.references["claims"] == "CTR-DEMO00002"
    assert len(await store.all_changes()) == 3


@pytest.mark.parametrize("dead", [CHILD, CLAIMANT])
async def test_a_resident_the_gate_knows_to_have_died_refuses_the_change(
    service: BenefitActivities, store: BenefitStore, dead: str
) -> None:
    await assert_refused_untouched(
        service.record_new_dependant,
        birth(service, CLAIMANT, deceased=frozenset({dead})),
        "resident_deceased",
        store,
    )


def _child_altered(good: ServiceAction) -> ServiceAction:
    first = good.shares[0]
    data = {**first.data, "birth": {"date_of_birth": "2025-03-11"}}
    return good.model_copy(
        update={"shares": (first.model_copy(update={"data": data}), *good.shares[1:])}
    )


# REFUSALS but the one that alters a move's address, and that case for a birth: the child's
# date of birth altered after the token was issued.
BIRTH_REFUSALS: list[tuple[str, Refusal]] = [
    *[(problem, spoil) for problem, spoil in REFUSALS if problem != "data_altered"],
    ("data_altered", lambda _s, good: _child_altered(good)),
]


@pytest.mark.parametrize("name", ["find_claims", "record_new_dependant"])
@pytest.mark.parametrize(("problem", "spoil"), BIRTH_REFUSALS, ids=[p for p, _ in BIRTH_REFUSALS])
async def test_a_bad_token_is_refused_and_nothing_changes(
    service: BenefitActivities, store: BenefitStore, name: str, problem: str, spoil: Refusal
) -> None:
    good = birth(service, CLAIMANT)
    await assert_refused_untouched(getattr(service, name), spoil(service, good), problem, store)


@pytest.mark.parametrize("name", ["find_claims", "record_new_dependant"])
@pytest.mark.parametrize(
    ("people", "code"),
    [
        ([(CLAIMANT, parent_data())], "invalid_data:no_child"),
        ([(CHILD, child_data()), (CLAIMANT, child_data())], "invalid_data:child_repeated"),
        (
            [(CHILD, {k: v for k, v in child_data().items() if k != "household"})],
            "invalid_data:household",
        ),
    ],
    ids=["no_child", "two_children", "no_household"],
)
async def test_shares_that_are_not_one_birth_are_refused_as_invalid(
    service: BenefitActivities,
    store: BenefitStore,
    name: str,
    people: list[tuple[str, dict[str, Any]]],
    code: str,
) -> None:
    before = await snapshot(store)
    with pytest.raises(ApplicationError) as refused:
        await getattr(service, name)(action_of(service, people))
    assert refused.value.type == "ShareDataInvalid"
    assert refused.value.message == code
    assert await snapshot(store) == before


async def test_a_household_the_shares_disagree_on_is_refused(
    service: BenefitActivities, store: BenefitStore
) -> None:
    disagreeing = action_of(
        service, [(CHILD, child_data(other_adults=0)), (CLAIMANT, parent_data(other_adults=2))]
    )
    with pytest.raises(ApplicationError) as refused:
        await service.record_new_dependant(disagreeing)
    assert refused.value.message == "invalid_data:residents_disagree"
    assert await store.all_changes() == []
