"""Every Temporal activity is named once (contracts.temporal), served by exactly one worker
on the queue named there, and used: by a workflow, the service catalogue, or as a service's
undo (`UNDO`, which workflows call for the service of a step they undo)."""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pytest

from contracts.temporal import ACTIVITY_QUEUE, UNDO, Activity, TaskQueue
from services.benefits.activities import BenefitActivities
from services.consent.activities import ConsentActivities
from services.counciltax.activities import CouncilTaxActivities
from services.electoral.activities import ElectoralActivities
from services.notifications.activities import NotificationActivities
from services.partners.activities import PartnerActivities
from services.registers.activities import RegistersActivities
from services.residents.activities import ResidentActivities
from services.schools.activities import SchoolActivities
from workflows.activities import plan_event, record_of
from workflows.catalogue import load_catalogue
from workflows.diagnostics import echo

WORKFLOWS_DIR = Path(__file__).resolve().parents[1] / "workflows"

# Served before the workflow that will call them exists: each says which one.
SERVED_AHEAD = {
    Activity.SET_PREFERENCES: "the resident portal (issue: residents and caseworkers)",
}


def names(served: Iterable[Any]) -> set[str]:
    found = set()
    for member in served:
        definition = getattr(member, "__temporal_activity_definition", None)
        if definition is not None and definition.name is not None:
            found.add(definition.name)
    return found


def served_by(cls: type) -> set[str]:
    return names(vars(cls).values())


# What each worker process serves, on the queue it polls (see each service's worker).
SERVED: dict[TaskQueue, set[str]] = {
    TaskQueue.WORKFLOWS: names([plan_event, echo, record_of]),
    TaskQueue.CONSENT: served_by(ConsentActivities),
    TaskQueue.RESIDENTS: served_by(ResidentActivities),
    TaskQueue(CouncilTaxActivities.recipient): served_by(CouncilTaxActivities),
    TaskQueue(ElectoralActivities.recipient): served_by(ElectoralActivities),
    TaskQueue(SchoolActivities.recipient): served_by(SchoolActivities),
    TaskQueue(BenefitActivities.recipient): served_by(BenefitActivities),
    TaskQueue(RegistersActivities.recipient): served_by(RegistersActivities),
    TaskQueue(PartnerActivities.task_queue): served_by(PartnerActivities),
    TaskQueue(NotificationActivities.task_queue): served_by(NotificationActivities),
}


def named_by_workflows() -> set[str]:
    """`Activity.<NAME>` wherever the workflow code names one."""
    found = set()
    for path in WORKFLOWS_DIR.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id == "Activity"
            ):
                found.add(Activity[node.attr].value)
    return found


def named_by_catalogue() -> set[str]:
    """Each step's activity, and the read-only check it asks first."""
    steps = load_catalogue().steps
    return {step.activity.value for step in steps} | {
        step.check.value for step in steps if step.check is not None
    }


@pytest.mark.parametrize("activity", list(Activity), ids=str)
def test_each_activity_is_served_by_exactly_one_worker_on_its_queue(activity: Activity) -> None:
    serving = [queue for queue, served in SERVED.items() if activity in served]
    assert serving == [ACTIVITY_QUEUE[activity]]


def test_every_served_activity_is_named_in_contracts() -> None:
    assert set().union(*SERVED.values()) == {a.value for a in Activity}


def named_as_undo() -> set[str]:
    return {activity.value for activity in UNDO.values()}


def test_every_activity_a_workflow_or_the_catalogue_names_is_served() -> None:
    named = named_by_workflows() | named_by_catalogue() | named_as_undo()
    assert named  # the scan found the names at all
    assert named <= set().union(*SERVED.values())


def test_every_served_activity_is_used() -> None:
    used = named_by_workflows() | named_by_catalogue() | named_as_undo() | set(SERVED_AHEAD)
    assert {a.value for a in Activity} - used == set()
    # An activity served ahead that a workflow now calls comes off the list.
    assert not set(SERVED_AHEAD) & (named_by_workflows() | named_by_catalogue())


def test_each_council_service_is_its_own_recipient_and_queue() -> None:
    services: list[Callable[..., Any]] = [
        CouncilTaxActivities,
        ElectoralActivities,
        SchoolActivities,
        BenefitActivities,
        RegistersActivities,
    ]
    outside = {step.service for step in load_catalogue().steps if step.recipient is not None}
    assert outside == {TaskQueue(PartnerActivities.task_queue)}
    assert {TaskQueue(s.recipient) for s in services} | outside == {  # type: ignore[attr-defined]
        step.service for step in load_catalogue().steps
    }
