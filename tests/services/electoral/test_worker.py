"""electoral.record_move through Temporal: a retry after a crash past the commit removes and
invites once."""

from __future__ import annotations

from pathlib import Path

from temporalio.testing import WorkflowEnvironment

from contracts.actions import ServiceAction
from contracts.temporal import Activity
from services.electoral.activities import ElectoralActivities
from services.electoral.store import ElectoralStore
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
    async with sqlite_store(ElectoralStore, tmp_path) as store:
        service = ElectoralActivities(store, keys())
        attempts: list[int] = []
        crashing = crashing_after_commit(
            service.record_move, ServiceAction, Activity.ELECTORAL_RECORD_MOVE, attempts
        )
        data = {"identity": [{"name": {"family_name": "Nonesuch"}}], "address": move("within")}

        outcome = await through_temporal(
            time_skipping_env,
            [crashing],
            Activity.ELECTORAL_RECORD_MOVE,
            action(service, data, (new_resident(),)),
        )

        assert attempts == [1, 2]
        assert outcome.code == "removed_and_invited"
        assert await store.counts() == {"removals": 1, "invitations": 1}
