"""The orchestrator's own settings, on top of the shared ones (same `LIFEEVENTS_` prefix)."""

from __future__ import annotations

from pydantic import Field

from services.common.settings import Settings

__all__ = ["OrchestratorSettings"]


class OrchestratorSettings(Settings):
    orchestrator_group_id: str = "lifeevents-orchestrator"
    orchestrator_batch_size: int = Field(
        default=50, ge=1, le=1000, description="Records read, started together, committed once."
    )
    orchestrator_max_attempts: int = Field(
        default=3, ge=1, description="Unexpected failures of one record before it is dead-lettered."
    )
    orchestrator_retry_window_seconds: float = Field(
        default=120.0,
        gt=0,
        description="How long one delivery retries an unreachable Temporal before re-reading.",
    )
    orchestrator_kill_after_starts: int | None = Field(
        default=None,
        description="Failpoint for the crash-recovery test: SIGKILL this process after that "
        "many workflow starts, before their offsets are committed. Never set in production.",
    )
