"""benefits.record_change_of_circumstances: a change from the move date on each claim a
mover holds, `no_claim` otherwise; idempotent; refuses any token not good for this data."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from services.benefits.activities import BenefitActivities
from services.benefits.seed import DEMO_CLAIMS, seed_claims
from services.benefits.store import BenefitStore, ChangeRecord
from tests.support.council import (
    REFUSALS,
    Refusal,
    action,
    assert_refused_untouched,
    move,
    new_resident,
    snapshot,
)

CLAIMANT = DEMO_CLAIMS[0].resident  # holds housing benefit and council tax reduction
PERSON = {"name": {"given_names": "Alex", "family_name": "Sampleton"}}


def data(direction: str, members: int = 1, **kw: Any) -> dict[str, Any]:
    return {
        "identity": [PERSON] * members,
        "address": move(direction, **kw),
        "household": {"members": [{"age": 30}] * members},
    }


@pytest.mark.parametrize(
    ("direction", "kind", "reassessment"),
    [
        ("within", "change_of_address", "award_reassessed"),
        ("into", "change_of_address", "award_reassessed"),
        ("out_of", "moved_out_of_area", "award_ends"),
    ],
)
async def test_a_change_is_recorded_on_every_claim_a_mover_holds(
    service: BenefitActivities, store: BenefitStore, direction: str, kind: str, reassessment: str
) -> None:
    outcome = await service.record_change_of_circumstances(
        action(service, data(direction, 2), (new_resident(), CLAIMANT))
    )
    assert outcome.outcome == "done"
    assert outcome.code == "change_recorded"
    assert outcome.references == {
        "claims": "CTR-DEMO00001,HB-DEMO000001",
        "effective_from": "2025-10-18",
        "reassessment": reassessment,
    }
    moved = date(2025, 10, 18)
    assert await store.all_changes() == [
        ChangeRecord("CTR-DEMO00001", kind, moved),
        ChangeRecord("HB-DEMO000001", kind, moved),
    ]


async def test_no_claim_is_no_action(service: BenefitActivities, store: BenefitStore) -> None:
    outcome = await service.record_change_of_circumstances(
        action(service, data("within"), (new_resident(),))
    )
    assert outcome.outcome == "no_action"
    assert outcome.code == "no_claim"
    assert await store.all_changes() == []


async def test_claims_can_be_seeded_for_given_residents(
    service: BenefitActivities, store: BenefitStore
) -> None:
    resident = new_resident()
    assert await seed_claims(store, [resident]) == 1
    assert await seed_claims(store) == 0  # the demo claims are there already
    outcome = await service.record_change_of_circumstances(
        action(service, data("within"), (resident,))
    )
    assert outcome.references["claims"].startswith("HB-")


async def test_the_same_step_twice_changes_once_and_answers_the_same(
    service: BenefitActivities, store: BenefitStore
) -> None:
    first_action = action(service, data("within"), (CLAIMANT,))
    first = await service.record_change_of_circumstances(first_action)
    after = await snapshot(store)
    assert await service.record_change_of_circumstances(first_action) == first
    assert await snapshot(store) == after
    assert len(await store.all_changes()) == 2


@pytest.mark.parametrize(("problem", "spoil"), REFUSALS, ids=[p for p, _ in REFUSALS])
async def test_a_bad_token_is_refused_and_nothing_changes(
    service: BenefitActivities, store: BenefitStore, problem: str, spoil: Refusal
) -> None:
    good = action(service, data("within"), (CLAIMANT,))
    await assert_refused_untouched(
        service.record_change_of_circumstances, spoil(service, good), problem, store
    )
