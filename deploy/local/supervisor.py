"""Run every service as a child process: restart on crash, prefix and keep their logs, stop cleanly.

Children run in their own sessions, so a Ctrl-C at the terminal reaches only the supervisor,
which then stops them in reverse order: SIGTERM, a grace period, then SIGKILL.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import time
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import TextIO

from deploy.local.services import ServiceSpec

__all__ = ["Supervisor"]

GRACE_SECONDS = 15.0
MAX_BACKOFF_SECONDS = 30.0
HEALTHY_AFTER_SECONDS = 60.0  # a child that lived this long starts its backoff afresh


class Supervisor:
    def __init__(
        self,
        specs: tuple[ServiceSpec, ...],
        log_dir: Path,
        env: dict[str, str] | None = None,
        out: TextIO = sys.stdout,
        env_for: Callable[[ServiceSpec], Mapping[str, str]] | None = None,
    ) -> None:
        self.specs = specs
        self.log_dir = log_dir
        self.env = {**os.environ, **(env or {})}
        self.env_for = env_for  # what one service's environment adds: its own principal
        self.out = out
        self._procs: dict[str, asyncio.subprocess.Process] = {}
        self._stopping = False
        self._width = max((len(s.name) for s in specs), default=0)

    async def run_until(self, stop: Awaitable[object]) -> None:
        """Keep every service running until `stop` completes, then stop them all."""
        self.log_dir.mkdir(parents=True, exist_ok=True)
        keepers = [asyncio.create_task(self._keep_running(spec)) for spec in self.specs]
        try:
            await stop
        finally:
            self._stopping = True
            for spec in reversed(self.specs):
                await self._stop(spec.name)
            for keeper in keepers:
                keeper.cancel()
            await asyncio.gather(*keepers, return_exceptions=True)

    async def _keep_running(self, spec: ServiceSpec) -> None:
        backoff = 1.0
        while not self._stopping:
            started = time.monotonic()
            proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                spec.module,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,
                env={**self.env, **(self.env_for(spec) if self.env_for else {})},
                start_new_session=True,
            )
            self._procs[spec.name] = proc
            self._say(spec.name, f"started (pid {proc.pid})")
            await self._pump(spec.name, proc)
            code = await proc.wait()
            if self._stopping:
                return
            if time.monotonic() - started > HEALTHY_AFTER_SECONDS:
                backoff = 1.0
            self._say(spec.name, f"exited with code {code}; restarting in {backoff:.0f} s")
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)

    async def _pump(self, name: str, proc: asyncio.subprocess.Process) -> None:
        assert proc.stdout is not None
        with (self.log_dir / f"{name}.log").open("a", encoding="utf-8") as log:
            async for raw in proc.stdout:
                line = raw.decode(errors="replace").rstrip("\n")
                log.write(line + "\n")
                log.flush()
                self._say(name, line)

    async def _stop(self, name: str) -> None:
        proc = self._procs.get(name)
        if proc is None or proc.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            proc.terminate()
        try:
            await asyncio.wait_for(proc.wait(), GRACE_SECONDS)
        except TimeoutError:
            self._say(name, f"did not stop within {GRACE_SECONDS:.0f} s; killing")
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()
        self._say(name, "stopped")

    def _say(self, name: str, line: str) -> None:
        print(f"{name:<{self._width}} | {line}", file=self.out, flush=True)
