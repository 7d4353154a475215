"""Shape name → model, for every shape that crosses a process boundary besides the events.

Activity inputs and results, workflow queries, updates and results, HTTP bodies of the
consent API, the body of a `consent.v1` record, the per-category data a council service
receives: each is published as a JSON Schema under contracts/schemas/ (``<name>.json``),
snapshotted under schemas/published/ and held to it by the compatibility check, as the
life events are.

A name is ``lifeevents.<group>.<shape>.v<N>``. The group is the boundary the shape crosses:

- ``consent``: the consent gate (its activities, its HTTP API, and `consent.v1`);
- ``residents``: the resident index's activities;
- ``notifications``: the notification service's activity;
- ``action``: what every council service's action takes and returns;
- ``share``: the data categories, and the data of each category inside an action (named
  by the category: the key it has in `ResidentShare.data`);
- ``workflow``: a life-event workflow's plan, queries, updates and result.
- ``partner``: what an organisation outside the council is told (Tell Us Once), on its
  own Kafka topic (`contracts.partners`).

The shape is the model's name in kebab case, without the group's word where the name
starts with it (`ConsentGrant` is ``lifeevents.consent.grant.v1``). Groups are nouns of our
own, so they never meet the life-event types (``lifeevents.birth.registered.v1``...).

A model that only ever crosses inside another (a `ResidentShare` inside a `ServiceAction`)
is published in that one's schema, not on its own: ``PARTS`` says where.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType

from contracts.actions import ActionOutcome, ResidentShare, ServiceAction, UndoRequest
from contracts.base import ContractModel
from contracts.consent import (
    CaseworkerAction,
    CaseworkerActionRecorded,
    ConsentChange,
    ConsentEvent,
    ConsentGrant,
    ConsentRecord,
    DataUseEntry,
    DataUseReport,
    DeathRecorded,
    InformantAgreement,
    Objection,
    ObjectionRequest,
    ShareCompletion,
    ShareDecision,
    ShareRecorded,
    ShareRequest,
)
from contracts.notifications import InboxMessage, Notification
from contracts.partners import DEATH_NOTICE_SHAPE, DeathNotice
from contracts.plan import Plan, PlannedStep, PlanRequest
from contracts.registry import SCHEMA_URI_PREFIX
from contracts.residents import (
    BirthHousehold,
    BirthRecord,
    CaseworkerDecision,
    ContactPlan,
    DeathHousehold,
    DeathRecord,
    Household,
    LifeEventReport,
    MatchResult,
    MoveNotice,
    MoveRecord,
    PersonDetails,
    PreferenceUpdate,
    Resident,
    SameEvent,
    SupportFlag,
    Survivor,
)
from contracts.shares import (
    DataCategory,
    HomeAddress,
    HouseholdPlace,
    MoveAddress,
    PersonBirth,
    PersonContact,
    PersonDeath,
    PersonIdentity,
)
from contracts.timeline import (
    AlsoReported,
    Amended,
    CallbackRequest,
    Confirmation,
    DoneStep,
    EventRecord,
    MatchDecision,
    Outcome,
    PersonStatus,
    Receipt,
    Timeline,
    TimelineEntry,
    Told,
)

__all__ = [
    "NOT_SHAPES",
    "PARTS",
    "RETIRED",
    "SHAPES",
    "SHAPE_NAME_PATTERN",
    "Shape",
    "shape",
    "shape_name",
    "shape_schema_uri",
]

SHAPE_NAME_PATTERN = r"^lifeevents\.[a-z]+\.[a-z]+(-[a-z]+)*\.v[1-9][0-9]*$"


@dataclass(frozen=True, slots=True)
class Shape:
    """One published shape: its name, its type, and the codes of the rules its model checks
    beyond the schema (each one of ``contracts.rules.MODEL_ONLY_RULES``)."""

    name: str
    type: type[ContractModel] | type[StrEnum]
    model_only: tuple[str, ...] = ()


# What PersonDetails' building blocks check beyond their patterns and stated rules.
_PERSON = ("date_in_future", "nhs_number_check_digit", "email", "phone", "name_characters")
_CONTACT = ("email", "phone")

_ALL = (
    # consent gate
    Shape("lifeevents.consent.share-request.v2", ShareRequest),
    Shape("lifeevents.consent.share-decision.v1", ShareDecision),
    Shape("lifeevents.consent.share-completion.v1", ShareCompletion),
    Shape("lifeevents.consent.share-recorded.v1", ShareRecorded),
    Shape("lifeevents.consent.grant.v1", ConsentGrant, ("consent_expiry", "given_in_future")),
    Shape("lifeevents.consent.record.v1", ConsentRecord, ("consent_expiry", "given_in_future")),
    Shape("lifeevents.consent.objection-request.v1", ObjectionRequest),
    Shape("lifeevents.consent.objection.v1", Objection),
    Shape("lifeevents.consent.change.v1", ConsentChange),
    Shape("lifeevents.consent.data-use-report.v3", DataUseReport),
    Shape("lifeevents.consent.informant-agreement.v1", InformantAgreement, ("given_in_future",)),
    Shape("lifeevents.consent.death-recorded.v1", DeathRecorded),
    Shape("lifeevents.consent.caseworker-action.v1", CaseworkerAction),
    Shape("lifeevents.consent.caseworker-action-recorded.v1", CaseworkerActionRecorded),
    # council services
    Shape("lifeevents.action.service-action.v1", ServiceAction, ("resident_repeated",)),
    Shape("lifeevents.action.outcome.v1", ActionOutcome),
    Shape("lifeevents.action.undo-request.v1", UndoRequest),
    # data categories, and what a service receives of each
    Shape("lifeevents.share.data-category.v1", DataCategory),
    Shape("lifeevents.share.identity.v1", PersonIdentity, ("name_characters",)),
    Shape("lifeevents.share.birth.v1", PersonBirth),
    Shape("lifeevents.share.address.v1", MoveAddress),
    Shape("lifeevents.share.home-address.v1", HomeAddress),
    Shape("lifeevents.share.household.v1", HouseholdPlace),
    Shape("lifeevents.share.death.v1", PersonDeath),
    Shape("lifeevents.share.contact.v1", PersonContact, _CONTACT),
    # resident index
    Shape("lifeevents.residents.person-details.v1", PersonDetails, _PERSON),
    Shape("lifeevents.residents.match-result.v1", MatchResult),
    Shape("lifeevents.residents.caseworker-decision.v1", CaseworkerDecision, _PERSON),
    Shape("lifeevents.residents.move-record.v1", MoveRecord),
    Shape("lifeevents.residents.household.v1", Household),
    Shape("lifeevents.residents.death-record.v1", DeathRecord, ("date_in_future",)),
    Shape("lifeevents.residents.birth-record.v1", BirthRecord, ("date_in_future",)),
    Shape("lifeevents.residents.birth-household.v1", BirthHousehold),
    Shape(
        "lifeevents.residents.death-household.v1",
        DeathHousehold,
        ("name_characters", "date_in_future"),
    ),
    Shape("lifeevents.residents.support-flag.v1", SupportFlag),
    Shape("lifeevents.residents.life-event-report.v1", LifeEventReport),
    Shape("lifeevents.residents.same-event.v1", SameEvent),
    Shape("lifeevents.residents.preference-update.v1", PreferenceUpdate),
    Shape("lifeevents.residents.resident.v1", Resident, _CONTACT),
    Shape("lifeevents.residents.contact-plan.v1", ContactPlan),
    # notifications
    Shape("lifeevents.notifications.notification.v1", Notification),
    # life-event workflows
    Shape("lifeevents.workflow.plan-request.v1", PlanRequest),
    Shape("lifeevents.workflow.plan.v2", Plan),
    Shape("lifeevents.workflow.timeline.v2", Timeline),
    Shape("lifeevents.workflow.confirmation.v1", Confirmation),
    Shape("lifeevents.workflow.match-decision.v1", MatchDecision),
    Shape("lifeevents.workflow.receipt.v1", Receipt),
    Shape("lifeevents.workflow.outcome.v2", Outcome),
    Shape("lifeevents.workflow.move-notice.v1", MoveNotice),
    Shape("lifeevents.workflow.also-reported.v1", AlsoReported),
    Shape("lifeevents.workflow.amended.v1", Amended),
    Shape("lifeevents.workflow.event-record.v1", EventRecord),
    Shape("lifeevents.workflow.callback-request.v1", CallbackRequest),
    # organisations outside the council (Tell Us Once)
    Shape(DEATH_NOTICE_SHAPE, DeathNotice, ("name_characters",)),
)

SHAPES: Mapping[str, Shape] = MappingProxyType({s.name: s for s in _ALL})

PARTS: Mapping[type[ContractModel], str] = MappingProxyType(
    {
        ConsentEvent: "lifeevents.consent.record.v1",
        DataUseEntry: "lifeevents.consent.data-use-report.v3",
        ResidentShare: "lifeevents.action.service-action.v1",
        PlannedStep: "lifeevents.workflow.plan.v2",
        Survivor: "lifeevents.residents.death-household.v1",
        TimelineEntry: "lifeevents.workflow.timeline.v2",
        DoneStep: "lifeevents.workflow.event-record.v1",
        Told: "lifeevents.workflow.event-record.v1",
        PersonStatus: "lifeevents.workflow.timeline.v2",
    }
)
"""Models published only inside another shape's schema (under its ``$defs``): part → shape."""

RETIRED: Mapping[str, str] = MappingProxyType(
    {
        # Its activity was a list of every activity, so each new one broke it; v2 names one.
        "lifeevents.workflow.plan.v1": "lifeevents.workflow.plan.v2",
        # Other reports of the same life event (issue 12) are merged into the first: the
        # timeline lists them and an outcome names the event it was merged into. Readers
        # that forbid unknown fields would refuse either, so each is a new version.
        "lifeevents.workflow.timeline.v1": "lifeevents.workflow.timeline.v2",
        "lifeevents.workflow.outcome.v1": "lifeevents.workflow.outcome.v2",
        # A compensation (issue 12) goes through the gate like the share it reverses, and
        # the resident's ledger shows it as one: a request may say it reverses, and an
        # entry's kind may be `compensation` (v2, itself replaced since: the shape produced
        # now is named, not the one between).
        "lifeevents.consent.share-request.v1": "lifeevents.consent.share-request.v2",
        "lifeevents.consent.data-use-report.v1": "lifeevents.consent.data-use-report.v3",
        # A caseworker's action on a life event (the caseworker console) is on the ledger of
        # each resident it concerns: an entry's kind may be `caseworker`.
        "lifeevents.consent.data-use-report.v2": "lifeevents.consent.data-use-report.v3",
    }
)
"""Published shapes no longer produced → the shape that replaced them. Their snapshots stay
as the record of what was promised; the compatibility check holds the successor instead."""

NOT_SHAPES: Mapping[type[ContractModel], str] = MappingProxyType(
    {
        InboxMessage: "the notification service's read of its own store; no process sends "
        "or receives it (a portal API serving it would make it a shape)",
    }
)
"""Models of these modules that cross no process boundary, and why."""


def shape(name: str) -> Shape:
    """The registered shape called ``name`` (``KeyError`` if there is none)."""
    return SHAPES[name]


_NAMES: Mapping[type, str] = MappingProxyType({s.type: s.name for s in _ALL})


def shape_name(model: type) -> str:
    """The name a model (or enum) is published under (``KeyError`` if it is not one)."""
    return _NAMES[model]


def shape_schema_uri(name: str) -> str:
    """The ``$id`` of a shape's schema: a URN, as for the events."""
    shape(name)
    return f"{SCHEMA_URI_PREFIX}{name}"
