"""The envelope and its Kafka binding, checked against the cloudevents SDK both ways."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from cloudevents.core.bindings import kafka as sdk_kafka
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent as SdkEvent
from cloudevents.v1 import kafka as legacy_kafka
from cloudevents.v1.http import CloudEvent as LegacyEvent
from tests_contracts_support import example_data, example_event

from contracts import (
    BirthRegisteredV1,
    CloudEvent,
    ContractViolation,
    KafkaRecord,
    UnknownEventType,
    from_binary,
    from_record,
    from_structured,
    new_event,
    record_key,
    to_binary,
    to_structured,
    to_structured_record,
)
from contracts.registry import parse_payload


def parsed_example(name: str) -> CloudEvent[Any]:
    return from_structured(example_event(name))


def to_sdk_message(record: KafkaRecord) -> sdk_kafka.KafkaMessage:
    return sdk_kafka.KafkaMessage(headers=dict(record.headers), key=record.key, value=record.value)


def from_sdk_message(message: Any) -> KafkaRecord:
    key = message.key.encode() if isinstance(message.key, str) else message.key
    value = message.value.encode() if isinstance(message.value, str) else message.value
    return KafkaRecord(key=key, value=value, headers=list(message.headers.items()))


def data_json(event: CloudEvent[Any]) -> Any:
    return json.loads(event.data.model_dump_json())


class TestOurRoundTrips:
    def test_binary(self, example: dict[str, Any]) -> None:
        event = from_structured(example)
        assert from_binary(to_binary(event)) == event

    def test_structured(self, example: dict[str, Any]) -> None:
        event = from_structured(example)
        assert from_structured(to_structured(event)) == event
        assert from_record(to_structured_record(event)) == event

    def test_from_record_detects_binary(self, example: dict[str, Any]) -> None:
        event = from_structured(example)
        assert from_record(to_binary(event)) == event

    def test_binary_record_layout(self) -> None:
        event = parsed_example("birth-registered")
        record = to_binary(event)
        headers = dict(record.headers)
        assert record.key == event.subject.encode() == record_key(event)
        assert headers == {
            "content-type": b"application/json",
            "ce_specversion": b"1.0",
            "ce_id": event.id.encode(),
            "ce_source": b"/register-office/exampleshire",
            "ce_type": b"lifeevents.birth.registered.v1",
            "ce_time": b"2025-09-16T10:15:00Z",
            "ce_subject": event.subject.encode(),
            "ce_dataschema": b"urn:lifeevents:schema:lifeevents.birth.registered.v1",
        }
        assert json.loads(record.value) == data_json(event)

    def test_time_offset_is_kept(self) -> None:
        event = parsed_example("birth-registered-unicode-names")
        assert event.time.utcoffset() == timedelta(hours=1)
        assert dict(to_binary(event).headers)["ce_time"] == b"2025-10-03T14:00:00+01:00"
        assert from_binary(to_binary(event)).time == event.time

    def test_key_carries_no_personal_data(self, example: dict[str, Any]) -> None:
        event = from_structured(example)
        key = record_key(event).decode()
        text = json.dumps(example["data"], ensure_ascii=False)
        assert key == event.subject
        assert key not in text

    def test_new_event_fills_the_envelope(self) -> None:
        data = parse_payload("lifeevents.birth.registered.v1", example_data("birth-registered"))
        before = datetime.now(UTC)
        event = new_event(data, source="/register-office/exampleshire", subject="case-00000001")
        assert event.type == "lifeevents.birth.registered.v1"
        assert event.specversion == "1.0"
        assert event.datacontenttype == "application/json"
        assert event.time >= before
        assert len(event.id) == 36
        assert from_binary(to_binary(event)) == event

    def test_new_event_rejects_a_personal_subject(self) -> None:
        data = parse_payload("lifeevents.birth.registered.v1", example_data("birth-registered"))
        with pytest.raises(ContractViolation) as exc:
            new_event(data, source="/x", subject="AB123456C")
        assert exc.value.violations[0].rule == "subject_not_opaque"


class TestBindingErrors:
    def record(self, **header_changes: bytes | None) -> KafkaRecord:
        record = to_binary(parsed_example("birth-registered"))
        headers = dict(record.headers)
        for name, value in header_changes.items():
            name = name.replace("_dash_", "-")
            if value is None:
                headers.pop(name, None)
            else:
                headers[name] = value
        return KafkaRecord(key=record.key, value=record.value, headers=list(headers.items()))

    @pytest.mark.parametrize("header", ["ce_id", "ce_source", "ce_time", "ce_subject"])
    def test_missing_required_attribute(self, header: str) -> None:
        with pytest.raises(ContractViolation) as exc:
            from_binary(self.record(**{header: None}))
        assert (header.removeprefix("ce_"), "missing") in {
            (v.loc, v.rule) for v in exc.value.violations
        }

    def test_missing_type_is_a_violation(self) -> None:
        with pytest.raises(ContractViolation):
            from_binary(self.record(ce_type=None))

    def test_unknown_type(self) -> None:
        with pytest.raises(UnknownEventType):
            from_binary(self.record(ce_type=b"lifeevents.marriage.registered.v1"))

    def test_type_must_match_data(self) -> None:
        with pytest.raises(ContractViolation) as exc:
            from_binary(self.record(ce_type=b"lifeevents.death.registered.v1"))
        assert exc.value.event_type == "lifeevents.death.registered.v1"

    def test_content_type_required_and_json(self) -> None:
        with pytest.raises(ContractViolation) as exc:
            from_binary(self.record(content_dash_type=None))
        assert exc.value.violations[0].loc == "content-type"
        with pytest.raises(ContractViolation):
            from_binary(self.record(content_dash_type=b"text/plain"))

    def test_content_type_parameters_accepted(self) -> None:
        assert from_binary(self.record(content_dash_type=b"application/json; charset=utf-8"))

    def test_wrong_specversion(self) -> None:
        with pytest.raises(ContractViolation):
            from_binary(self.record(ce_specversion=b"0.3"))

    def test_unknown_extension_rejected(self) -> None:
        with pytest.raises(ContractViolation) as exc:
            from_binary(self.record(ce_colour=b"blue"))
        assert [v.loc for v in exc.value.violations] == ["colour"]

    def test_other_headers_ignored(self) -> None:
        assert from_binary(self.record(traceparent=b"00-abc-def-01"))

    def test_dataschema_must_match_type(self) -> None:
        with pytest.raises(ContractViolation):
            from_binary(self.record(ce_dataschema=b"urn:lifeevents:schema:other"))

    def test_naive_time_rejected(self) -> None:
        with pytest.raises(ContractViolation) as exc:
            from_binary(self.record(ce_time=b"2025-09-16T10:15:00"))
        assert exc.value.violations[0].rule == "timezone_aware"

    def test_key_must_be_the_subject(self) -> None:
        record = self.record()
        assert from_binary(KafkaRecord(None, record.value, record.headers))
        with pytest.raises(ContractViolation) as exc:
            from_binary(KafkaRecord(b"Secretina Privatesurname", record.value, record.headers))
        assert exc.value.violations[0].rule == "key_mismatch"
        assert "Secretina" not in str(exc.value)

    def test_duplicate_content_type(self) -> None:
        record = self.record()
        doubled = KafkaRecord(
            record.key, record.value, [*record.headers, ("Content-Type", b"text/plain")]
        )
        with pytest.raises(ContractViolation) as exc:
            from_binary(doubled)
        assert exc.value.violations[0].rule == "duplicate_header"

    def test_duplicate_header(self) -> None:
        record = self.record()
        doubled = KafkaRecord(record.key, record.value, [*record.headers, ("ce_id", b"x")])
        with pytest.raises(ContractViolation) as exc:
            from_binary(doubled)
        assert exc.value.violations[0].rule == "duplicate_header"

    @pytest.mark.parametrize("value", [b"", b"{", b"[]", b"\xff\xfe", b"null"])
    def test_bad_value(self, value: bytes) -> None:
        record = self.record()
        with pytest.raises(ContractViolation):
            from_binary(KafkaRecord(record.key, value, record.headers))

    @pytest.mark.parametrize("value", [b"", b"[1]", b'{"type": 1}', b'"x"'])
    def test_bad_structured(self, value: bytes) -> None:
        with pytest.raises(ContractViolation):
            from_structured(value)

    def test_structured_data_base64_rejected(self) -> None:
        event = example_event("birth-registered")
        event["data_base64"] = "e30="
        with pytest.raises(ContractViolation):
            from_structured(event)


class TestSdkReadsWhatWeWrite:
    def test_binary(self, example: dict[str, Any]) -> None:
        event = from_structured(example)
        sdk = sdk_kafka.from_binary(to_sdk_message(to_binary(event)), JSONFormat())
        assert sdk.get_specversion() == "1.0"
        assert sdk.get_id() == event.id
        assert sdk.get_source() == event.source
        assert sdk.get_type() == event.type
        assert sdk.get_subject() == event.subject
        assert sdk.get_time() == event.time
        assert sdk.get_datacontenttype() == "application/json"
        assert sdk.get_dataschema() == event.dataschema
        assert sdk.get_data() == data_json(event)
        assert sdk.get_extension("partitionkey") == event.subject

    def test_structured(self, example: dict[str, Any]) -> None:
        event = from_structured(example)
        sdk = sdk_kafka.from_structured(to_sdk_message(to_structured_record(event)), JSONFormat())
        assert sdk.get_id() == event.id
        assert sdk.get_type() == event.type
        assert sdk.get_time() == event.time
        assert sdk.get_data() == data_json(event)

    def test_mode_detection(self, example: dict[str, Any]) -> None:
        event = from_structured(example)
        for record in (to_binary(event), to_structured_record(event)):
            sdk = sdk_kafka.from_kafka(to_sdk_message(record), JSONFormat())
            assert sdk.get_id() == event.id

    def test_legacy_sdk_binary(self, example: dict[str, Any]) -> None:
        event = from_structured(example)
        record = to_binary(event)
        message = legacy_kafka.KafkaMessage(dict(record.headers), record.key, record.value)
        legacy = legacy_kafka.from_binary(message)
        assert legacy["id"] == event.id
        assert legacy["type"] == event.type
        assert legacy.get_data() == data_json(event)


def sdk_event(example: dict[str, Any]) -> SdkEvent:
    attributes = {k: v for k, v in example.items() if k != "data"}
    attributes["time"] = datetime.fromisoformat(attributes["time"].replace("Z", "+00:00"))
    return SdkEvent(attributes=attributes, data=example["data"])


class TestWeReadWhatTheSdkWrites:
    def test_binary(self, example: dict[str, Any]) -> None:
        message = sdk_kafka.to_binary(
            sdk_event(example), JSONFormat(), key_mapper=lambda e: e.get_subject()
        )
        event = from_binary(from_sdk_message(message))
        assert event == from_structured(example)

    def test_structured(self, example: dict[str, Any]) -> None:
        message = sdk_kafka.to_structured(sdk_event(example), JSONFormat())
        assert from_record(from_sdk_message(message)) == from_structured(example)

    def test_partitionkey_header_from_sdk_is_tolerated(self) -> None:
        example = example_event("birth-registered")
        attributes = {**example, "partitionkey": example["subject"]}
        event = sdk_event(attributes)
        message = sdk_kafka.to_binary(event, JSONFormat())
        assert dict(message.headers)["ce_partitionkey"] == example["subject"].encode()
        assert from_binary(from_sdk_message(message)) == from_structured(example)

    def test_legacy_sdk_binary(self, example: dict[str, Any]) -> None:
        attributes = {k: v for k, v in example.items() if k != "data"}
        legacy = LegacyEvent.create(attributes, example["data"])
        message = legacy_kafka.to_binary(legacy, key_mapper=lambda e: e["subject"])
        assert from_binary(from_sdk_message(message)) == from_structured(example)

    def test_sdk_non_utc_time(self) -> None:
        example = example_event("birth-registered")
        attributes = {k: v for k, v in example.items() if k != "data"}
        attributes["time"] = datetime(2025, 9, 16, 11, 15, tzinfo=timezone(timedelta(hours=1)))
        message = sdk_kafka.to_binary(SdkEvent(attributes, example["data"]), JSONFormat())
        event = from_binary(from_sdk_message(message))
        assert event.time == datetime(2025, 9, 16, 10, 15, tzinfo=UTC)


def test_envelope_type_is_generic_over_payload() -> None:
    event = parsed_example("birth-registered")
    assert isinstance(event, CloudEvent)
    assert isinstance(event.data, BirthRegisteredV1)
