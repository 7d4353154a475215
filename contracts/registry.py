"""Event type → payload model: the one lookup every consumer uses."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from pydantic import ValidationError

from contracts.errors import ContractViolation, UnknownEventType
from contracts.events import (
    AddressChangedV1,
    BirthRegisteredV1,
    DeathRegisteredV1,
    EventCorrectedV1,
    EventWithdrawnV1,
    Payload,
)

__all__ = [
    "EVENT_TYPES",
    "SCHEMA_URI_PREFIX",
    "parse_payload",
    "payload_model",
    "schema_uri",
]

EVENT_TYPES: Mapping[str, type[Payload]] = MappingProxyType(
    {
        model.event_type: model
        for model in (
            BirthRegisteredV1,
            AddressChangedV1,
            DeathRegisteredV1,
            EventWithdrawnV1,
            EventCorrectedV1,
        )
    }
)

# There is no web host for the schemas; a URN names each one stably, and the file with the
# same name under contracts/schemas/ holds it.
SCHEMA_URI_PREFIX = "urn:lifeevents:schema:"


def payload_model(event_type: str) -> type[Payload]:
    """The model for ``event_type``, or ``UnknownEventType``."""
    try:
        return EVENT_TYPES[event_type]
    except (KeyError, TypeError):
        raise UnknownEventType(str(event_type)) from None


def schema_uri(event_type: str) -> str:
    """The ``dataschema`` URI of a registered event type."""
    payload_model(event_type)
    return f"{SCHEMA_URI_PREFIX}{event_type}"


def parse_payload(event_type: str, data: Mapping[str, Any] | bytes | str) -> Payload:
    """Validate ``data`` (a mapping or JSON text) as the payload of ``event_type``.

    Raises ``UnknownEventType`` or ``ContractViolation``; never a ``ValidationError``,
    whose text could carry personal data.
    """
    model = payload_model(event_type)
    try:
        if isinstance(data, bytes | str):
            return model.model_validate_json(data)
        return model.model_validate(data)
    except ValidationError as exc:
        raise ContractViolation.from_validation_error(exc, event_type=event_type) from None
