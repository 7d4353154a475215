"""The API fuzzed from its own OpenAPI document (schemathesis), against the real broker.

Every answer must be documented, conform to its schema, and never be a 5xx; requests without
the key must be refused (schemathesis checks that auth is not ignored).
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any, cast

import pytest
import schemathesis
import uvicorn
from hypothesis import HealthCheck, settings
from schemathesis import GenerationMode

from contracts import EVENT_TYPES
from deploy.local.stack import StackConfig
from services.common.http import Server
from services.intake.api import Intake, create_app
from services.intake.keys import IssuedKey
from services.intake.settings import IntakeSettings
from tests.services.intake.support import SOURCE, issue_key, make_settings

pytestmark = pytest.mark.stack


@contextlib.asynccontextmanager
async def _serves_only_its_schema(_settings: IntakeSettings) -> AsyncIterator[Intake]:
    yield cast(Intake, None)


# The document comes from an app that opens nothing (its limits are the defaults, as the
# fuzzed app's are). The fuzzed app is built per module below, once the broker's address is
# known, and served by uvicorn over real HTTP: its lifespan (producer, store, DLQ index) is
# then uvicorn's, started and stopped by the fixture, not run by schemathesis in a loop of
# its own (whose shutdown could hang the teardown).
schema = schemathesis.openapi.from_dict(
    create_app(IntakeSettings(_env_file=None), intake_factory=_serves_only_its_schema).openapi()
)


@pytest.fixture(scope="module")
def fuzzed(
    tmp_path_factory: pytest.TempPathFactory, stack: StackConfig, free_port: Callable[[], int]
) -> Iterator[tuple[IssuedKey, str]]:
    intake_settings = make_settings(
        tmp_path_factory.mktemp("fuzz"),
        kafka=stack.kafka_bootstrap_servers,
        temporal=stack.temporal_address,
        intake_rate_per_second=10_000.0,
        intake_rate_burst=10_000,
    )
    issued = asyncio.run(issue_key(intake_settings, SOURCE, EVENT_TYPES))
    port = free_port()
    server = Server(
        uvicorn.Config(create_app(intake_settings), host="127.0.0.1", port=port, log_config=None)
    )
    serving = threading.Thread(target=server.run, daemon=True)
    serving.start()
    for _ in range(200):
        if server.started:
            break
        time.sleep(0.05)
    assert server.started, "the intake did not start"
    yield issued, f"http://127.0.0.1:{port}"
    server.should_exit = True
    serving.join(30)


@schema.parametrize()
@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
def test_the_api_holds_to_its_openapi_document(
    case: schemathesis.Case[Any], fuzzed: tuple[IssuedKey, str]
) -> None:
    key, base_url = fuzzed
    if case.meta is not None and case.meta.generation.mode is GenerationMode.POSITIVE:
        # Valid data with a random `source` only ever meets the 403; with the key's own
        # source it goes on to the contract checks, Kafka and Temporal.
        if case.operation.path == "/v1/events" and isinstance(case.body, dict):
            case.body["source"] = SOURCE
        if case.path_parameters and "source" in case.path_parameters:
            case.path_parameters["source"] = SOURCE.removeprefix("/")
    case.call_and_validate(
        base_url=base_url,
        headers={"Authorization": f"Bearer {key.secret}"},
        # Schema-valid is not contract-valid: the contract also checks what a JSON Schema
        # cannot (no future dates, check digits, a name present...), each listed in the
        # schema's description, and answers 422 naming the rule. Every other check stands.
        excluded_checks=[schemathesis.checks.positive_data_acceptance],
    )
