"""`lifeevents run`: the stack, every service and the demo events; Ctrl-C stops all of it."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from deploy.local.services import SERVICES

REPO_ROOT = Path(__file__).resolve().parents[3]
LIFEEVENTS = Path(os.environ.get("VIRTUAL_ENV", REPO_ROOT / ".venv")) / "bin" / "lifeevents"


def wait_for(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout:.0f} s: {what}")
        time.sleep(0.5)


@pytest.mark.stack
def test_run_starts_everything_and_ctrl_c_stops_everything(
    cli_env: Callable[..., dict[str, str]],
    live_processes: Callable[[str], list[int]],
    tmp_path: Path,
) -> None:
    env = cli_env(LIFEEVENTS_LOG_FORMAT="json")
    var_dir = env["LIFEEVENTS_VAR_DIR"]
    output = tmp_path / "run.out"
    with output.open("wb") as out:
        run = subprocess.Popen(
            [str(LIFEEVENTS), "run"], env=env, stdout=out, stderr=subprocess.STDOUT, cwd=REPO_ROOT
        )
    try:
        text = lambda: output.read_text(errors="replace")  # noqa: E731
        wait_for(lambda: "demo: published 5 example life events" in text(), 120, "demo events")
        for spec in SERVICES:
            started_line = re.compile(rf"^{re.escape(spec.name)} +\| started", re.M)
            wait_for(lambda p=started_line: bool(p.search(text())), 30, f"{spec.name} started")
        # The orchestrator started the demo workflows, and the worker ran them.
        wait_for(lambda: text().count('"event": "workflow.started"') >= 5, 60, "workflows")
        assert "Traceback" not in text()
        started = json.loads(
            next(
                line.split("| ", 1)[1]
                for line in text().splitlines()
                if '"event": "workflow.started"' in line
            )
        )
        assert started["event_type"].startswith("lifeevents.")
        # The stack and the children are alive and mention this run's var folder or env.
        assert len(live_processes(var_dir)) >= 2
    finally:
        run.send_signal(signal.SIGINT)
        code = run.wait(60)
    assert code == 0, text()
    for spec in SERVICES:
        assert re.search(rf"^{re.escape(spec.name)} +\| stopped", text(), re.M), spec.name
    assert "kafka: stopped" in text()
    assert "temporal: stopped" in text()
    assert live_processes(var_dir) == []
    children = subprocess.run(
        ["pgrep", "-f", "services.orchestrator|workflows.worker"], capture_output=True, text=True
    )
    assert not [
        pid for pid in children.stdout.split() if str(env["LIFEEVENTS_VAR_DIR"]) in _environ(pid)
    ]


def _environ(pid: str) -> str:
    try:
        return Path(f"/proc/{pid}/environ").read_bytes().decode(errors="replace")
    except OSError:
        return ""
