"""`python -m services.intake`: the intake API under uvicorn, with its dead-letter index.

SIGTERM or Ctrl-C stops it cleanly: uvicorn finishes the requests in flight, then the
lifespan stops the dead-letter index and flushes the producer, and the process exits 0.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator

import structlog
import uvicorn

from services.common.lifecycle import wait_for_shutdown_signal
from services.common.logging import configure_logging
from services.intake.api import create_app
from services.intake.settings import IntakeSettings

log = structlog.get_logger(__name__)


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        # Signals are handled by `serve` below: uvicorn's own handling re-raises the signal
        # after shutting down, which would make a requested stop look like a crash.
        yield


async def serve(settings: IntakeSettings) -> None:
    config = uvicorn.Config(
        create_app(settings),
        host=settings.intake_host,
        port=settings.intake_port,
        log_config=None,  # the root logger is configured (and redacted) by configure_logging
        lifespan="on",
        timeout_graceful_shutdown=10,
    )
    server = _Server(config)
    serving = asyncio.create_task(server.serve())
    stopping = asyncio.create_task(wait_for_shutdown_signal())
    done, _ = await asyncio.wait({serving, stopping}, return_when=asyncio.FIRST_COMPLETED)
    if stopping in done:
        log.info("intake.stopping", signal=stopping.result().name)
        server.should_exit = True
    else:
        stopping.cancel()
    await serving


def main() -> None:
    settings = IntakeSettings()
    configure_logging(settings.log_level, settings.log_format)
    log.info("intake.starting", host=settings.intake_host, port=settings.intake_port)
    asyncio.run(serve(settings))


if __name__ == "__main__":
    main()
