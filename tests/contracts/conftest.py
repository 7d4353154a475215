"""Fixtures for the contracts tests. These tests are pure: nothing running, no I/O."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

# The repo runs pytest with --import-mode=importlib, which does not put test folders on
# sys.path; the helpers and hypothesis strategies here are plain modules the tests import.
sys.path.insert(0, str(Path(__file__).resolve().parent))

from tests_contracts_support import EXAMPLE_PATHS, example_event


@pytest.fixture(params=[p.stem for p in EXAMPLE_PATHS])
def example_name(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


@pytest.fixture
def example(example_name: str) -> dict[str, Any]:
    return example_event(example_name)
