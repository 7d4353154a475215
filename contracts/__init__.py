"""The shared language of Life Events: CloudEvents envelope, life-event payloads, topics.

No I/O here (only ``python -m contracts.generate`` writes files). The AsyncAPI builder in
``contracts.asyncapi`` imports FastStream, so it is not imported from this package root.
"""

from contracts.addresses import UkAddress, UkPostcode, Uprn
from contracts.cloudevents import (
    CloudEvent,
    KafkaRecord,
    event_model,
    from_binary,
    from_record,
    from_structured,
    new_event,
    record_key,
    to_binary,
    to_structured,
    to_structured_record,
)
from contracts.errors import (
    ContractError,
    ContractViolation,
    UnknownEventType,
    Violation,
    safe_errors,
)
from contracts.events import (
    AddressChangedV1,
    BirthRegisteredV1,
    DeathRegisteredV1,
    Payload,
    Registration,
)
from contracts.identifiers import EmailAddress, NationalInsuranceNumber, NhsNumber, PhoneNumber
from contracts.people import ContactDetails, PersonName
from contracts.registry import EVENT_TYPES, parse_payload, payload_model, schema_uri
from contracts.topics import CONSENT, LIFE_EVENTS, LIFE_EVENTS_DLQ

__all__ = [
    "CONSENT",
    "EVENT_TYPES",
    "LIFE_EVENTS",
    "LIFE_EVENTS_DLQ",
    "AddressChangedV1",
    "BirthRegisteredV1",
    "CloudEvent",
    "ContactDetails",
    "ContractError",
    "ContractViolation",
    "DeathRegisteredV1",
    "EmailAddress",
    "KafkaRecord",
    "NationalInsuranceNumber",
    "NhsNumber",
    "Payload",
    "PersonName",
    "PhoneNumber",
    "Registration",
    "UkAddress",
    "UkPostcode",
    "UnknownEventType",
    "Uprn",
    "Violation",
    "event_model",
    "from_binary",
    "from_record",
    "from_structured",
    "new_event",
    "parse_payload",
    "payload_model",
    "record_key",
    "safe_errors",
    "schema_uri",
    "to_binary",
    "to_structured",
    "to_structured_record",
]
