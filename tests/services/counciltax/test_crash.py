"""A council service worker killed (SIGKILL) after its change committed and before it answered:
on restart, Temporal retries the action, and the store shows the change exactly once."""

from __future__ import annotations

import asyncio
import sqlite3
import sys
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from temporalio import workflow
from temporalio.client import Client
from temporalio.common import RetryPolicy
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from contracts.actions import ActionOutcome
from contracts.temporal import Activity, TaskQueue
from deploy.local.stack import StackConfig
from services.common.codec import data_converter
from services.common.settings import Settings
from services.common.sharetokens import public_key_pem
from services.counciltax.activities import CouncilTaxActivities
from tests.support import subprocess_env
from tests.support.council import GATE_KEY, action, move, new_resident

REPO_ROOT = Path(__file__).resolve().parents[3]


@workflow.defn(sandboxed=False)
class RecordMoveOnce:
    """Calls the service once, with a timeout short enough for the test to see the retry."""

    @workflow.run
    async def run(self, argument: dict[str, Any]) -> ActionOutcome:
        outcome: ActionOutcome = await workflow.execute_activity(
            Activity.COUNCIL_TAX_RECORD_MOVE,
            argument,
            task_queue=TaskQueue.COUNCIL_TAX,
            result_type=ActionOutcome,
            start_to_close_timeout=timedelta(seconds=5),
            retry_policy=RetryPolicy(initial_interval=timedelta(milliseconds=200)),
        )
        return outcome


@pytest.mark.stack
async def test_a_worker_killed_mid_action_completes_it_exactly_once_after_a_restart(
    stack: StackConfig, temporal_client: Client, tmp_path: Path
) -> None:
    env = subprocess_env(
        LIFEEVENTS_VAR_DIR=str(tmp_path / "var"),
        LIFEEVENTS_TEMPORAL_ADDRESS=stack.temporal_address,
        LIFEEVENTS_SHARE_TOKEN_PUBLIC_KEY=public_key_pem(GATE_KEY.public_key()),
        LIFEEVENTS_LOG_FORMAT="json",
    )

    async def worker(**failpoint: str) -> asyncio.subprocess.Process:
        return await asyncio.create_subprocess_exec(
            sys.executable, "-m", "services.counciltax", cwd=REPO_ROOT, env={**env, **failpoint}
        )

    data = {
        "identity": [{"name": {"given_names": "Ysolde", "family_name": "Carrowmore"}}],
        "address": move("within"),
        "household": {"members": [{"age": 33}]},
    }
    argument = action(CouncilTaxActivities, data, (new_resident(),)).model_dump(mode="json")
    client = await Client.connect(
        stack.temporal_address,
        data_converter=data_converter(
            Settings(payload_keys=SecretStr(env["LIFEEVENTS_PAYLOAD_KEYS"]))
        ),
    )
    queue = f"crash-{uuid.uuid4().hex[:8]}"
    first = await worker(LIFEEVENTS_COUNCIL_KILL_AFTER_COMMIT="true")
    async with Worker(
        client,
        task_queue=queue,
        workflows=[RecordMoveOnce],
        workflow_runner=UnsandboxedWorkflowRunner(),
    ):
        handle = await client.start_workflow(
            RecordMoveOnce.run, argument, id=f"crash-{uuid.uuid4().hex}", task_queue=queue
        )
        assert await asyncio.wait_for(first.wait(), 60) == -9  # killed itself after the commit
        db = tmp_path / "var" / "counciltax" / "counciltax.db"
        with sqlite3.connect(db) as connection:
            before = connection.execute("SELECT count(*) FROM ctax_accounts").fetchone()[0]
        assert before == 2  # closed at the old address, opened at the new: committed

        second = await worker()
        try:
            outcome = await asyncio.wait_for(handle.result(), 60)
        finally:
            second.terminate()
            await second.wait()
    assert outcome.code == "account_closed_and_opened"
    with sqlite3.connect(db) as connection:
        after = connection.execute("SELECT count(*) FROM ctax_accounts").fetchone()[0]
        [(actions,)] = connection.execute("SELECT count(*) FROM ctax_actions").fetchall()
    assert after == before  # the retry changed nothing
    assert actions == 1
    attempts = [
        e
        async for e in handle.fetch_history_events()
        if e.HasField("activity_task_started_event_attributes")
    ]
    assert attempts[-1].activity_task_started_event_attributes.attempt >= 2
