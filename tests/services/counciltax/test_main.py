"""`python -m services.counciltax` (the same `run_service` every council service runs) serves
its activities with encrypted payloads, verifies tokens with the public key it is given, and
stops cleanly on SIGTERM; its output names no one. Runs against the time-skipping server."""

from __future__ import annotations

from pathlib import Path

from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from contracts.temporal import Activity, TaskQueue
from services.common.codec import data_converter, new_key_spec
from services.common.settings import Settings
from services.common.sharetokens import public_key_pem
from services.counciltax.activities import CouncilTaxActivities
from tests.support import ServiceProcess, run_workflow, subprocess_env
from tests.support.council import (
    GATE_KEY,
    CallService,
    action,
    move,
    new_resident,
)


async def test_the_process_serves_and_stops_on_sigterm(
    time_skipping_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    target = time_skipping_env.client.service_client.config.target_host
    payload_keys = new_key_spec()
    env = subprocess_env()
    env.update(
        LIFEEVENTS_VAR_DIR=str(tmp_path / "var"),
        LIFEEVENTS_TEMPORAL_ADDRESS=target,
        LIFEEVENTS_PAYLOAD_KEYS=payload_keys,
        LIFEEVENTS_SHARE_TOKEN_PUBLIC_KEY=public_key_pem(GATE_KEY.public_key()),
        LIFEEVENTS_LOG_FORMAT="json",
    )
    data = {
        "identity": [{"name": {"given_names": "Ysolde", "family_name": "Carrowmore"}}],
        "address": move("within"),
        "household": {"members": [{"age": 33}]},
    }
    async with ServiceProcess("services.counciltax", env) as process:
        client = await Client.connect(
            target, data_converter=data_converter(Settings(payload_keys=payload_keys))
        )
        outcome = await run_workflow(
            client,
            CallService,
            CallService.run,
            Activity.COUNCIL_TAX_RECORD_MOVE,
            TaskQueue.COUNCIL_TAX,
            action(CouncilTaxActivities, data, (new_resident(),)).model_dump(mode="json"),
        )
        assert outcome.code == "account_closed_and_opened"
        code, text = await process.stop()
    assert code == 0
    for event in ("counciltax.started", "council.action", "counciltax.stopped"):
        assert event in text
    for secret in ("Ysolde", "Carrowmore", "Sample Close", "AB2 4FG"):
        assert secret not in text
    assert (tmp_path / "var" / "counciltax" / "counciltax.db").exists()
