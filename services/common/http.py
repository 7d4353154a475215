"""Serving an ASGI app with uvicorn inside a process that owns its signals."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator
from typing import Any

import structlog
import uvicorn

from services.common.database import StoreUnusable
from services.common.lifecycle import wait_for_shutdown_signal

__all__ = ["Server", "serve_until_signalled", "serving"]

log = structlog.get_logger(__name__)


class Server(uvicorn.Server):
    """uvicorn without its own signal handling: the process stops it (`should_exit`). Left
    to itself, uvicorn re-raises the signal after shutting down, so a requested stop would
    exit 143 and look like a crash."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self._startup = _StartupFailure(config.app)
        config.app = self._startup

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield

    async def startup(self, sockets: Any = None) -> None:
        # uvicorn logs a lifespan's exception as a traceback and exits 3; a store that
        # cannot be used is raised instead, for run_service to say in one line (exit 2).
        try:
            await super().startup(sockets)
        except SystemExit:
            if self._startup.unusable is not None:
                raise self._startup.unusable from None
            raise


class _StartupFailure:
    """The app, with the StoreUnusable its lifespan raised at startup kept, not logged."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.unusable: StoreUnusable | None = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "lifespan":
            await self.app(scope, receive, send)
            return
        held: list[Any] = []

        async def holding_failure(message: Any) -> None:
            if message["type"] == "lifespan.startup.failed":
                held.append(message)  # its text is the traceback; sent once we know why
            else:
                await send(message)

        try:
            await self.app(scope, receive, holding_failure)
        except StoreUnusable as error:
            self.unusable = error
            await send({"type": "lifespan.startup.failed", "message": ""})
            return
        finally:
            if held and self.unusable is None:
                await send(held[0])


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
