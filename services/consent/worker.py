"""The consent process: Temporal activities, the HTTP API and the outbox relay, together.

`python -m services.consent` runs all three until SIGTERM or Ctrl-C, then stops them in
order: the API stops taking requests, the worker finishes the activities it holds, the relay
makes a last attempt to publish, and the store is closed.
"""

from __future__ import annotations

import asyncio

import structlog
import uvicorn
from temporalio.worker import Worker

from contracts.temporal import TaskQueue
from services.common.http import Server
from services.common.lifecycle import wait_for_shutdown_signal
from services.common.logging import configure_logging
from services.common.temporal import connect
from services.consent.activities import ConsentActivities
from services.consent.publisher import KafkaSend
from services.consent.service import open_service
from services.consent.settings import ConsentSettings

__all__ = ["main", "serve"]

log = structlog.get_logger(__name__)


async def serve(settings: ConsentSettings, stop: asyncio.Event) -> None:
    send = KafkaSend(settings)
    service = await open_service(settings, send)
    client = await connect(settings)
    worker = Worker(
        client,
        task_queue=TaskQueue.CONSENT,
        activities=ConsentActivities(service.gate).all,
    )
    server = Server(
        uvicorn.Config(
            service.api(),
            host=settings.consent_http_host,
            port=settings.consent_http_port,
            log_config=None,
            access_log=False,  # paths carry resident keys; requests are logged by the gate
            lifespan="off",
        )
    )
    assert service.relay is not None
    relay_stop = asyncio.Event()
    async with asyncio.TaskGroup() as tasks:
        tasks.create_task(worker.run())
        api = tasks.create_task(server.serve())
        relay = tasks.create_task(
            service.relay.run(settings.consent_relay_interval_seconds, relay_stop)
        )
        log.info(
            "consent.started",
            task_queue=TaskQueue.CONSENT,
            port=settings.consent_http_port,
        )
        await stop.wait()
        server.should_exit = True
        await api
        await worker.shutdown()
        relay_stop.set()
        await relay
    await send.close()
    await service.close()
    log.info("consent.stopped")


async def main() -> None:
    settings = ConsentSettings()
    configure_logging(settings.log_level, settings.log_format)
    stop = asyncio.Event()
    serving = asyncio.create_task(serve(settings, stop))
    signalled = asyncio.create_task(wait_for_shutdown_signal())
    done, _ = await asyncio.wait({serving, signalled}, return_when=asyncio.FIRST_COMPLETED)
    if signalled in done:
        log.info("consent.stopping", signal=signalled.result().name)
        stop.set()
    else:
        signalled.cancel()
    await serving
