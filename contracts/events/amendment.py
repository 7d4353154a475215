"""``lifeevents.event.withdrawn.v1``: a source system takes back a life event it sent.

Source systems make mistakes: a registration entered in error, a move reported for the
wrong person. A withdrawal names the event (its ``source`` and ``id``) and why; everything
done because of it is undone, and the residents affected are told. A source withdraws only
its own events: the envelope's ``source`` is the named event's (rule
``amends_another_source``). A withdrawal may arrive before the event it names (Kafka keeps
no order across partitions or sources): it is then held, and the event, when it comes,
starts nothing.
"""

from __future__ import annotations

from typing import ClassVar, Literal, get_args

from pydantic import Field

from contracts.events.common import EventReference, Payload

__all__ = ["AMENDABLE_TYPES", "EventWithdrawnV1", "WithdrawalReason"]

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


class EventWithdrawnV1(Payload):
    """A source takes back a life event it sent: undo everything done because of it."""

    event_type: ClassVar[str] = "lifeevents.event.withdrawn.v1"

    withdraws: EventReference = Field(description="The event taken back: its source and id.")
    withdrawn_type: AmendableType = Field(description="The type of the event taken back.")
    reason: WithdrawalReason

    @property
    def amends(self) -> EventReference:
        return self.withdraws
