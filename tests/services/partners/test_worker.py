"""`python -m services.partners`: the process makes its topics and starts its producer before
it serves, tells an organisation through Temporal with encrypted payloads, and stops cleanly
on SIGTERM; its output names no one. Temporal is the time-skipping server, Kafka the real
one."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from contracts.partners import tell_us_once_reference
from contracts.temporal import Activity, TaskQueue
from services.common.codec import data_converter, new_key_spec
from services.common.settings import Settings
from services.common.sharetokens import public_key_pem
from services.common.topics import partitions_of
from services.partners.config import PartnersConfig
from tests.services.partners.support import PERSONAL, deceased_action, read_topic
from tests.support import ServiceProcess, run_workflow, subprocess_env
from tests.support.council import GATE_KEY, CallService

pytestmark = pytest.mark.stack


def write_toml(config: PartnersConfig, path: Path) -> Path:
    lines = [f"source = {json.dumps(config.source)}"]
    for code, told in config.organisations.items():
        lines += [
            f"[organisations.{code}]",
            f"topic = {json.dumps(told.topic)}",
            f"fields = {json.dumps(list(told.fields))}",
        ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


async def test_the_process_starts_its_producer_tells_and_stops_on_sigterm(
    time_skipping_env: WorkflowEnvironment,
    kafka_bootstrap: str,
    config: PartnersConfig,
    tmp_path: Path,
) -> None:
    target = time_skipping_env.client.service_client.config.target_host
    payload_keys = new_key_spec()
    env = subprocess_env(
        LIFEEVENTS_VAR_DIR=str(tmp_path / "var"),
        LIFEEVENTS_TEMPORAL_ADDRESS=target,
        LIFEEVENTS_PAYLOAD_KEYS=payload_keys,
        LIFEEVENTS_KAFKA_BOOTSTRAP_SERVERS=kafka_bootstrap,
        LIFEEVENTS_KAFKA_TOPIC_PARTITIONS="1",
        LIFEEVENTS_SHARE_TOKEN_PUBLIC_KEY=public_key_pem(GATE_KEY.public_key()),
        LIFEEVENTS_PARTNERS_CONFIG_PATH=str(write_toml(config, tmp_path / "partners.toml")),
        LIFEEVENTS_LOG_FORMAT="json",
    )
    action = deceased_action("hmrc", step="tell-hmrc")
    async with ServiceProcess("services.partners", env) as process:
        client = await Client.connect(
            target, data_converter=data_converter(Settings(payload_keys=payload_keys))
        )
        outcome = await run_workflow(
            client,
            CallService,
            CallService.run,
            Activity.PARTNERS_TELL,
            TaskQueue.PARTNERS,
            action.model_dump(mode="json"),
            timeout=60,
        )
        # Every configured topic was made at start, not only the one told.
        for topic in config.topics:
            assert await partitions_of(kafka_bootstrap, topic), topic
        code, text = await process.stop()

    reference = tell_us_once_reference(action.workflow_id, action.step)
    assert outcome.code == "told"
    assert outcome.references == {"organisation": "hmrc", "reference": reference}
    [record] = await read_topic(kafka_bootstrap, config.organisations["hmrc"].topic)
    assert record.key == reference.encode()
    assert code == 0
    for event in ("partners.producer_started", "partners.started", "council.action"):
        assert event in text
    assert "partners.stopped" in text
    for secret in PERSONAL:
        assert secret not in text
    assert (tmp_path / "var" / "partners" / "partners.db").exists()
