"""Serve an ASGI app over real HTTP for the browser, in a background thread.

Chromium must load pages over the network, so an in-process test client is not enough. The
server runs uvicorn in a thread of its own with its own event loop: a page keeps loading
while a test awaits Playwright on the session's loop, and nothing the app does can stall
the test's loop (or the other way round).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn
from starlette.types import ASGIApp

__all__ = ["serving"]

HOST = "127.0.0.1"  # a secure context for the browser, as localhost is: `Secure` cookies work
STARTUP_SECONDS = 30.0


@contextmanager
def serving(app: ASGIApp, port: int) -> Iterator[str]:
    """Serve `app` on 127.0.0.1:`port` while the block runs; yields its base URL."""
    config = uvicorn.Config(
        app,
        host=HOST,
        port=port,
        log_level="warning",
        access_log=False,
        lifespan="auto",
        # The browser closes its connections when its context closes; no need to wait.
        timeout_graceful_shutdown=5,
    )
    server = uvicorn.Server(config)
    # uvicorn installs no signal handlers off the main thread, so Ctrl-C still reaches pytest.
    thread = threading.Thread(target=server.run, name=f"uvicorn:{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + STARTUP_SECONDS
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError(f"the app did not start on port {port} (its log is above)")
        if time.monotonic() > deadline:
            server.should_exit = True
            raise RuntimeError(f"the app did not start on port {port} in {STARTUP_SECONDS} s")
        time.sleep(0.01)
    try:
        yield f"http://{HOST}:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)
