"""`python -m services.orchestrator`: consume life events and start their workflows."""

from __future__ import annotations

import asyncio

from services.common.logging import configure_logging
from services.common.metrics import serve_metrics
from services.common.telemetry import configure_tracing
from services.orchestrator.settings import OrchestratorSettings
from services.orchestrator.subscriber import build_app


def main() -> None:
    settings = OrchestratorSettings()
    configure_logging(settings.log_level, settings.log_format)
    configure_tracing(settings, "orchestrator")
    serve_metrics(settings)
    app, _ = build_app(settings)
    asyncio.run(app.run())


if __name__ == "__main__":
    main()
