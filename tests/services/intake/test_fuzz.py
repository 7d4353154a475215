"""The API fuzzed from its own OpenAPI document (schemathesis), against the real broker.

Every one of schemathesis' checks runs: every answer must be documented, conform to its
schema, and never be a 5xx; schema-invalid requests must be refused, schema-valid ones
accepted; requests without the key must be refused (auth is not ignored).
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
from contracts.rules import MODEL_ONLY_RULES
from deploy.local.stack import StackConfig
from services.common.http import Server
from services.intake.api import EVENTS_PATH, Intake, create_app
from services.intake.keys import IssuedKey
from services.intake.settings import IntakeSettings
from tests.services.intake.support import SOURCE, issue_key, make_settings

pytestmark = pytest.mark.stack


@contextlib.asynccontextmanager
async def _serves_only_its_schema(_settings: IntakeSettings) -> AsyncIterator[Intake]:
    yield cast(Intake, None)


# Schema-valid is not contract-valid: the contract also checks what a JSON Schema cannot
# state (the clock, check digits, comparing two fields: contracts.rules.MODEL_ONLY_RULES,
# also listed in each schema's description) and answers 422 naming the rule. So for the
# single-event POST, positive_data_acceptance also takes a 422 (schemathesis' own setting
# for rules a schema cannot express), and the check below holds that 422 to those rules:
# any other one is a rule the schema should state.
#
# max_response_time is the one check with no default: the intake bounds its own waits (here
# 5 s for a Kafka ack, 3 s for Temporal), so an answer slower than this is a hang, not a
# slow machine.
_POSITIVE_STATUSES = ["2xx", "3xx", "401", "403", "404", "409", "422", "429", "5xx"]
_CONFIG = schemathesis.Config.from_dict(
    {
        "checks": {"max_response_time": 15.0},
        "operations": [
            {
                "include-name": f"POST {EVENTS_PATH}",
                "checks": {"positive_data_acceptance": {"expected-statuses": _POSITIVE_STATUSES}},
            }
        ],
    }
)

# The document comes from an app that opens nothing (its limits are the defaults, as the
# fuzzed app's are). The fuzzed app is built per module below, once the broker's address is
# known, and served by uvicorn over real HTTP: its lifespan (producer, store, DLQ index) is
# then uvicorn's, started and stopped by the fixture, not run by schemathesis in a loop of
# its own (whose shutdown could hang the teardown).
schema = schemathesis.openapi.from_dict(
    create_app(IntakeSettings(_env_file=None), intake_factory=_serves_only_its_schema).openapi(),
    config=_CONFIG,
)


def _inside(loc: str, container: str) -> bool:
    return loc.startswith(container) and loc[len(container) : len(container) + 1] in {"[", "."}


def rejects_valid_events_only_for_model_only_rules(
    ctx: schemathesis.CheckContext, response: schemathesis.Response, case: schemathesis.Case[Any]
) -> bool | None:
    """A schema-valid event refused with 422 breaks only rules no JSON Schema can state."""
    if (
        case.meta is None
        or case.meta.generation.mode is not GenerationMode.POSITIVE
        or case.operation.label != f"POST {EVENTS_PATH}"
        or response.status_code != 422
    ):
        return None
    body = response.json()
    assert body.get("error") == "contract_violation", f"a schema-valid event got {body}"
    violations = body.get("violations", [])
    locs = [v["loc"] for v in violations]
    # A list whose items failed also fails its own length ("at least 1 item after
    # validation"): that follows from the items' rules, it is not one of its own.
    own = [v for v in violations if not any(_inside(loc, v["loc"]) for loc in locs)]
    stated = sorted({v["rule"] for v in own} - MODEL_ONLY_RULES.keys())
    assert not stated, (
        f"a schema-valid event was refused for rules its schema could state: {stated}"
    )
    return None


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
@settings(max_examples=50, deadline=None, suppress_health_check=list(HealthCheck))
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
        additional_checks=[rejects_valid_events_only_for_model_only_rules],
    )
