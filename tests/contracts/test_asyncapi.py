"""The AsyncAPI document: FastStream-generated, naming the topics from contracts.topics."""

from __future__ import annotations

import json
from typing import Any

from jsonschema import Draft202012Validator
from tests_contracts_support import example_event

from contracts.asyncapi import asyncapi_document
from contracts.generate import ASYNCAPI_FILE
from contracts.registry import EVENT_TYPES
from contracts.topics import ALL_TOPICS, CONSENT, LIFE_EVENTS, LIFE_EVENTS_DLQ


def document() -> dict[str, Any]:
    return asyncapi_document()


def test_channels_are_the_topics() -> None:
    addresses = {channel["address"] for channel in document()["channels"].values()}
    assert addresses == {LIFE_EVENTS, LIFE_EVENTS_DLQ}
    assert set(ALL_TOPICS) == {LIFE_EVENTS, LIFE_EVENTS_DLQ, CONSENT}


def test_life_event_payload_covers_every_type() -> None:
    schemas = document()["components"]["schemas"]
    for model in EVENT_TYPES.values():
        assert model.__name__ in schemas


def test_life_event_message_documents_binary_mode_headers() -> None:
    messages = document()["components"]["messages"]
    (message,) = [m for name, m in messages.items() if name.startswith(f"{LIFE_EVENTS}:")]
    headers = message["headers"]
    assert headers["properties"]["ce_type"]["enum"] == sorted(EVENT_TYPES)
    assert {"content-type", "ce_id", "ce_source", "ce_subject", "ce_time"} <= set(
        headers["required"]
    )
    assert message["bindings"]["kafka"]["key"] == {"type": "string"}
    assert "correlationId" not in message


def test_example_headers_satisfy_the_documented_header_schema() -> None:
    from contracts import from_structured, to_binary

    messages = document()["components"]["messages"]
    (message,) = [m for name, m in messages.items() if name.startswith(f"{LIFE_EVENTS}:")]
    record = to_binary(from_structured(example_event("death-registered")))
    headers = {name: value.decode() for name, value in record.headers}
    Draft202012Validator(message["headers"]).validate(headers)


def test_generation_is_deterministic_and_committed() -> None:
    assert document() == document()
    assert json.loads(ASYNCAPI_FILE.read_text("utf-8")) == document()
