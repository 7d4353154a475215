"""`python -m services.intake`: the intake API under uvicorn, with its dead-letter index.

SIGTERM or Ctrl-C stops it cleanly: uvicorn finishes the requests in flight, then the
lifespan stops the dead-letter index and flushes the producer, and the process exits 0.
"""

from __future__ import annotations

import structlog
import uvicorn

from services.common.http import serve_until_signalled
from services.common.lifecycle import run_service
from services.common.logging import configure_logging
from services.common.metrics import serve_metrics
from services.common.telemetry import configure_tracing
from services.intake.api import create_app
from services.intake.settings import IntakeSettings

log = structlog.get_logger(__name__)


async def serve(settings: IntakeSettings) -> None:
    config = uvicorn.Config(
        create_app(settings),
        host=settings.intake_host,
        port=settings.intake_port,
        log_config=None,  # the root logger is configured (and redacted) by configure_logging
        lifespan="on",
        timeout_graceful_shutdown=10,
    )
    await serve_until_signalled(config, "intake")


def main() -> None:
    settings = IntakeSettings()
    configure_logging(settings.log_level, settings.log_format)
    configure_tracing(settings, "intake")
    serve_metrics(settings)
    log.info("intake.starting", host=settings.intake_host, port=settings.intake_port)
    run_service("intake", serve(settings))


if __name__ == "__main__":
    main()
