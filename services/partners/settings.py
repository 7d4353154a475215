"""The partners service's settings, on top of the council services' (same `LIFEEVENTS_`
prefix)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from services.common.council import CouncilSettings
from services.partners.config import DEFAULT_CONFIG_PATH

__all__ = ["PartnersSettings"]


class PartnersSettings(CouncilSettings):
    partners_config_path: Path = Field(
        default=DEFAULT_CONFIG_PATH,
        description="Whom the service tells, on which topic, with which fields (TOML).",
    )
    partners_send_timeout_seconds: float = Field(
        default=10.0,
        gt=0,
        description="How long a notice may wait for Kafka's acknowledgement before the "
        "activity fails (and Temporal retries it, with the same event id).",
    )
    partners_connect_timeout_seconds: float = Field(
        default=30.0, gt=0, description="How long the worker waits for Kafka when it starts."
    )
