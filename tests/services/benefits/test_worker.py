"""benefits.record_change_of_circumstances through Temporal: a retry after a crash past the
commit records the change once."""

from __future__ import annotations

from pathlib import Path

from temporalio.testing import WorkflowEnvironment

from contracts.actions import ServiceAction
from contracts.temporal import Activity
from services.benefits.activities import BenefitActivities
from services.benefits.seed import DEMO_CLAIMS, seed_claims
from services.benefits.store import BenefitStore
from tests.support.council import (
    action,
    crashing_after_commit,
    keys,
    move,
    sqlite_store,
    through_temporal,
)


async def test_a_retry_after_a_crash_past_the_commit_changes_once(
    time_skipping_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    async with sqlite_store(BenefitStore, tmp_path) as store:
        await seed_claims(store)
        service = BenefitActivities(store, keys())
        attempts: list[int] = []
        crashing = crashing_after_commit(
            service.record_change_of_circumstances,
            ServiceAction,
            Activity.BENEFITS_RECORD_CHANGE,
            attempts,
        )
        data = {
            "identity": [{"name": {"family_name": "Nonesuch"}}],
            "address": move("within"),
            "household": {"members": [{"age": 52}]},
        }
        claimant = (DEMO_CLAIMS[2].resident,)

        outcome = await through_temporal(
            time_skipping_env,
            [crashing],
            Activity.BENEFITS_RECORD_CHANGE,
            action(service, data, claimant),
        )

        assert attempts == [1, 2]
        assert outcome.references["claims"] == DEMO_CLAIMS[2].reference
        assert len(await store.all_changes()) == 1
