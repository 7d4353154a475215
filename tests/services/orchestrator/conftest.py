"""Per test: an isolated lane through the real stack (own topics, group, task queue)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from deploy.local.stack import StackConfig
from services.common.topics import ensure_topics
from tests.services.orchestrator.support import Lane, OrchestratorProcess, make_lane


@pytest.fixture
async def lane(stack: StackConfig) -> Lane:
    made = make_lane(stack.kafka_bootstrap_servers, stack.temporal_address)
    # One partition: records keep their order, so "the partition moves on" is observable.
    await ensure_topics(made.bootstrap, [made.topic, made.dlq_topic], partitions=1)
    return made


@pytest.fixture
def orchestrator(lane: Lane, tmp_path: Path) -> Iterator[OrchestratorProcess]:
    process = OrchestratorProcess(lane.env(), tmp_path / "orchestrator.log")
    yield process
    process.stop()
