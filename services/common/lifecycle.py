"""Process lifecycle shared by every service: stop cleanly on SIGTERM or Ctrl-C, and stop
with a word, not a traceback, when a store cannot be used."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Coroutine
from typing import Any

import structlog

from services.common.database import StoreUnusable

__all__ = ["STORE_UNUSABLE_EXIT", "run_service", "wait_for_shutdown_signal"]

log = structlog.get_logger(__name__)

STORE_UNUSABLE_EXIT = 2
"""The exit status of a process whose store cannot be used (a supervisor tries it again)."""


def run_service(name: str, main: Coroutine[Any, Any, None]) -> None:
    """`asyncio.run(main)` for a service process. A store that cannot be used (a file that
    is not a database, a server that refuses) is said in one log line, which store and
    what is wrong, and the process exits `STORE_UNUSABLE_EXIT`."""
    try:
        asyncio.run(main)
    except StoreUnusable as error:
        log.error(f"{name}.store_unusable", store=error.where, problem=error.problem)
        raise SystemExit(STORE_UNUSABLE_EXIT) from None


async def wait_for_shutdown_signal() -> signal.Signals:
    """Return the first SIGINT or SIGTERM the process receives."""
    loop = asyncio.get_running_loop()
    received: asyncio.Future[signal.Signals] = loop.create_future()

    def receive(sig: signal.Signals) -> None:
        if not received.done():
            received.set_result(sig)

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, receive, sig)
    try:
        return await received
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
