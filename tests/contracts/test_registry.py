"""The registry: every consumer's one lookup from event type to model."""

from __future__ import annotations

import pytest

from contracts import EVENT_TYPES, UnknownEventType, payload_model, schema_uri
from contracts.events import (
    AddressChangedV1,
    BirthRegisteredV1,
    DeathRegisteredV1,
    EventCorrectedV1,
    EventWithdrawnV1,
)


def test_registered_types() -> None:
    assert dict(EVENT_TYPES) == {
        "lifeevents.birth.registered.v1": BirthRegisteredV1,
        "lifeevents.address.changed.v1": AddressChangedV1,
        "lifeevents.death.registered.v1": DeathRegisteredV1,
        "lifeevents.event.withdrawn.v1": EventWithdrawnV1,
        "lifeevents.event.corrected.v1": EventCorrectedV1,
    }


def test_registry_is_read_only() -> None:
    with pytest.raises(TypeError):
        EVENT_TYPES["x"] = BirthRegisteredV1  # type: ignore[index]


@pytest.mark.parametrize("event_type", list(EVENT_TYPES))
def test_model_declares_its_own_type(event_type: str) -> None:
    assert payload_model(event_type).event_type == event_type
    assert schema_uri(event_type) == f"urn:lifeevents:schema:{event_type}"


@pytest.mark.parametrize(
    "event_type",
    ["lifeevents.birth.registered.v2", "lifeevents.birth.registered", "", "LIFEEVENTS.BIRTH"],
)
def test_unknown_type_is_a_typed_error(event_type: str) -> None:
    with pytest.raises(UnknownEventType, match="unknown life-event type"):
        payload_model(event_type)
