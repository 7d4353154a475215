"""What a life-event workflow without a body of its own does: say where it is, for ops,
without personal data."""

from __future__ import annotations

from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from contracts import CloudEvent
    from contracts.temporal import SearchAttributes
    from contracts.timeline import Outcome

__all__ = ["record_received"]


def record_received(event: CloudEvent[Any]) -> Outcome:
    workflow.upsert_search_attributes(
        [
            SearchAttributes.LIFE_EVENT_TYPE.value_set(event.type),
            SearchAttributes.LIFE_EVENT_ID.value_set(event.id),
            SearchAttributes.STAGE.value_set("recorded"),
            SearchAttributes.NEEDS_PERSON.value_set(False),
        ]
    )
    return Outcome(type=event.type, id=event.id, stage="recorded")
