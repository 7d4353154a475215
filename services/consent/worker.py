"""The consent process: Temporal activities, the HTTP API and the outbox relay, together.

`python -m services.consent` runs the shared worker process (`services.common.worker`) with
the API and the outbox relay alongside until SIGTERM or Ctrl-C, then stops in order: the
API stops taking requests, the worker finishes the activities it holds, the relay stops
(what it has not published stays in the outbox for the next start), and the store is
closed.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import uvicorn

from contracts.temporal import TaskQueue
from services.common.http import serving
from services.common.worker import Served, run_worker
from services.consent.activities import ConsentActivities
from services.consent.publisher import KafkaSend, OutboxRelay
from services.consent.service import open_service
from services.consent.settings import ConsentSettings

__all__ = ["main", "serve"]


@asynccontextmanager
async def relaying(relay: OutboxRelay, interval: float) -> AsyncIterator[None]:
    """The relay retries pending changes every `interval` seconds while the block runs."""
    stop = asyncio.Event()
    running = asyncio.create_task(relay.run(interval, stop))
    try:
        yield
    finally:
        stop.set()
        await running


@asynccontextmanager
async def serve(settings: ConsentSettings) -> AsyncIterator[Served]:
    send = KafkaSend(settings)
    try:
        service = await open_service(settings, send)
        assert service.relay is not None
        try:
            async with relaying(service.relay, settings.consent_relay_interval_seconds):
                api = uvicorn.Config(
                    service.api(),
                    host=settings.consent_http_host,
                    port=settings.consent_http_port,
                    log_config=None,  # the root logger is configured (and redacted)
                    access_log=False,  # paths carry resident keys; the gate logs requests
                    lifespan="off",
                )
                yield Served(
                    TaskQueue.CONSENT,
                    ConsentActivities(service.gate).all,
                    alongside=[serving(api)],
                )
        finally:
            await service.close()
    finally:
        await send.close()


def main() -> None:
    run_worker("consent", ConsentSettings, serve)
