"""Which workflow a life event starts, and under which ID.

The orchestrator starts workflows by name, so it needs none of the workflow code; the intake
API derives the same ID to tell a source system what became of its event.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from types import MappingProxyType

__all__ = ["WORKFLOW_FOR_EVENT_TYPE", "workflow_id_for"]

WORKFLOW_FOR_EVENT_TYPE: Mapping[str, str] = MappingProxyType(
    {
        "lifeevents.birth.registered.v1": "BirthWorkflow",
        "lifeevents.address.changed.v1": "MoveWorkflow",
        "lifeevents.death.registered.v1": "BereavementWorkflow",
    }
)


def workflow_id_for(source: str, event_id: str) -> str:
    """A stable workflow ID for one event, whoever delivers it and however often.

    A digest rather than the raw attributes: IDs stay one length, and whatever a producer put
    in its `source` or `id` never shows in the Temporal UI's workflow list.
    """
    digest = hashlib.sha256(f"{source}\n{event_id}".encode()).hexdigest()
    return f"lifeevent-{digest[:32]}"
