"""Committed histories of the life-event workflows replay against the current code.

A change that would break a running move (a reordered activity, a removed timer) makes the
replay nondeterministic and this test fail: such a change needs `workflow.patched` (as the
stage shown while a resident is asked did: histories from before it still replay). Record a
new fixture with `LIFEEVENTS_RECORD_HISTORIES=1 pytest tests/workflows/test_move.py -k <test>`
only when adding a scenario, never over an old one and never to make this test pass.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from workflows.lifeevents import WORKFLOWS
from workflows.worker import PASSTHROUGH_MODULES

HISTORIES = {
    path.stem: path.read_text()
    for path in sorted(Path(__file__).with_name("histories").glob("*.json"))
}


def test_there_are_histories_to_replay() -> None:
    assert len(HISTORIES) >= 5


@pytest.mark.parametrize("name", HISTORIES)
async def test_history_replays_against_the_current_workflow(name: str) -> None:
    history = WorkflowHistory.from_json(name, json.loads(HISTORIES[name]))
    replayer = Replayer(
        workflows=list(WORKFLOWS),
        data_converter=pydantic_data_converter,
        workflow_runner=SandboxedWorkflowRunner(
            restrictions=SandboxRestrictions.default.with_passthrough_modules(*PASSTHROUGH_MODULES)
        ),
    )
    result = await replayer.replay_workflow(history, raise_on_replay_failure=True)
    assert result.replay_failure is None
