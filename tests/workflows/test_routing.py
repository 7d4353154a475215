"""Every life-event type routes to a workflow the worker actually runs."""

from __future__ import annotations

from temporalio.workflow import _Definition

from contracts import EVENT_TYPES
from contracts.temporal import WORKFLOW_FOR_EVENT_TYPE, workflow_id_for
from workflows.lifeevents import WORKFLOWS


def test_every_event_type_has_a_workflow() -> None:
    assert set(WORKFLOW_FOR_EVENT_TYPE) == set(EVENT_TYPES)


def test_every_routed_workflow_is_registered_with_the_worker() -> None:
    registered = {_Definition.must_from_class(w).name for w in WORKFLOWS}
    assert set(WORKFLOW_FOR_EVENT_TYPE.values()) <= registered


def test_workflow_ids_are_stable_opaque_and_distinct() -> None:
    first = workflow_id_for("/register-office/exampleshire", "evt-1")
    assert first == workflow_id_for("/register-office/exampleshire", "evt-1")
    assert first != workflow_id_for("/register-office/exampleshire", "evt-2")
    assert first != workflow_id_for("/housing/exampleshire", "evt-1")
    assert "exampleshire" not in first
    assert "evt-1" not in first
