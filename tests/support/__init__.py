"""What tests across the tree share that is not a fixture."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import uuid
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from temporalio.client import Client
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

__all__ = ["REPO_ROOT", "ServiceProcess", "run_workflow", "subprocess_env"]

REPO_ROOT = Path(__file__).resolve().parents[2]


def subprocess_env(**settings: str) -> dict[str, str]:
    """The environment for a service run as a subprocess by a test: none of the developer's
    own `LIFEEVENTS_` settings, nor their `.env` file, but this test run's payload key, so
    that every process of the run (and the test's own clients) reads what the others
    encrypted."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIFEEVENTS_")}
    env["LIFEEVENTS_ENV_FILE"] = ""
    env["LIFEEVENTS_PAYLOAD_KEYS"] = os.environ["LIFEEVENTS_PAYLOAD_KEYS"]
    env.update(settings)
    return env


class ServiceProcess:
    """`python -m <module>` as `lifeevents run` starts it, for one test: its output drained
    as it comes (a chatty process never blocks on a full pipe), stopped with SIGTERM by
    `stop`, killed if the test ends first."""

    def __init__(self, module: str, env: dict[str, str]) -> None:
        self.module = module
        self.env = env
        self._process: asyncio.subprocess.Process | None = None
        self._draining: asyncio.Task[bytes] | None = None

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.returncode is None

    async def __aenter__(self) -> Self:
        self._process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            self.module,
            cwd=REPO_ROOT,
            env=self.env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        assert self._process.stdout is not None
        self._draining = asyncio.create_task(self._process.stdout.read())
        return self

    async def stop(self, timeout: float = 20) -> tuple[int, str]:
        """SIGTERM, then the exit code and everything the process wrote."""
        assert self._process is not None
        assert self._draining is not None
        self._process.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(self._process.wait(), timeout)
        return code, (await self._draining).decode(errors="replace")

    async def __aexit__(
        self,
        _type: type[BaseException] | None,
        _error: BaseException | None,
        _traceback: TracebackType | None,
    ) -> None:
        if self._process is not None and self._process.returncode is None:
            self._process.kill()
            await self._process.wait()
        if self._draining is not None:
            self._draining.cancel()


async def run_workflow(
    client: Client, workflow: type, run: Callable[..., Any], *args: Any, timeout: float = 30
) -> Any:
    """Run one test workflow to its result, on a worker of its own queue."""
    queue = f"test-{uuid.uuid4().hex[:8]}"
    async with Worker(
        client, task_queue=queue, workflows=[workflow], workflow_runner=UnsandboxedWorkflowRunner()
    ):
        return await asyncio.wait_for(
            client.execute_workflow(
                run, args=list(args), id=f"test-{uuid.uuid4().hex}", task_queue=queue
            ),
            timeout,
        )
