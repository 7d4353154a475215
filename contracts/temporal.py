"""Temporal names: task queues, activities, workflows and search attributes, spelled once.

As `contracts.topics` does for Kafka: workflows, services, the catalogue loader and the tests
all take the names from here, and a test checks that every activity named here is served by
exactly one worker, on the queue named here.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType

from temporalio.common import SearchAttributeKey

__all__ = [
    "ACTIVITY_QUEUE",
    "CALLBACK_REQUESTED",
    "CALLBACK_WORKFLOW",
    "SEARCH_ATTRIBUTES",
    "UNDO",
    "WORKFLOW_FOR_EVENT_TYPE",
    "Activity",
    "SearchAttributes",
    "TaskQueue",
    "callback_id",
    "corrected_id",
    "search_attribute_declarations",
    "workflow_id_for",
]


class TaskQueue(StrEnum):
    """One queue per worker process. A council service's queue is also its name as a
    recipient in the data-sharing policy and in the service catalogue."""

    WORKFLOWS = "lifeevents-workflows"
    CONSENT = "consent"
    RESIDENTS = "residents"
    COUNCIL_TAX = "council-tax"
    ELECTORAL = "electoral-services"
    SCHOOLS = "school-admissions"
    BENEFITS = "benefits"
    REGISTERS = "council-registers"
    PARTNERS = "partners"
    NOTIFICATIONS = "notifications"


class Activity(StrEnum):
    # the workflow worker's own
    PLAN_EVENT = "plan_event"
    ECHO = "echo"
    # consent gate and ledger
    DECIDE_SHARE = "decide_share"
    RECORD_SHARE = "record_share"
    RECORD_DEATH_IN_GATE = "record_death"
    RECORD_INFORMANT_AGREEMENT = "record_informant_agreement"
    # resident index
    MATCH_PEOPLE = "residents.match_people"
    RESOLVE_DOUBTFUL = "residents.resolve_doubtful"
    RECORD_MOVE = "residents.record_move"
    MARK_DECEASED = "residents.mark_deceased"
    FLAG_SUPPORT = "residents.flag_support"
    SET_PREFERENCES = "residents.set_preferences"
    CONTACT_FOR = "residents.contact_for"
    HOUSEHOLD_AFTER_DEATH = "residents.household_after_death"
    RECORD_BIRTH = "residents.record_birth"
    REMINDERS_FOR = "residents.reminders_for"
    CLAIM_REPORT = "residents.claim_report"
    # council services
    COUNCIL_TAX_RECORD_MOVE = "council_tax.record_move"
    COUNCIL_TAX_RECORD_DEATH = "council_tax.record_death"
    COUNCIL_TAX_SINGLE_PERSON_DISCOUNT = "council_tax.apply_single_person_discount"
    ELECTORAL_RECORD_MOVE = "electoral.record_move"
    ELECTORAL_RECORD_DEATH = "electoral.record_death"
    SCHOOLS_FIND_CATCHMENT = "schools.find_catchment"
    SCHOOLS_OFFER_IN_YEAR_ADMISSION = "schools.offer_in_year_admission"
    SCHOOLS_RECORD_EARLY_YEARS = "schools.record_early_years"
    SCHOOLS_OFFER_EARLY_EDUCATION = "schools.offer_early_education"
    BENEFITS_RECORD_CHANGE = "benefits.record_change_of_circumstances"
    BENEFITS_RECORD_DEATH = "benefits.record_death"
    BENEFITS_FIND_CLAIMS = "benefits.find_claims"
    BENEFITS_RECORD_NEW_DEPENDANT = "benefits.record_new_dependant"
    REGISTERS_BLUE_BADGE = "registers.end_blue_badge"
    REGISTERS_LIBRARY_CARD = "registers.end_library_card"
    REGISTERS_PARKING_PERMIT = "registers.end_parking_permit"
    REGISTERS_ASSISTED_COLLECTION = "registers.end_assisted_collection"
    REGISTERS_ISSUE_LIBRARY_CARD = "registers.issue_library_card"
    PARTNERS_TELL = "partners.tell_organisation"
    NOTIFICATIONS_SEND = "notifications.send"
    NOTIFICATIONS_RECORD_DEATH = "notifications.record_death"
    # undoing what a life event's workflow did, when its source withdraws or corrects it
    RECORD_OF = "record_of"
    RESIDENTS_UNDO = "residents.undo_workflow"
    GATE_UNDO_DEATH = "undo_death"
    NOTIFICATIONS_UNDO_DEATH = "notifications.undo_death"
    COUNCIL_TAX_UNDO = "council_tax.undo"
    ELECTORAL_UNDO = "electoral.undo"
    SCHOOLS_UNDO = "schools.undo"
    BENEFITS_UNDO = "benefits.undo"
    REGISTERS_UNDO = "registers.undo"
    PARTNERS_UNDO = "partners.undo"


ACTIVITY_QUEUE: Mapping[Activity, TaskQueue] = MappingProxyType(
    {
        Activity.PLAN_EVENT: TaskQueue.WORKFLOWS,
        Activity.ECHO: TaskQueue.WORKFLOWS,
        Activity.DECIDE_SHARE: TaskQueue.CONSENT,
        Activity.RECORD_SHARE: TaskQueue.CONSENT,
        Activity.RECORD_DEATH_IN_GATE: TaskQueue.CONSENT,
        Activity.RECORD_INFORMANT_AGREEMENT: TaskQueue.CONSENT,
        Activity.MATCH_PEOPLE: TaskQueue.RESIDENTS,
        Activity.RESOLVE_DOUBTFUL: TaskQueue.RESIDENTS,
        Activity.RECORD_MOVE: TaskQueue.RESIDENTS,
        Activity.MARK_DECEASED: TaskQueue.RESIDENTS,
        Activity.FLAG_SUPPORT: TaskQueue.RESIDENTS,
        Activity.SET_PREFERENCES: TaskQueue.RESIDENTS,
        Activity.CONTACT_FOR: TaskQueue.RESIDENTS,
        Activity.HOUSEHOLD_AFTER_DEATH: TaskQueue.RESIDENTS,
        Activity.RECORD_BIRTH: TaskQueue.RESIDENTS,
        Activity.REMINDERS_FOR: TaskQueue.RESIDENTS,
        Activity.CLAIM_REPORT: TaskQueue.RESIDENTS,
        Activity.COUNCIL_TAX_RECORD_MOVE: TaskQueue.COUNCIL_TAX,
        Activity.COUNCIL_TAX_RECORD_DEATH: TaskQueue.COUNCIL_TAX,
        Activity.COUNCIL_TAX_SINGLE_PERSON_DISCOUNT: TaskQueue.COUNCIL_TAX,
        Activity.ELECTORAL_RECORD_MOVE: TaskQueue.ELECTORAL,
        Activity.ELECTORAL_RECORD_DEATH: TaskQueue.ELECTORAL,
        Activity.SCHOOLS_FIND_CATCHMENT: TaskQueue.SCHOOLS,
        Activity.SCHOOLS_OFFER_IN_YEAR_ADMISSION: TaskQueue.SCHOOLS,
        Activity.SCHOOLS_RECORD_EARLY_YEARS: TaskQueue.SCHOOLS,
        Activity.SCHOOLS_OFFER_EARLY_EDUCATION: TaskQueue.SCHOOLS,
        Activity.BENEFITS_RECORD_CHANGE: TaskQueue.BENEFITS,
        Activity.BENEFITS_RECORD_DEATH: TaskQueue.BENEFITS,
        Activity.BENEFITS_FIND_CLAIMS: TaskQueue.BENEFITS,
        Activity.BENEFITS_RECORD_NEW_DEPENDANT: TaskQueue.BENEFITS,
        Activity.REGISTERS_BLUE_BADGE: TaskQueue.REGISTERS,
        Activity.REGISTERS_LIBRARY_CARD: TaskQueue.REGISTERS,
        Activity.REGISTERS_PARKING_PERMIT: TaskQueue.REGISTERS,
        Activity.REGISTERS_ASSISTED_COLLECTION: TaskQueue.REGISTERS,
        Activity.REGISTERS_ISSUE_LIBRARY_CARD: TaskQueue.REGISTERS,
        Activity.PARTNERS_TELL: TaskQueue.PARTNERS,
        Activity.NOTIFICATIONS_SEND: TaskQueue.NOTIFICATIONS,
        Activity.NOTIFICATIONS_RECORD_DEATH: TaskQueue.NOTIFICATIONS,
        Activity.RECORD_OF: TaskQueue.WORKFLOWS,
        Activity.RESIDENTS_UNDO: TaskQueue.RESIDENTS,
        Activity.GATE_UNDO_DEATH: TaskQueue.CONSENT,
        Activity.NOTIFICATIONS_UNDO_DEATH: TaskQueue.NOTIFICATIONS,
        Activity.COUNCIL_TAX_UNDO: TaskQueue.COUNCIL_TAX,
        Activity.ELECTORAL_UNDO: TaskQueue.ELECTORAL,
        Activity.SCHOOLS_UNDO: TaskQueue.SCHOOLS,
        Activity.BENEFITS_UNDO: TaskQueue.BENEFITS,
        Activity.REGISTERS_UNDO: TaskQueue.REGISTERS,
        Activity.PARTNERS_UNDO: TaskQueue.PARTNERS,
    }
)
"""The one queue each activity is served on."""

UNDO: Mapping[TaskQueue, Activity] = MappingProxyType(
    {
        TaskQueue.COUNCIL_TAX: Activity.COUNCIL_TAX_UNDO,
        TaskQueue.ELECTORAL: Activity.ELECTORAL_UNDO,
        TaskQueue.SCHOOLS: Activity.SCHOOLS_UNDO,
        TaskQueue.BENEFITS: Activity.BENEFITS_UNDO,
        TaskQueue.REGISTERS: Activity.REGISTERS_UNDO,
        TaskQueue.PARTNERS: Activity.PARTNERS_UNDO,
    }
)
"""What each council service undoes a step of a plan with (`ServiceAction` naming the
step's workflow and step, one share per resident it reverses, with no data): its
compensation, declared beside its actions in its activities module."""


# --- workflows --------------------------------------------------------------------------------

WORKFLOW_FOR_EVENT_TYPE: Mapping[str, str] = MappingProxyType(
    {
        "lifeevents.birth.registered.v1": "BirthWorkflow",
        "lifeevents.address.changed.v1": "MoveWorkflow",
        "lifeevents.death.registered.v1": "BereavementWorkflow",
        "lifeevents.event.withdrawn.v1": "WithdrawalWorkflow",
        "lifeevents.event.corrected.v1": "CorrectionWorkflow",
    }
)
"""Which workflow a life event starts. The orchestrator starts workflows by name, so it
needs none of the workflow code."""


CALLBACK_WORKFLOW = "CallbackWorkflow"
"""The workflow the resident portal starts when a resident asks for a person to call them
(`contracts.timeline.CallbackRequest`), under `callback_id()`: no life event starts it."""

CALLBACK_REQUESTED = "lifeevents.callback.requested.v1"
"""What a callback's workflow sets its `LifeEventType` search attribute (and its timeline's
and record's event type) to, so ops and the caseworker console tell it from a life event's.
A name of the same form as the life events' types, but no CloudEvent of that type exists."""


def callback_id() -> str:
    """A new callback workflow's ID: `callback-<uuid4>`, random, so it says nothing of who
    asked."""
    return f"callback-{uuid.uuid4()}"


def workflow_id_for(source: str, event_id: str) -> str:
    """A stable workflow ID for one event, whoever delivers it and however often.

    A digest rather than the raw attributes: IDs stay one length, and whatever a producer put
    in its `source` or `id` never shows in the Temporal UI's workflow list.
    """
    digest = hashlib.sha256(f"{source}\n{event_id}".encode()).hexdigest()
    return f"lifeevent-{digest[:32]}"


def corrected_id(original: str, n: int) -> str:
    """The ID of an event's `n`-th run after its first (from 1): on corrected facts, or held
    by a withdrawal so that no correction runs after it. `original` is `workflow_id_for`'s."""
    return f"{original}/corrected-{n}"


# --- search attributes --------------------------------------------------------------------------


class SearchAttributes:
    """The custom search attributes ops engineers filter on in the Temporal UI. None may
    ever carry personal data: event IDs and codes only."""

    LIFE_EVENT_TYPE = SearchAttributeKey.for_keyword("LifeEventType")
    LIFE_EVENT_ID = SearchAttributeKey.for_keyword("LifeEventId")
    STAGE = SearchAttributeKey.for_keyword("LifeEventStage")
    NEEDS_PERSON = SearchAttributeKey.for_bool("NeedsPerson")
    COUNCIL_AREA = SearchAttributeKey.for_keyword("CouncilArea")


SEARCH_ATTRIBUTES = (
    SearchAttributes.LIFE_EVENT_TYPE,
    SearchAttributes.LIFE_EVENT_ID,
    SearchAttributes.STAGE,
    SearchAttributes.NEEDS_PERSON,
    SearchAttributes.COUNCIL_AREA,
)

# The names the Temporal CLI takes for `--search-attribute Name=Type`.
_CLI_TYPE_NAMES = {"KEYWORD": "Keyword", "BOOL": "Bool"}


def search_attribute_declarations() -> list[str]:
    """`Name=Type` for each search attribute, as `temporal server start-dev` registers them."""
    return [
        f"{key.name}={_CLI_TYPE_NAMES[key.indexed_value_type.name]}" for key in SEARCH_ATTRIBUTES
    ]
