"""`python -m services.residents` serves the activities (encrypted payloads, as in production)
and stops cleanly on SIGTERM. Runs against the time-skipping test server, so it needs
nothing else running."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from temporalio import workflow
from temporalio.client import Client
from temporalio.common import RetryPolicy
from temporalio.testing import WorkflowEnvironment

from contracts.residents import MatchResult, PersonDetails
from contracts.temporal import Activity, TaskQueue
from services.common.codec import data_converter, new_key_spec
from services.common.settings import Settings
from services.residents.index import open_index
from tests.services.residents.support import NHS_B, person
from tests.support import ServiceProcess, run_workflow, subprocess_env


@workflow.defn(name="ResidentsProcessTest")
class MatchThroughProcess:
    @workflow.run
    async def run(self, people: list[PersonDetails], queue: str) -> list[MatchResult]:
        results: list[MatchResult] = await workflow.execute_activity(
            Activity.MATCH_PEOPLE,
            people,
            result_type=list[MatchResult],
            task_queue=queue,
            start_to_close_timeout=timedelta(seconds=10),
            retry_policy=RetryPolicy(maximum_attempts=3),
        )
        return results


async def test_the_process_serves_and_stops_on_sigterm(
    time_skipping_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    target = time_skipping_env.client.service_client.config.target_host
    database = tmp_path / "residents.db"
    # Tests run one at a time: no other worker polls this queue of the time-skipping server.
    queue = TaskQueue.RESIDENTS
    keys = new_key_spec()
    env = subprocess_env()
    env.update(
        LIFEEVENTS_VAR_DIR=str(tmp_path / "var"),
        LIFEEVENTS_TEMPORAL_ADDRESS=target,
        LIFEEVENTS_RESIDENTS_DATABASE_URL=f"sqlite+aiosqlite:///{database}",
        LIFEEVENTS_PAYLOAD_KEYS=keys,
        LIFEEVENTS_LOG_FORMAT="json",
    )
    async with ServiceProcess("services.residents", env) as process:
        client = await Client.connect(
            target, data_converter=data_converter(Settings(payload_keys=keys))
        )
        [result] = await run_workflow(
            client,
            MatchThroughProcess,
            MatchThroughProcess.run,
            [person("Ysolde", "Carrowmore", nhs=NHS_B)],
            queue,
        )
        assert result.outcome == "created"
        code, text = await process.stop()
    assert code == 0
    for event in ("residents.started", "residents.stopping", "residents.stopped"):
        assert event in text
    for secret in ("Ysolde", "Carrowmore", NHS_B):
        assert secret not in text
    # The resident is in the process's store.
    index = await open_index(f"sqlite+aiosqlite:///{database}")
    try:
        assert await index.keys() == [result.resident]
    finally:
        await index.store.close()
