"""Temporal stopped for 30 s while events arrive: nothing dead-lettered, all started after."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import pytest
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

from deploy.local.stack import StackConfig, TemporalProcess
from services.common.topics import ensure_topics
from tests.services.orchestrator.support import (
    OrchestratorProcess,
    eventually,
    make_lane,
    move_event,
    settled_count,
)
from tests.services.orchestrator.test_subscriber import read_all

OUTAGE_SECONDS = 30


@pytest.mark.stack
async def test_a_temporal_outage_defers_events_and_dead_letters_none(
    stack: StackConfig, tmp_path: Path, free_port: Callable[[], int]
) -> None:
    # A Temporal of this test's own, with a file database so that it can stop and come back.
    own = StackConfig(
        var_dir=(tmp_path / "var").resolve(),
        kafka_lib_dir=stack.kafka_lib_dir,
        temporal_port=free_port(),
        temporal_ui_port=None,
    )
    temporal = TemporalProcess(own)
    await asyncio.to_thread(temporal.start)
    lane = make_lane(stack.kafka_bootstrap_servers, own.temporal_address)
    await ensure_topics(lane.bootstrap, [lane.topic, lane.dlq_topic], partitions=1)
    orchestrator = OrchestratorProcess(lane.env(), tmp_path / "orchestrator.log")
    try:
        client = await Client.connect(own.temporal_address, data_converter=pydantic_data_converter)
        orchestrator.start()
        await lane.publish_events(move_event())
        await eventually(lane.consumed, 60, "the first event, before the outage")

        await asyncio.to_thread(temporal.stop)
        await lane.publish_events(*(move_event() for _ in range(20)))
        await asyncio.sleep(OUTAGE_SECONDS)
        assert not await lane.consumed()  # held, not skipped
        await asyncio.to_thread(temporal.start)

        await eventually(lane.consumed, 120, "every event after Temporal returned")
        assert await settled_count(client, lane.task_queue, 21) == 21
        assert await read_all(lane.bootstrap, lane.dlq_topic) == []
        retries = [
            line for line in orchestrator.log_lines() if line.get("event") == "temporal.unavailable"
        ]
        assert 0 < len(retries) < 30, "backs off rather than spinning"
    finally:
        orchestrator.stop()
        await asyncio.to_thread(temporal.stop)
