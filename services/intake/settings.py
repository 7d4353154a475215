"""The intake API's own settings, on top of the shared ones (same `LIFEEVENTS_` prefix)."""

from __future__ import annotations

from pydantic import Field

from services.common.settings import Settings

__all__ = ["IntakeSettings"]

KIB = 1024


class IntakeSettings(Settings):
    intake_host: str = Field(
        default="127.0.0.1", description="Interface to listen on (0.0.0.0 behind a proxy)."
    )
    intake_port: int = Field(default=8020, ge=1, le=65535)
    intake_public_url: str | None = Field(
        default=None,
        description="Base URL callers reach the API at, for tracking URLs; default: as asked.",
    )

    intake_max_body_bytes: int = Field(default=256 * KIB, ge=1, description="One event.")
    intake_max_batch_body_bytes: int = Field(default=4096 * KIB, ge=1, description="A batch.")
    intake_max_batch_events: int = Field(default=100, ge=1)

    # A token bucket per source system, counted in events (a batch of 40 costs 40 tokens).
    intake_rate_per_second: float = Field(default=50.0, gt=0)
    intake_rate_burst: int = Field(default=200, ge=1)

    intake_publish_timeout_seconds: float = Field(
        default=10.0, gt=0, description="Longest wait for Kafka's ack before answering 503."
    )
    intake_kafka_startup_grace_seconds: float = Field(
        default=5.0,
        ge=0,
        description="How long start-up waits for Kafka before serving anyway (answering 503 "
        "to publishes until Kafka is there).",
    )
    intake_retry_after_seconds: int = Field(
        default=5, ge=1, description="Retry-After sent with a 503."
    )
    intake_status_timeout_seconds: float = Field(
        default=5.0, gt=0, description="Longest wait for Temporal when answering a status query."
    )
    intake_dlq_group_id: str = Field(
        default="lifeevents-intake-dlq-index",
        description="Consumer group of the intake's dead-letter index.",
    )
