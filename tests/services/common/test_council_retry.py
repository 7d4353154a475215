"""Every council service through Temporal: an activity whose first attempt crashes just after
its change committed is retried, and the change is made once (services/common/council.py
keys it on workflow ID + step)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from temporalio.testing import WorkflowEnvironment

from contracts.actions import ActionOutcome, ServiceAction
from contracts.temporal import Activity
from services.benefits.activities import BenefitActivities
from services.benefits.seed import DEMO_CLAIMS, seed_claims
from services.benefits.store import BenefitStore
from services.common.council import CouncilActivities, CouncilStore
from services.counciltax.activities import CouncilTaxActivities
from services.counciltax.store import CouncilTaxStore
from services.electoral.activities import ElectoralActivities
from services.electoral.store import ElectoralStore
from services.schools.activities import SchoolActivities
from services.schools.store import SchoolStore
from tests.support.council import (
    action,
    crashing_after_commit,
    keys,
    move,
    new_resident,
    sqlite_store,
    through_temporal,
)

NONESUCH = {"name": {"family_name": "Nonesuch"}}


def activity_name(method: Callable[..., Any]) -> str | None:
    definition = getattr(method, "__temporal_activity_definition", None)
    return None if definition is None else definition.name


async def _nothing(_store: Any) -> None:
    return None


@dataclass(frozen=True)
class Case:
    store: type[CouncilStore]
    service: type[CouncilActivities]
    activity: Activity
    data: dict[str, Any]
    # What the store and the outcome hold after the retry: the change, made once.
    changed_once: Callable[[Any, ActionOutcome], Awaitable[None]]
    resident: Callable[[], str] = new_resident
    seed: Callable[[Any], Awaitable[None]] = _nothing


async def _one_account_closed_one_opened(store: CouncilTaxStore, outcome: ActionOutcome) -> None:
    assert outcome.code == "account_closed_and_opened"
    assert outcome.references["single_person_discount"] == "25%"
    accounts = await store.all_accounts()
    assert len(accounts) == 2  # one closed, one opened: not two of each
    assert outcome.references["account"] in {a.reference for a in accounts}


async def _removed_and_invited_once(store: ElectoralStore, outcome: ActionOutcome) -> None:
    assert outcome.code == "removed_and_invited"
    assert await store.counts() == {"removals": 1, "invitations": 1}


async def _one_application(store: SchoolStore, outcome: ActionOutcome) -> None:
    [application] = await store.all_applications()
    assert outcome.references["application_1"] == application.reference


async def _one_change(store: BenefitStore, outcome: ActionOutcome) -> None:
    assert outcome.references["claims"] == DEMO_CLAIMS[2].reference
    assert len(await store.all_changes()) == 1


CASES = {
    "council-tax": Case(
        CouncilTaxStore,
        CouncilTaxActivities,
        Activity.COUNCIL_TAX_RECORD_MOVE,
        {
            "identity": [NONESUCH],
            "address": move("within"),
            "household": {"members": [{"adult": True}]},
        },
        _one_account_closed_one_opened,
    ),
    "electoral": Case(
        ElectoralStore,
        ElectoralActivities,
        Activity.ELECTORAL_RECORD_MOVE,
        {"identity": [NONESUCH], "address": move("within")},
        _removed_and_invited_once,
    ),
    "schools": Case(
        SchoolStore,
        SchoolActivities,
        Activity.SCHOOLS_OFFER_IN_YEAR_ADMISSION,
        {
            "identity": [{"name": {"given_names": "Robin", "family_name": "Placeholder"}}],
            "birth": [{"date_of_birth": "2015-06-15"}],
            "address": move("within"),
        },
        _one_application,
    ),
    "benefits": Case(
        BenefitStore,
        BenefitActivities,
        Activity.BENEFITS_RECORD_CHANGE,
        {
            "identity": [NONESUCH],
            "address": move("within"),
            "household": {"members": [{"age": 52}]},
        },
        _one_change,
        resident=lambda: DEMO_CLAIMS[2].resident,
        seed=seed_claims,
    ),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
async def test_a_retry_after_a_crash_past_the_commit_changes_once(
    case: Case, time_skipping_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    async with sqlite_store(case.store, tmp_path) as store:
        await case.seed(store)
        service = case.service(store, keys())
        [perform] = [a for a in service.all if activity_name(a) == case.activity]
        attempts: list[int] = []
        crashing = crashing_after_commit(perform, ServiceAction, case.activity, attempts)

        outcome = await through_temporal(
            time_skipping_env,
            [crashing],
            case.activity,
            action(service, case.data, (case.resident(),)),
        )

        assert attempts == [1, 2]
        await case.changed_once(store, outcome)
