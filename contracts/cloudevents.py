"""The CloudEvents 1.0 envelope and its Kafka protocol binding (binary and structured).

Kafka records are plain values here (key, value, headers); sending and receiving them is
the services' business, so this module does no I/O and imports no Kafka client.

Key choice: the Kafka key is the event's ``subject``, an opaque, pseudonymous reference
chosen by the producer for the person or case (never a name, NHS number or address). All
events about one subject land on one partition, in order, and the key reveals nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated, Any, Final, Generic, Literal, TypeVar, cast

from pydantic import (
    AfterValidator,
    AwareDatetime,
    Field,
    StringConstraints,
    ValidationError,
    model_validator,
)
from pydantic_core import from_json

from contracts.base import ContractModel
from contracts.errors import ContractViolation, Violation, rule_error
from contracts.events.amendment import EventCorrectedV1, EventWithdrawnV1
from contracts.events.common import EventId, Payload, Source
from contracts.identifiers import is_valid_nhs_number, is_valid_ni_number
from contracts.registry import payload_model, schema_uri

__all__ = [
    "BINARY_CONTENT_TYPE",
    "STRUCTURED_CONTENT_TYPE",
    "CloudEvent",
    "KafkaRecord",
    "event_model",
    "from_binary",
    "from_record",
    "from_structured",
    "new_event",
    "record_key",
    "to_binary",
    "to_structured",
    "to_structured_record",
]

SPECVERSION: Final = "1.0"
BINARY_CONTENT_TYPE: Final = "application/json"
STRUCTURED_CONTENT_TYPE: Final = "application/cloudevents+json"
CE_PREFIX: Final = "ce_"
CONTENT_TYPE_HEADER: Final = "content-type"
# The Kafka binding maps this extension to the record key; SDKs may also send it as a header.
_PARTITIONKEY_HEADER: Final = "ce_partitionkey"

PayloadT = TypeVar("PayloadT", bound=Payload)


def _opaque_subject(value: str) -> str:
    # The subject becomes the Kafka key, which the DESIGN rules keep free of personal data.
    # A pattern cannot prove that, but it can refuse the identifiers that leak most.
    compact = value.replace("-", "").upper()
    if is_valid_nhs_number(compact) or is_valid_ni_number(compact):
        raise rule_error("subject_not_opaque", "subject must be opaque, not a personal identifier")
    return value


EventType = Annotated[
    str,
    StringConstraints(pattern=r"^[a-z][a-z0-9]*(\.[a-z][a-z0-9_]*)+\.v[1-9][0-9]*$"),
    Field(description="Versioned event type, e.g. lifeevents.birth.registered.v1."),
]
Subject = Annotated[
    str,
    StringConstraints(min_length=8, max_length=128, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]*$"),
    AfterValidator(_opaque_subject),
    Field(
        description="Opaque pseudonymous reference to the case or person in the source "
        "system (e.g. a UUID). Never personal data: it is used as the Kafka key."
    ),
]


class CloudEvent(ContractModel, Generic[PayloadT]):
    """A CloudEvents 1.0 event carrying one life-event payload as ``data``.

    Every attribute that CloudEvents leaves optional but we rely on (``time``, ``subject``,
    ``datacontenttype``) is required here.
    """

    specversion: Literal["1.0"]
    id: EventId
    source: Source
    type: EventType
    time: AwareDatetime = Field(description="When the event happened in the source, RFC 3339.")
    subject: Subject
    datacontenttype: Literal["application/json"]
    dataschema: str | None = Field(
        default=None,
        description="If given, the URN of the payload schema for this type. Null is the "
        "same as absent, as the CloudEvents JSON format says.",
    )
    data: PayloadT

    @model_validator(mode="after")
    def _type_matches_data(self) -> CloudEvent[PayloadT]:
        if self.type != self.data.event_type:
            raise rule_error("type_mismatch", "type does not match the data's event type")
        if self.dataschema is not None and self.dataschema != schema_uri(self.type):
            raise rule_error("dataschema_mismatch", "dataschema is not the schema of type")
        amended = self.data
        if (
            isinstance(amended, EventWithdrawnV1 | EventCorrectedV1)
            and amended.amends.source != self.source
        ):
            raise rule_error(
                "amends_another_source", "a source withdraws or corrects only its own events"
            )
        return self


def event_model(event_type: str) -> type[CloudEvent[Payload]]:
    """The envelope model for one event type (``UnknownEventType`` if there is none)."""
    return cast(type[CloudEvent[Payload]], CloudEvent[payload_model(event_type)])  # type: ignore[misc]


def new_event(
    data: PayloadT,
    *,
    source: str,
    subject: str,
    id: str | None = None,
    time: datetime | None = None,
) -> CloudEvent[PayloadT]:
    """Wrap a payload in an envelope, filling ``type``, ``id`` and ``time`` sensibly.

    Raises ``ContractViolation`` if an attribute breaks the contract (a non-opaque subject).
    """
    model: type[CloudEvent[PayloadT]] = CloudEvent[type(data)]  # type: ignore[misc,assignment]
    attributes = {
        "specversion": SPECVERSION,
        "id": id or str(uuid.uuid4()),
        "source": source,
        "type": data.event_type,
        "time": time or datetime.now(UTC),
        "subject": subject,
        "datacontenttype": BINARY_CONTENT_TYPE,
        "dataschema": schema_uri(data.event_type),
        "data": data,
    }
    try:
        return model.model_validate(attributes)
    except ValidationError as exc:
        raise ContractViolation.from_validation_error(exc, event_type=data.event_type) from None


def _validate(attributes: Mapping[str, Any]) -> CloudEvent[Payload]:
    event_type = attributes.get("type")
    if not isinstance(event_type, str):
        raise ContractViolation.single("type", "missing", "type is required and must be a string")
    model = event_model(event_type)
    try:
        return model.model_validate(attributes)
    except ValidationError as exc:
        raise ContractViolation.from_validation_error(exc, event_type=event_type) from None


def _parse_json(value: bytes | str, loc: str) -> Any:
    try:
        return from_json(value)
    except ValueError:
        raise ContractViolation.single(loc, "json_invalid", "is not valid JSON") from None


# --- structured mode --------------------------------------------------------------------


def to_structured(event: CloudEvent[Any]) -> bytes:
    """The ``application/cloudevents+json`` form: the whole event as one JSON object."""
    # CloudEvents attributes are absent rather than null; payload nulls stay as they are.
    exclude = {"dataschema"} if event.dataschema is None else None
    return event.model_dump_json(exclude=exclude).encode()


def from_structured(value: bytes | str | Mapping[str, Any]) -> CloudEvent[Payload]:
    """Parse and validate a structured-mode event (JSON text or an already-decoded mapping)."""
    document = value if isinstance(value, Mapping) else _parse_json(value, "<root>")
    if not isinstance(document, Mapping):
        raise ContractViolation.single("<root>", "object_required", "must be a JSON object")
    return _validate(document)


# --- Kafka binding ----------------------------------------------------------------------


@dataclass(frozen=True)
class KafkaRecord:
    """A Kafka record as any client sends or receives it; headers keep their order."""

    key: bytes | None
    value: bytes
    headers: Sequence[tuple[str, bytes]] = field(default_factory=list)

    def header(self, name: str) -> bytes | None:
        """First header of that name, case-insensitively (the SDKs lower-case them)."""
        wanted = name.lower()
        return next((v for k, v in self.headers if k.lower() == wanted), None)


def record_key(event: CloudEvent[Any]) -> bytes:
    """The Kafka key for an event: its opaque ``subject`` (see the module docstring)."""
    return event.subject.encode()


def _header_text(value: str | datetime) -> bytes:
    if isinstance(value, datetime):
        text = value.isoformat().replace("+00:00", "Z")
        return text.encode()
    return value.encode()


def to_binary(event: CloudEvent[Any]) -> KafkaRecord:
    """Binary mode: attributes as ``ce_*`` headers, the payload JSON as the value."""
    headers: list[tuple[str, bytes]] = [
        (CONTENT_TYPE_HEADER, event.datacontenttype.encode()),
        (f"{CE_PREFIX}specversion", event.specversion.encode()),
        (f"{CE_PREFIX}id", event.id.encode()),
        (f"{CE_PREFIX}source", event.source.encode()),
        (f"{CE_PREFIX}type", event.type.encode()),
        (f"{CE_PREFIX}time", _header_text(event.time)),
        (f"{CE_PREFIX}subject", event.subject.encode()),
    ]
    if event.dataschema is not None:
        headers.append((f"{CE_PREFIX}dataschema", event.dataschema.encode()))
    return KafkaRecord(
        key=record_key(event), value=event.data.model_dump_json().encode(), headers=headers
    )


def _media_type(raw: bytes) -> str:
    return raw.decode("latin-1").split(";", 1)[0].strip().lower()


def from_binary(record: KafkaRecord) -> CloudEvent[Payload]:
    """Parse and validate a binary-mode record. Non-``ce_`` headers (tracing etc.) are ignored.

    The record key may be absent; if present it must be the event's ``subject``.
    """
    attributes: dict[str, Any] = {}
    violations: list[Violation] = []
    for raw_name, raw_value in record.headers:
        name = raw_name.lower()
        if name == CONTENT_TYPE_HEADER:
            if "datacontenttype" in attributes:
                violations.append(
                    Violation(name, "duplicate_header", "header appears more than once")
                )
                continue
            media = _media_type(raw_value)
            if media != BINARY_CONTENT_TYPE:
                violations.append(
                    Violation("content-type", "content_type", "must be application/json")
                )
            attributes["datacontenttype"] = media
            continue
        if not name.startswith(CE_PREFIX) or name == _PARTITIONKEY_HEADER:
            continue
        attribute = name.removeprefix(CE_PREFIX)
        if attribute in attributes:
            violations.append(Violation(name, "duplicate_header", "header appears more than once"))
            continue
        try:
            attributes[attribute] = raw_value.decode()
        except UnicodeDecodeError:
            violations.append(Violation(name, "header_encoding", "must be UTF-8"))
    if "datacontenttype" not in attributes:
        violations.append(Violation("content-type", "missing", "content-type header is required"))
    if violations:
        raise ContractViolation(violations)
    attributes["data"] = _parse_json(record.value, "data")
    return _check_key(record, _validate(attributes))


def _check_key(record: KafkaRecord, event: CloudEvent[Payload]) -> CloudEvent[Payload]:
    # The key is the one part of a record that every Kafka tool shows: holding producers to
    # the documented key stops personal data leaking there unnoticed.
    if record.key is not None and record.key != record_key(event):
        raise ContractViolation.single("key", "key_mismatch", "record key must equal subject")
    return event


def to_structured_record(event: CloudEvent[Any]) -> KafkaRecord:
    """Structured mode on Kafka, for producers that cannot set headers per attribute."""
    return KafkaRecord(
        key=record_key(event),
        value=to_structured(event),
        headers=[(CONTENT_TYPE_HEADER, STRUCTURED_CONTENT_TYPE.encode())],
    )


def from_record(record: KafkaRecord) -> CloudEvent[Payload]:
    """Either mode, told apart as the binding says: by the ``content-type`` header."""
    content_type = record.header(CONTENT_TYPE_HEADER)
    if content_type is not None and _media_type(content_type).startswith("application/cloudevents"):
        return _check_key(record, from_structured(record.value))
    return from_binary(record)
