"""What every life-event workflow does first: say where it is, for ops, without personal data."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from contracts import CloudEvent

from workflows import search_attributes

__all__ = ["Outcome", "record_received"]


class Outcome(BaseModel):
    """What a life-event workflow reports when it ends: identifiers and a stage only."""

    type: str
    id: str
    stage: str


def record_received(event: CloudEvent[Any]) -> Outcome:
    workflow.upsert_search_attributes(
        [
            search_attributes.LIFE_EVENT_TYPE.value_set(event.type),
            search_attributes.LIFE_EVENT_ID.value_set(event.id),
            search_attributes.STAGE.value_set("recorded"),
            search_attributes.NEEDS_PERSON.value_set(False),
        ]
    )
    return Outcome(type=event.type, id=event.id, stage="recorded")
