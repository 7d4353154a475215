"""council_tax.record_move through Temporal, called by name on its task queue: a retry after
the first attempt crashed past its commit changes nothing twice and returns the first
outcome."""

from __future__ import annotations

from pathlib import Path

from temporalio.testing import WorkflowEnvironment

from contracts.actions import ServiceAction
from contracts.temporal import Activity
from services.counciltax.activities import CouncilTaxActivities
from services.counciltax.store import CouncilTaxStore
from tests.support.council import (
    action,
    crashing_after_commit,
    keys,
    move,
    new_resident,
    sqlite_store,
    through_temporal,
)


async def test_a_retry_after_a_crash_past_the_commit_changes_once(
    time_skipping_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    async with sqlite_store(CouncilTaxStore, tmp_path) as store:
        service = CouncilTaxActivities(store, keys())
        attempts: list[int] = []
        crashing = crashing_after_commit(
            service.record_move, ServiceAction, Activity.COUNCIL_TAX_RECORD_MOVE, attempts
        )
        data = {
            "identity": [{"name": {"family_name": "Nonesuch"}}],
            "address": move("within"),
            "household": {"members": [{"adult": True}]},
        }
        sent = action(service, data, (new_resident(),))

        outcome = await through_temporal(
            time_skipping_env, [crashing], Activity.COUNCIL_TAX_RECORD_MOVE, sent
        )

        assert attempts == [1, 2]
        assert outcome.code == "account_closed_and_opened"
        assert outcome.references["single_person_discount"] == "25%"
        accounts = await store.all_accounts()
        assert len(accounts) == 2  # one closed, one opened: not two of each
        assert outcome.references["account"] in {a.reference for a in accounts}
