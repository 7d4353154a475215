"""Fixtures of the tests that run `lifeevents` against a stack it did not start."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from deploy.local.stack import Stack, StackConfig


@pytest.fixture
def their_stack(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    kafka_lib: Path,
    free_port: Callable[[], int],
) -> Iterator[StackConfig]:
    """A Kafka and a Temporal started apart from `lifeevents`, as a council's own would be,
    with the Temporal namespace the test module names (`NAMESPACE`)."""
    config = StackConfig(
        var_dir=tmp_path_factory.mktemp("their-stack").resolve(),
        kafka_lib_dir=kafka_lib,
        kafka_port=free_port(),
        kafka_controller_port=free_port(),
        temporal_port=free_port(),
        temporal_ui_port=None,
        temporal_namespace=request.module.NAMESPACE,
    )
    stack = Stack(config)
    stack.up()
    yield config
    stack.down()
