"""Per test: settings with own topics, group and database; the broker real or down."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from deploy.local.stack import StackConfig
from services.intake.settings import IntakeSettings
from tests.services.intake.support import make_settings

DownSettings = Callable[..., IntakeSettings]


@pytest.fixture
def make_down_settings(tmp_path: Path, free_port: Callable[[], int]) -> DownSettings:
    """Settings with Kafka and Temporal both pointed at closed ports."""

    def make(**overrides: Any) -> IntakeSettings:
        values: dict[str, Any] = {"intake_kafka_startup_grace_seconds": 0.2, **overrides}
        return make_settings(
            tmp_path,
            kafka=f"localhost:{free_port()}",
            temporal=f"localhost:{free_port()}",
            **values,
        )

    return make


@pytest.fixture
def down_settings(make_down_settings: DownSettings) -> IntakeSettings:
    return make_down_settings()


@pytest.fixture
def stack_settings(tmp_path: Path, stack: StackConfig) -> IntakeSettings:
    """The real Kafka and Temporal, with a lane of topics of this test's own."""
    return make_settings(
        tmp_path, kafka=stack.kafka_bootstrap_servers, temporal=stack.temporal_address
    )
