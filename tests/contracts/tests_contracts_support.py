"""Small helpers shared by the contracts tests (imported as a plain module, see conftest)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from contracts.generate import CONTRACTS_DIR

EXAMPLES_DIR = CONTRACTS_DIR / "examples"
EXAMPLE_PATHS = sorted(EXAMPLES_DIR.glob("*.json"))


def example_event(name: str) -> dict[str, Any]:
    """A committed example as a structured-mode event (a fresh copy each call)."""
    document: dict[str, Any] = json.loads((EXAMPLES_DIR / f"{name}.json").read_text("utf-8"))
    return document


def example_data(name: str) -> dict[str, Any]:
    """Just the payload of a committed example (a fresh copy each call)."""
    data: dict[str, Any] = example_event(name)["data"]
    return data


def example_path(name: str) -> Path:
    return EXAMPLES_DIR / f"{name}.json"
