"""Helpers for the intake tests: settings per test, a running app, keys, and example events."""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import AsyncIterator, Iterable
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI

from services.intake.api import create_app
from services.intake.keys import ApiKeys, IssuedKey
from services.intake.settings import IntakeSettings
from services.intake.store import IntakeStore

REPO_ROOT = Path(__file__).resolve().parents[3]
EXAMPLES = REPO_ROOT / "contracts" / "examples"

MOVE = "lifeevents.address.changed.v1"
BIRTH = "lifeevents.birth.registered.v1"
DEATH = "lifeevents.death.registered.v1"
SOURCE = "/council-tax/exampleshire"
_EXAMPLE_FILES = {
    MOVE: "address-changed-household.json",
    BIRTH: "birth-registered.json",
    DEATH: "death-registered.json",
}


def make_settings(
    tmp_path: Path,
    *,
    kafka: str,
    temporal: str = "localhost:1",
    **overrides: Any,
) -> IntakeSettings:
    """Own topics, consumer group and database per test, so tests never see each other."""
    lane = uuid.uuid4().hex[:12]
    values: dict[str, Any] = {
        "var_dir": tmp_path / "var",
        "kafka_bootstrap_servers": kafka,
        "temporal_address": temporal,
        "life_events_topic": f"test.intake.{lane}",
        "life_events_dlq_topic": f"test.intake.{lane}.dlq",
        "kafka_topic_partitions": 1,
        "intake_dlq_group_id": f"test-intake-dlq-{lane}",
        "intake_publish_timeout_seconds": 5.0,
        "intake_status_timeout_seconds": 3.0,
        "intake_kafka_startup_grace_seconds": 30.0,
    }
    values.update(overrides)
    return IntakeSettings(**values)


async def issue_key(
    settings: IntakeSettings, source: str = SOURCE, types: Iterable[str] = (MOVE,)
) -> IssuedKey:
    async with await IntakeStore.open(settings.database_url("intake")) as store:
        return await ApiKeys(store).issue(source, types)


async def revoke_key(settings: IntakeSettings, key_id: str) -> bool:
    async with await IntakeStore.open(settings.database_url("intake")) as store:
        return await ApiKeys(store).revoke(key_id)


def bearer(issued: IssuedKey) -> dict[str, str]:
    return bearer_header(issued.secret)


def bearer_header(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def example(event_type: str = MOVE, *, source: str = SOURCE, **changes: Any) -> dict[str, Any]:
    """A valid structured-mode event from contracts/examples, with a fresh id."""
    event: dict[str, Any] = json.loads((EXAMPLES / _EXAMPLE_FILES[event_type]).read_text())
    event.update({"source": source, "id": str(uuid.uuid4()), **changes})
    return event


@contextlib.asynccontextmanager
async def running(
    settings: IntakeSettings, app: FastAPI | None = None
) -> AsyncIterator[httpx.AsyncClient]:
    """The app with its lifespan (store, producer, DLQ index) and an in-process client."""
    app = app or create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://intake.test") as client:
            yield client
