"""Serving an ASGI app with uvicorn inside a process that owns its signals."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator

import structlog
import uvicorn

from services.common.lifecycle import wait_for_shutdown_signal

__all__ = ["Server", "serve_until_signalled", "serving"]

log = structlog.get_logger(__name__)


class Server(uvicorn.Server):
    """uvicorn without its own signal handling: the process stops it (`should_exit`). Left
    to itself, uvicorn re-raises the signal after shutting down, so a requested stop would
    exit 143 and look like a crash."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


async def serve_until_signalled(config: uvicorn.Config, service: str) -> None:
    """Serve until SIGTERM or Ctrl-C, then finish the requests in flight and return."""
    server = Server(config)
    serving = asyncio.create_task(server.serve())
    stopping = asyncio.create_task(wait_for_shutdown_signal())
    done, _ = await asyncio.wait({serving, stopping}, return_when=asyncio.FIRST_COMPLETED)
    if stopping in done:
        log.info(f"{service}.stopping", signal=stopping.result().name)
        server.should_exit = True
    else:
        stopping.cancel()
    await serving


@contextlib.asynccontextmanager
async def serving(config: uvicorn.Config) -> AsyncIterator[Server]:
    """Serve while the block runs (beside a Temporal worker, say); on leaving it, finish the
    requests in flight and stop."""
    server = Server(config)
    task = asyncio.create_task(server.serve())
    try:
        yield server
    finally:
        server.should_exit = True
        await task
