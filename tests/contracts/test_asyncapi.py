"""The AsyncAPI document: FastStream-generated, naming the topics from contracts.topics."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from shape_examples import example
from tests_contracts_support import example_event

from contracts.asyncapi import asyncapi_document
from contracts.generate import ASYNCAPI_FILE
from contracts.partners import (
    DEATH_NOTICE_SCHEMA_URI,
    DEATH_NOTICE_SHAPE,
    DEATH_NOTIFIED,
    DeathNotice,
    death_notified,
    to_partner_record,
)
from contracts.registry import EVENT_TYPES
from contracts.topics import ALL_TOPICS, CONSENT, LIFE_EVENTS, LIFE_EVENTS_DLQ, PARTNER_TOPICS

PARTNER_CHANNELS = {
    "lifeevents.partner.dwp.v1",
    "lifeevents.partner.hmrc.v1",
    "lifeevents.partner.hm_passport_office.v1",
    "lifeevents.partner.dvla.v1",
}


def document() -> dict[str, Any]:
    return asyncapi_document()


def test_channels_are_the_topics() -> None:
    addresses = {channel["address"] for channel in document()["channels"].values()}
    assert addresses == {LIFE_EVENTS, LIFE_EVENTS_DLQ, *PARTNER_CHANNELS}
    assert set(ALL_TOPICS) == {LIFE_EVENTS, LIFE_EVENTS_DLQ, CONSENT}
    assert set(PARTNER_TOPICS.values()) == PARTNER_CHANNELS
    assert all(topic == f"lifeevents.partner.{code}.v1" for code, topic in PARTNER_TOPICS.items())


def _partner_message(topic: str) -> dict[str, Any]:
    messages = document()["components"]["messages"]
    (message,) = [m for name, m in messages.items() if name.startswith(f"{topic}:")]
    return message


@pytest.mark.parametrize("topic", sorted(PARTNER_CHANNELS))
def test_partner_channels_are_sent_death_notices(topic: str) -> None:
    doc = document()
    (name,) = [name for name, c in doc["channels"].items() if c["address"] == topic]
    (operation,) = [o for o in doc["operations"].values() if o["channel"]["$ref"].endswith(name)]
    assert operation["action"] == "send"  # by the partners service; the organisation receives
    message = _partner_message(topic)
    assert message["payload"] == {"$ref": f"#/components/schemas/{DeathNotice.__name__}"}
    headers = message["headers"]
    assert headers["properties"]["ce_type"] == {"const": DEATH_NOTIFIED}
    assert headers["properties"]["ce_dataschema"] == {"const": DEATH_NOTICE_SCHEMA_URI}
    assert {"content-type", "ce_id", "ce_source", "ce_subject", "ce_time", "ce_dataschema"} <= (
        set(headers["required"])
    )
    assert message["bindings"]["kafka"]["key"]["type"] == "string"
    assert "correlationId" not in message


def test_a_death_notice_record_satisfies_the_documented_headers_and_key() -> None:
    notice = DeathNotice.model_validate(example(DEATH_NOTICE_SHAPE))
    record = to_partner_record(
        death_notified(notice, source="urn:lifeevents:partners", time=datetime.now(UTC))
    )
    message = _partner_message(PARTNER_TOPICS[notice.organisation])
    headers = {name: value.decode() for name, value in record.headers}
    Draft202012Validator(message["headers"]).validate(headers)
    assert record.key is not None
    Draft202012Validator(message["bindings"]["kafka"]["key"]).validate(record.key.decode())


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
