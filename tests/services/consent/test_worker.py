"""`python -m services.consent` serves its activities and its API in one process, and stops
cleanly on SIGTERM."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from temporalio import workflow
from temporalio.client import Client

from contracts.consent import ShareDecision, ShareRequest
from contracts.temporal import Activity, TaskQueue
from deploy.local.stack import StackConfig
from services.common.codec import data_converter, new_key_spec
from services.common.settings import Settings
from tests.support import ServiceProcess, run_workflow, subprocess_env


@workflow.defn(name="ConsentOneDecisionTest")
class OneDecisionWorkflow:
    @workflow.run
    async def run(self, request: ShareRequest, consent_queue: str) -> ShareDecision:
        return await workflow.execute_activity(
            Activity.DECIDE_SHARE,
            request,
            result_type=ShareDecision,
            task_queue=consent_queue,
            start_to_close_timeout=timedelta(seconds=10),
        )


@pytest.mark.stack
async def test_the_process_serves_and_stops_on_sigterm(
    namespace: str,
    stack: StackConfig,
    tmp_path: Path,
    free_port: Callable[[], int],
    resident: str,
    make_request: Callable[..., ShareRequest],
) -> None:
    port = free_port()
    queue = TaskQueue.CONSENT  # in the test's own namespace
    # The process encrypts its payloads; the test's client must hold the same key ring.
    keys = new_key_spec()
    client = await Client.connect(
        stack.temporal_address,
        namespace=namespace,
        data_converter=data_converter(Settings(payload_keys=keys)),
    )
    env = subprocess_env()
    env.update(
        LIFEEVENTS_VAR_DIR=str(tmp_path / "var"),
        LIFEEVENTS_KAFKA_BOOTSTRAP_SERVERS=stack.kafka_bootstrap_servers,
        LIFEEVENTS_TEMPORAL_ADDRESS=stack.temporal_address,
        LIFEEVENTS_CONSENT_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'consent.db'}",
        LIFEEVENTS_CONSENT_HTTP_PORT=str(port),
        LIFEEVENTS_TEMPORAL_NAMESPACE=namespace,
        LIFEEVENTS_LOG_FORMAT="json",
        LIFEEVENTS_PAYLOAD_KEYS=keys,
    )
    async with ServiceProcess("services.consent", env) as process:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
            deadline = time.monotonic() + 30
            while True:
                try:
                    if (await http.get("/health")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert process.running, "the consent process exited"
                assert time.monotonic() < deadline, "the API never answered"
                await asyncio.sleep(0.2)

        decision = await run_workflow(
            client,
            OneDecisionWorkflow,
            OneDecisionWorkflow.run,
            make_request(resident, "council-tax-liability", "council-tax", ["identity"]),
            queue,
        )
        assert decision.decision == "allow"
        code, output = await process.stop()
    assert code == 0
    assert "consent.stopped" in output
    assert resident not in output  # decisions are logged by ID, never by resident
