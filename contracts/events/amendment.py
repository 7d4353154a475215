"""``lifeevents.event.withdrawn.v1`` and ``lifeevents.event.corrected.v1``: a source system
takes back a life event it sent, or puts it right.

Source systems make mistakes: a registration entered in error, a move reported for the
wrong person, a date keyed wrongly. A withdrawal names the event (its ``source`` and ``id``)
and why; everything done because of it is undone, and the residents affected are told. A
correction carries the whole corrected payload of the same type; only what the corrected
facts change is undone and done again. A source amends only its own events: the envelope's
``source`` is the named event's (rule ``amends_another_source``).

Either may arrive before the event it names (Kafka keeps no order across partitions or
sources): a withdrawal is then held and the event, when it comes, starts nothing; a
correction is acted on as the event itself, and the event, when it comes, starts nothing.
"""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal, get_args

from pydantic import Field

from contracts.base import ContractModel
from contracts.events.birth import BirthRegisteredV1
from contracts.events.common import EventReference, Payload
from contracts.events.death import DeathRegisteredV1
from contracts.events.move import AddressChangedV1

__all__ = [
    "AMENDABLE_TYPES",
    "BirthCorrection",
    "CorrectionReason",
    "DeathCorrection",
    "EventCorrectedV1",
    "EventWithdrawnV1",
    "MoveCorrection",
    "WithdrawalReason",
]

AmendableType = Literal[
    "lifeevents.birth.registered.v1",
    "lifeevents.address.changed.v1",
    "lifeevents.death.registered.v1",
]
AMENDABLE_TYPES: tuple[str, ...] = get_args(AmendableType)

# Why, by stable code: a consumer matching on these must know every value it can receive,
# so a new code is a new contract version.
WithdrawalReason = Literal[
    "entered_in_error",  # the life event did not happen
    "wrong_person",  # it happened, to someone else: the source sends a new event for them
    "sent_twice",  # the source sent it again under another id: the other one stands
]
CorrectionReason = Literal[
    "wrong_date",
    "wrong_address",
    "wrong_personal_details",
    "wrong_household",
    "other_details",
]


class EventWithdrawnV1(Payload):
    """A source takes back a life event it sent: undo everything done because of it."""

    event_type: ClassVar[str] = "lifeevents.event.withdrawn.v1"

    withdraws: EventReference = Field(description="The event taken back: its source and id.")
    withdrawn_type: AmendableType = Field(description="The type of the event taken back.")
    reason: WithdrawalReason

    @property
    def amends(self) -> EventReference:
        return self.withdraws


class MoveCorrection(ContractModel):
    type: Literal["lifeevents.address.changed.v1"]
    data: AddressChangedV1


class BirthCorrection(ContractModel):
    type: Literal["lifeevents.birth.registered.v1"]
    data: BirthRegisteredV1


class DeathCorrection(ContractModel):
    type: Literal["lifeevents.death.registered.v1"]
    data: DeathRegisteredV1


Correction = Annotated[
    MoveCorrection | BirthCorrection | DeathCorrection, Field(discriminator="type")
]


class EventCorrectedV1(Payload):
    """A source puts right a life event it sent: the whole corrected payload, of the same
    type. What the corrected facts change is undone and done again; the rest stands."""

    event_type: ClassVar[str] = "lifeevents.event.corrected.v1"

    corrects: EventReference = Field(description="The event put right: its source and id.")
    reason: CorrectionReason
    corrected: Correction = Field(
        description="The event's type, and its payload as it should have been."
    )

    @property
    def amends(self) -> EventReference:
        return self.corrects
