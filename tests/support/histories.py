"""Replay fixtures: workflow histories committed under tests/workflows/histories/."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from temporalio.client import WorkflowHandle

__all__ = ["HISTORIES", "keep_history"]

HISTORIES = Path(__file__).resolve().parents[1] / "workflows" / "histories"


async def keep_history(handle: WorkflowHandle[Any, Any], name: str) -> None:
    """With LIFEEVENTS_RECORD_HISTORIES=1, write the run's history as a replay fixture
    (tests/workflows/test_replay.py replays every committed one against the current code).
    Only when adding a scenario: never over an old one, never to make a replay pass."""
    if os.environ.get("LIFEEVENTS_RECORD_HISTORIES") == "1":
        history = await handle.fetch_history()
        (HISTORIES / f"{name}.json").write_text(history.to_json())
