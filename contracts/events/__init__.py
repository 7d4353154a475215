"""Life-event payloads, one versioned type per module."""

from contracts.events.amendment import EventCorrectedV1, EventWithdrawnV1
from contracts.events.birth import BirthRegisteredV1
from contracts.events.common import Payload, Registration
from contracts.events.death import DeathRegisteredV1
from contracts.events.move import AddressChangedV1

__all__ = [
    "AddressChangedV1",
    "BirthRegisteredV1",
    "DeathRegisteredV1",
    "EventCorrectedV1",
    "EventWithdrawnV1",
    "Payload",
    "Registration",
]
