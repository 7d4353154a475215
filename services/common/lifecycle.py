"""Process lifecycle shared by every service: stop cleanly on SIGTERM or Ctrl-C."""

from __future__ import annotations

import asyncio
import signal

__all__ = ["wait_for_shutdown_signal"]


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
