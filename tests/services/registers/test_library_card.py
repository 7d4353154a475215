"""registers.issue_library_card: a birth gives the child a junior library card in the care of
the first parent shared, once; a child who holds one already is not given another; a token
the gate stamped `deceased` refuses it, as any action that opens something; shares that are
not one birth are refused as invalid. Against the service's own SQLite store.

Tokens are made with the recipient and purpose the catalogue names, spelled out here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

from contracts.actions import ActionOutcome, ServiceAction
from contracts.temporal import Activity
from services.registers.activities import RegistersActivities
from services.registers.store import JuniorCard, LibraryCard, RegistersStore
from tests.support.council import (
    REFUSALS,
    Refusal,
    action_of,
    assert_refused_untouched,
    keys,
    snapshot,
    sqlite_store,
    through_temporal,
)

BORN = "2025-03-10"
CHILD = "res_child0000000000000"
PARENT_A = "res_parentA00000000000"
PARENT_B = "res_parentB00000000000"


@dataclass(frozen=True)
class Register:
    """What a token for the step is for, as the catalogue and policy say."""

    purpose: str = "library-membership"
    recipient: str = "council-registers"


LIBRARY = Register()


def child_data() -> dict[str, Any]:
    return {
        "identity": {
            "name": {"given_names": "Fictional Poppy", "family_name": "Sampleworth"},
            "date_of_birth": BORN,
        },
        "birth": {"date_of_birth": BORN},
    }


def parent_data(given: str = "Invented Jo") -> dict[str, Any]:
    return {"identity": {"name": {"given_names": given, "family_name": "Sampleworth"}}}


def birth(
    *people: tuple[str, dict[str, Any]],
    register: Register = LIBRARY,
    deceased: frozenset[str] = frozenset(),
    workflow_id: str | None = None,
) -> ServiceAction:
    """The step's action: the child's share, then each parent's, unless `people` says."""
    shares = list(people) or [
        (CHILD, child_data()),
        (PARENT_A, parent_data()),
        (PARENT_B, parent_data("Madeup Sam")),
    ]
    return action_of(
        register,  # type: ignore[arg-type]  # what a token is for: recipient and purpose
        shares,
        deceased=deceased,
        workflow_id=workflow_id,
        event_type="lifeevents.birth.registered.v1",
    )


async def test_the_child_gets_a_junior_card_in_the_first_parents_care(
    service: RegistersActivities, store: RegistersStore
) -> None:
    outcome = await service.issue_library_card(birth())
    assert outcome.outcome == "done"
    assert outcome.code == "card_issued"
    card = outcome.references["card"]
    assert card.startswith("LIB-")
    assert outcome.references == {"card": card}
    assert await store.all_entries() == [LibraryCard(card, CHILD)]
    assert await store.all_junior_cards() == [JuniorCard(card, CHILD, PARENT_A)]


async def test_the_responsible_adult_is_the_first_parent_in_the_shares(
    service: RegistersActivities, store: RegistersStore
) -> None:
    outcome = await service.issue_library_card(
        birth((PARENT_B, parent_data()), (CHILD, child_data()), (PARENT_A, parent_data()))
    )
    [junior] = await store.all_junior_cards()
    assert junior == JuniorCard(outcome.references["card"], CHILD, PARENT_B)


async def test_with_no_parent_shared_the_card_is_issued_without_one(
    service: RegistersActivities, store: RegistersStore
) -> None:
    outcome = await service.issue_library_card(birth((CHILD, child_data())))
    assert outcome.code == "card_issued"
    assert await store.all_junior_cards() == [JuniorCard(outcome.references["card"], CHILD, None)]


async def test_a_child_with_an_open_membership_is_not_given_another(
    service: RegistersActivities, store: RegistersStore
) -> None:
    await store.add(
        [
            LibraryCard("LIB-CLOSED001", CHILD, closed_on=date(2025, 4, 1)),
            LibraryCard("LIB-CHILD0001", CHILD),
            LibraryCard("LIB-PARENT001", PARENT_A),
        ]
    )
    before = await snapshot(store)
    outcome = await service.issue_library_card(birth())
    assert outcome == ActionOutcome(
        outcome="no_action", code="already_member", references={"card": "LIB-CHILD0001"}
    )
    after = await snapshot(store)
    assert {k: v for k, v in after.items() if k != "reg_actions"} == {
        k: v for k, v in before.items() if k != "reg_actions"
    }


async def test_a_closed_membership_is_not_an_open_one(
    service: RegistersActivities, store: RegistersStore
) -> None:
    await store.add([LibraryCard("LIB-CLOSED001", CHILD, closed_on=date(2025, 4, 1))])
    outcome = await service.issue_library_card(birth())
    assert outcome.code == "card_issued"
    assert outcome.references["card"] != "LIB-CLOSED001"


async def test_the_same_step_twice_issues_once_and_another_workflow_finds_the_card(
    service: RegistersActivities, store: RegistersStore
) -> None:
    first_action = birth()
    first = await service.issue_library_card(first_action)
    after = await snapshot(store)
    assert await service.issue_library_card(first_action) == first
    assert await snapshot(store) == after
    # The same birth published again under another event ID: another workflow.
    again = await service.issue_library_card(birth())
    assert again == ActionOutcome(
        outcome="no_action", code="already_member", references=first.references
    )
    assert len(await store.all_junior_cards()) == 1


@pytest.mark.parametrize("dead", [CHILD, PARENT_B])
async def test_a_resident_the_gate_knows_to_have_died_refuses_the_card(
    service: RegistersActivities, store: RegistersStore, dead: str
) -> None:
    await assert_refused_untouched(
        service.issue_library_card, birth(deceased=frozenset({dead})), "resident_deceased", store
    )


async def test_a_token_for_another_purpose_is_refused(
    service: RegistersActivities, store: RegistersStore
) -> None:
    await assert_refused_untouched(
        service.issue_library_card,
        birth(register=Register("blue-badge-administration")),
        "wrong_purpose",
        store,
    )


def _child_altered(good: ServiceAction) -> ServiceAction:
    last = good.shares[-1]
    data = {**last.data, "birth": {"date_of_birth": "2025-03-11"}}
    return good.model_copy(
        update={"shares": (*good.shares[:-1], last.model_copy(update={"data": data}))}
    )


# REFUSALS but the one that alters a move's address, and that case for a birth: the child's
# date of birth altered after the token was issued (the child's share is the last).
BIRTH_REFUSALS: list[tuple[str, Refusal]] = [
    *[(problem, spoil) for problem, spoil in REFUSALS if problem != "data_altered"],
    ("data_altered", lambda _s, good: _child_altered(good)),
]


@pytest.mark.parametrize(("problem", "spoil"), BIRTH_REFUSALS, ids=[p for p, _ in BIRTH_REFUSALS])
async def test_a_bad_token_is_refused_and_nothing_changes(
    service: RegistersActivities, store: RegistersStore, problem: str, spoil: Refusal
) -> None:
    good = birth((PARENT_A, parent_data()), (CHILD, child_data()))
    await assert_refused_untouched(
        service.issue_library_card,
        spoil(LIBRARY, good),  # type: ignore[arg-type]
        problem,
        store,
    )


@pytest.mark.parametrize(
    ("people", "code"),
    [
        ([(PARENT_A, parent_data()), (PARENT_B, parent_data())], "invalid_data:no_child"),
        ([(CHILD, child_data()), (PARENT_A, child_data())], "invalid_data:child_repeated"),
        (
            [(CHILD, {**child_data(), "birth": {"date_of_birth": None}})],
            "invalid_data:birth.date_of_birth",
        ),
        ([(CHILD, {**child_data(), "household": {"age": 0}})], "invalid_data:<extra>"),
    ],
    ids=["no_child", "two_children", "no_date_of_birth", "extra"],
)
async def test_shares_that_are_not_one_birth_are_refused_as_invalid(
    service: RegistersActivities,
    store: RegistersStore,
    people: list[tuple[str, dict[str, Any]]],
    code: str,
) -> None:
    before = await snapshot(store)
    with pytest.raises(ApplicationError) as refused:
        await service.issue_library_card(birth(*people))
    assert refused.value.type == "ShareDataInvalid"
    assert refused.value.non_retryable
    assert refused.value.message == code
    assert await snapshot(store) == before


async def test_through_a_temporal_worker_under_the_catalogues_name(
    time_skipping_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    async with sqlite_store(RegistersStore, tmp_path) as store:
        service = RegistersActivities(store, keys())
        outcome = await through_temporal(
            time_skipping_env, service.all, Activity.REGISTERS_ISSUE_LIBRARY_CARD, birth()
        )
        assert outcome.code == "card_issued"
        [junior] = await store.all_junior_cards()
        assert junior.card == outcome.references["card"]
