"""The intake counts what it put on the real Kafka, by type, and what it refused, by code."""

from __future__ import annotations

import pytest
from prometheus_client import REGISTRY

from services.intake.settings import IntakeSettings
from tests.services.intake.support import BIRTH, MOVE, bearer, example, issue_key, running


def count(metric: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(metric, labels) or 0.0


def counted() -> dict[str, float]:
    return {
        "moves": count("lifeevents_intake_accepted_total", event_type=MOVE),
        "not_allowed": count("lifeevents_intake_rejected_total", reason="type_not_allowed"),
        "invalid": count("lifeevents_intake_rejected_total", reason="contract_violation"),
    }


@pytest.mark.stack
async def test_accepted_by_type_and_rejected_by_code(stack_settings: IntakeSettings) -> None:
    key = await issue_key(stack_settings, types=[MOVE])
    before = counted()
    async with running(stack_settings) as client:
        one = await client.post("/v1/events", json=example(), headers=bearer(key))
        refused = await client.post("/v1/events", json=example(BIRTH), headers=bearer(key))
        batch = await client.post(
            "/v1/events:batch",
            json=[example(), example(specversion="0.3")],
            headers={**bearer(key), "Content-Type": "application/json"},
        )
    assert (one.status_code, refused.status_code) == (202, 403)
    assert batch.json()["accepted"] == 1
    moved = {name: value - before[name] for name, value in counted().items()}
    assert moved == {"moves": 2, "not_allowed": 1, "invalid": 1}
