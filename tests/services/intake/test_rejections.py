"""What the API refuses, and how: 401, 403, 413, 415, 422, 429, and 503 when Kafka is down.

None of this needs a broker: every refusal happens before anything is published, and the
503 is what a down broker (a closed port) answers.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager

import httpx
import pytest
from aiokafka.errors import KafkaConnectionError
from structlog.testing import capture_logs

from services.intake.api import Intake, create_app, running_intake
from services.intake.settings import IntakeSettings
from tests.services.intake.support import (
    BIRTH,
    MOVE,
    SOURCE,
    bearer,
    example,
    issue_key,
    revoke_key,
    running,
)

NAME, SURNAME, DOB = "Zebedee", "Quillfeather", "2099-03-04"


async def test_no_key_is_401(down_settings: IntakeSettings) -> None:
    async with running(down_settings) as client:
        answer = await client.post("/v1/events", json=example())
    assert answer.status_code == 401
    assert answer.headers["www-authenticate"].startswith("Bearer")
    assert answer.json()["error"] == "unauthorized"


@pytest.mark.parametrize(
    "authorization",
    [
        "Bearer not-a-key",
        "Bearer lek_000000000000_" + "A" * 43,
        "Basic dXNlcjpwYXNz",
        "Bearer ",
    ],
)
async def test_wrong_key_is_401(down_settings: IntakeSettings, authorization: str) -> None:
    await issue_key(down_settings)
    async with running(down_settings) as client:
        answer = await client.post(
            "/v1/events", json=example(), headers={"Authorization": authorization}
        )
    assert answer.status_code == 401
    assert answer.headers["www-authenticate"].startswith("Bearer")


async def test_a_key_with_the_right_id_but_another_secret_is_401(
    down_settings: IntakeSettings,
) -> None:
    issued = await issue_key(down_settings)
    forged = issued.secret[:-4] + ("AAAA" if not issued.secret.endswith("AAAA") else "BBBB")
    async with running(down_settings) as client:
        answer = await client.post(
            "/v1/events", json=example(), headers={"Authorization": f"Bearer {forged}"}
        )
    assert answer.status_code == 401


async def test_revoked_key_is_401(down_settings: IntakeSettings) -> None:
    issued = await issue_key(down_settings)
    async with running(down_settings) as client:
        before = await client.post("/v1/events", json=example(), headers=bearer(issued))
        assert before.status_code == 503  # authenticated; only Kafka is missing
        assert await revoke_key(down_settings, issued.key.key_id)
        after = await client.post("/v1/events", json=example(), headers=bearer(issued))
    assert after.status_code == 401
    assert after.json()["message"] == "the API key is unknown or revoked"


async def test_type_the_key_may_not_send_is_403(down_settings: IntakeSettings) -> None:
    issued = await issue_key(down_settings, types=[MOVE])
    async with running(down_settings) as client:
        answer = await client.post("/v1/events", json=example(BIRTH), headers=bearer(issued))
    assert answer.status_code == 403
    assert answer.json()["error"] == "type_not_allowed"


async def test_another_source_is_403(down_settings: IntakeSettings) -> None:
    issued = await issue_key(down_settings, source=SOURCE)
    async with running(down_settings) as client:
        answer = await client.post(
            "/v1/events", json=example(source="/housing/exampleshire"), headers=bearer(issued)
        )
    assert answer.status_code == 403
    assert answer.json()["error"] == "source_not_allowed"


@pytest.mark.parametrize(
    "body",
    [b"", b"{", b'{"id": "x",}', b"\xff\xfe", b"[" * 10_000, b'{"n": NaN}'],
    ids=["empty", "truncated", "trailing-comma", "not-utf8", "deep", "nan"],
)
async def test_malformed_json_is_422(down_settings: IntakeSettings, body: bytes) -> None:
    issued = await issue_key(down_settings)
    headers = {**bearer(issued), "Content-Type": "application/cloudevents+json"}
    async with running(down_settings) as client:
        answer = await client.post("/v1/events", content=body, headers=headers)
    assert answer.status_code == 422
    assert answer.json()["error"] == "json_invalid"


@pytest.mark.parametrize("body", ["[]", '"event"', "42", "null"])
async def test_json_that_is_not_an_object_is_422(down_settings: IntakeSettings, body: str) -> None:
    issued = await issue_key(down_settings)
    headers = {**bearer(issued), "Content-Type": "application/json"}
    async with running(down_settings) as client:
        answer = await client.post("/v1/events", content=body, headers=headers)
    assert answer.status_code == 422
    assert answer.json()["violations"][0]["rule"] == "object_required"


async def test_invalid_event_is_422_naming_field_and_rule(down_settings: IntakeSettings) -> None:
    issued = await issue_key(down_settings)
    event = example()
    event["data"]["movers"][0]["date_of_birth"] = "not a date"
    del event["subject"]
    async with running(down_settings) as client:
        answer = await client.post("/v1/events", json=event, headers=bearer(issued))
    assert answer.status_code == 422
    body = answer.json()
    assert body["error"] == "contract_violation"
    found = {(v["loc"], v["rule"]) for v in body["violations"]}
    assert ("subject", "missing") in found
    assert ("data.movers[0].date_of_birth", "date_from_datetime_parsing") in found or any(
        loc == "data.movers[0].date_of_birth" for loc, _ in found
    )


async def test_a_422_carries_no_personal_data_in_body_or_logs(
    down_settings: IntakeSettings, caplog: pytest.LogCaptureFixture
) -> None:
    issued = await issue_key(down_settings)
    event = example()
    mover = event["data"]["movers"][0]
    mover["name"] = {"given_names": NAME, "family_name": SURNAME}
    mover["date_of_birth"] = DOB  # in the future: breaks a rule
    mover["contact"] = {"email": f"{NAME}.{SURNAME}@@example"}  # not an address
    event["data"]["movers"][1]["nhs_number"] = "9990000027"  # fails the check digit
    caplog.set_level("DEBUG")
    async with running(down_settings) as client:
        with capture_logs() as logs:
            single = await client.post("/v1/events", json=event, headers=bearer(issued))
            batch = await client.post("/v1/events:batch", json=[event], headers=bearer(issued))
    assert single.status_code == 422
    assert batch.status_code == 200
    assert batch.json()["results"][0]["status"] == 422
    locations = {v["loc"] for v in single.json()["violations"]}
    assert "data.movers[0].date_of_birth" in locations
    assert "data.movers[0].contact.email" in locations
    for text in (single.text, batch.text, repr(logs), caplog.text):
        for value in (NAME, SURNAME, DOB, "9990000027", "@@example"):
            assert value not in text


async def test_unsupported_content_type_is_415(down_settings: IntakeSettings) -> None:
    issued = await issue_key(down_settings)
    headers = {**bearer(issued), "Content-Type": "text/plain"}
    async with running(down_settings) as client:
        answer = await client.post("/v1/events", content=b"{}", headers=headers)
    assert answer.status_code == 415


async def test_body_over_the_limit_is_413_by_content_length(
    make_down_settings: Callable[..., IntakeSettings],
) -> None:
    settings = make_down_settings(intake_max_body_bytes=1024)
    issued = await issue_key(settings)
    body = b'{"pad": "' + b"x" * 2000 + b'"}'
    headers = {**bearer(issued), "Content-Type": "application/json"}
    async with running(settings) as client:
        answer = await client.post("/v1/events", content=body, headers=headers)
    assert answer.status_code == 413
    assert answer.json()["error"] == "payload_too_large"


async def test_chunked_body_over_the_limit_is_413(
    make_down_settings: Callable[..., IntakeSettings],
) -> None:
    settings = make_down_settings(intake_max_body_bytes=1024)
    issued = await issue_key(settings)
    sent = 0

    async def chunks() -> AsyncIterator[bytes]:
        nonlocal sent
        yield b'{"pad": "'
        for _ in range(100):
            sent += 1
            yield b"x" * 100
        yield b'"}'

    headers = {**bearer(issued), "Content-Type": "application/json"}
    async with running(settings) as client:
        answer = await client.post("/v1/events", content=chunks(), headers=headers)
    assert "content-length" not in answer.request.headers
    assert answer.request.headers["transfer-encoding"] == "chunked"
    assert answer.status_code == 413
    assert sent < 100  # cut off at the limit, not read to the end


async def test_batch_limit_is_separate_and_larger(
    make_down_settings: Callable[..., IntakeSettings],
) -> None:
    settings = make_down_settings(
        intake_max_body_bytes=1024,
        intake_max_batch_body_bytes=64 * 1024,
    )
    issued = await issue_key(settings)
    headers = {**bearer(issued), "Content-Type": "application/json"}
    padded = b'[{"pad": "' + b"x" * 2000 + b'"}]'
    async with running(settings) as client:
        fits = await client.post("/v1/events:batch", content=padded, headers=headers)
        too_big = await client.post(
            "/v1/events:batch", content=b"[" + b" " * 70_000 + b"]", headers=headers
        )
    assert fits.status_code == 200
    assert fits.json()["results"][0]["status"] == 422
    assert too_big.status_code == 413


async def test_too_many_requests_is_429_with_retry_after(
    make_down_settings: Callable[..., IntakeSettings],
) -> None:
    settings = make_down_settings(
        intake_rate_per_second=0.1,
        intake_rate_burst=3,
    )
    issued = await issue_key(settings)
    other = await issue_key(settings, source="/housing/exampleshire")
    headers = {**bearer(issued), "Content-Type": "application/json"}
    async with running(settings) as client:
        answers = [
            (await client.post("/v1/events", content=b"{}", headers=headers)).status_code
            for _ in range(3)
        ]
        limited = await client.post("/v1/events", content=b"{}", headers=headers)
        batch = await client.post("/v1/events:batch", content=b"[{}]", headers=headers)
        # The bucket is per source: another source system is not held back.
        elsewhere = await client.post(
            "/v1/events", content=b"{}", headers={**headers, **bearer(other)}
        )
    assert answers == [422, 422, 422]
    assert limited.status_code == 429
    assert 1 <= int(limited.headers["retry-after"]) <= 10
    assert batch.status_code == 429
    assert elsewhere.status_code == 422


async def test_broker_down_is_503_with_retry_after(down_settings: IntakeSettings) -> None:
    issued = await issue_key(down_settings)
    started = time.monotonic()
    async with running(down_settings) as client:
        single = await client.post("/v1/events", json=example(), headers=bearer(issued))
        batch = await client.post(
            "/v1/events:batch", json=[example(), {"id": "broken"}], headers=bearer(issued)
        )
        health = await client.get("/healthz")
    # The app started (and answered) although Kafka never came up.
    assert time.monotonic() - started < 10
    assert single.status_code == 503
    assert single.headers["retry-after"] == str(down_settings.intake_retry_after_seconds)
    assert single.json()["error"] == "kafka_unavailable"
    assert batch.status_code == 200
    assert "retry-after" in batch.headers
    assert [r["status"] for r in batch.json()["results"]] == [503, 422]
    assert batch.json()["accepted"] == 0
    assert health.json() == {"status": "ok", "kafka": "connecting"}


async def test_batch_shape_is_checked(down_settings: IntakeSettings) -> None:
    issued = await issue_key(down_settings)
    async with running(down_settings) as client:
        not_array = await client.post("/v1/events:batch", json=example(), headers=bearer(issued))
        empty = await client.post("/v1/events:batch", json=[], headers=bearer(issued))
        too_many = await client.post("/v1/events:batch", json=[{}] * 101, headers=bearer(issued))
    for answer in (not_array, empty, too_many):
        assert answer.status_code == 422
        assert answer.json()["error"] == "batch_invalid"


class _StuckProducer:
    """A broker that took the connection but never acknowledges (or fails outright)."""

    def __init__(self, fail: bool = False) -> None:
        self.fail = fail
        self.sends = 0

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    async def send_and_wait(
        self, topic: str, value: bytes, key: bytes | None, headers: list[tuple[str, bytes]]
    ) -> None:
        self.sends += 1
        if self.fail:
            raise KafkaConnectionError("broker went away")
        await asyncio.sleep(3600)


@pytest.mark.parametrize("fail", [False, True], ids=["no-ack-in-time", "send-fails"])
async def test_no_ack_is_503_never_202(
    make_down_settings: Callable[..., IntakeSettings], fail: bool
) -> None:
    settings = make_down_settings(intake_publish_timeout_seconds=0.3)
    issued = await issue_key(settings)
    producer = _StuckProducer(fail)

    def intake(settings: IntakeSettings) -> AbstractAsyncContextManager[Intake]:
        return running_intake(settings, producer_factory=lambda: producer)

    app = create_app(settings, intake_factory=intake)
    async with running(settings, app) as client:
        await wait_until_connected(client)
        started = time.monotonic()
        single = await client.post("/v1/events", json=example(), headers=bearer(issued))
        batch = await client.post(
            "/v1/events:batch", json=[example(), example()], headers=bearer(issued)
        )
        elapsed = time.monotonic() - started
    assert single.status_code == 503
    assert [r["status"] for r in batch.json()["results"]] == [503, 503]
    assert producer.sends == 3
    assert elapsed < 3  # bounded by the publish timeout (the batch's sends run concurrently)


async def wait_until_connected(client: httpx.AsyncClient) -> None:
    for _ in range(100):
        if (await client.get("/healthz")).json()["kafka"] == "connected":
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the publisher never connected")
