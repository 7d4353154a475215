"""What crosses the resident index's boundary: activity inputs and results.

Every model is a `ContractModel` (strict, frozen, quiet about its inputs in errors), so a
validation error raised here never prints a name or an identifier. Residents are named by
their pseudonymous key (`res_` + a random URL-safe token) everywhere outside the index.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import ConfigDict, Field, model_validator

from contracts.addresses import NEW_ADDRESS_REQUIRED, UkAddress
from contracts.base import ContractModel
from contracts.dates import DateOfBirth, PastDate
from contracts.events.common import EventReference
from contracts.identifiers import NationalInsuranceNumber, NhsNumber
from contracts.keys import Direction, ReasonCode, ResidentKey, StepName, WorkflowId
from contracts.people import ContactDetails, PersonName
from contracts.rules import Rule, absent, equals, present, stated, unique, when

__all__ = [
    "CHANNELS",
    "DECISION_RESIDENT",
    "DUPLICATE_CHANNEL",
    "MATCH_RESIDENT",
    "BirthHousehold",
    "BirthRecord",
    "CaseworkerDecision",
    "Channel",
    "ContactPlan",
    "DeathHousehold",
    "DeathRecord",
    "Flag",
    "Household",
    "LifeEventReport",
    "MatchOutcome",
    "MatchResult",
    "MatchRule",
    "MoveNotice",
    "MoveRecord",
    "PersonDetails",
    "PreferenceUpdate",
    "ReportKind",
    "Resident",
    "SameEvent",
    "SupportFlag",
    "Survivor",
    "default_channels",
]

Channel = Literal["portal", "email", "sms", "letter"]
CHANNELS: tuple[Channel, ...] = ("portal", "email", "sms", "letter")
Flag = Literal["deceased", "may_need_support"]

MatchOutcome = Literal["matched", "created", "doubtful"]
MatchRule = Literal[
    # matched
    "nhs_number",
    "ni_number",
    "name_and_date_of_birth",
    # doubtful: a caseworker decides
    "conflicting_identifiers",
    "several_candidates",
    "partial_name_match",
    "name_without_date_of_birth",
    # created
    "no_candidate",
    # a caseworker's decision (resolve_doubtful)
    "caseworker_linked",
    "caseworker_created",
]


class PersonDetails(ContractModel):
    """What an event says about one person. Only the name is required."""

    name: PersonName
    date_of_birth: DateOfBirth | None = None
    nhs_number: NhsNumber | None = None
    national_insurance_number: NationalInsuranceNumber | None = None
    contact: ContactDetails | None = None
    address: UkAddress | None = Field(
        default=None,
        description="Where the event says the person lives. Recorded for a new resident, or "
        "for a matched one with no address yet; a change of address is `record_move`'s job.",
    )

    @classmethod
    def of(cls, person: Any, address: UkAddress | None = None) -> PersonDetails:
        """From any person of a life-event payload (mover, parent, child, deceased, informant,
        next of kin, household member): the fields it has, the rest left empty."""
        return cls(
            name=person.name,
            date_of_birth=getattr(person, "date_of_birth", None),
            nhs_number=getattr(person, "nhs_number", None),
            national_insurance_number=getattr(person, "national_insurance_number", None),
            contact=getattr(person, "contact", None),
            address=address if address is not None else getattr(person, "address", None),
        )


MATCH_RESIDENT = Rule(
    "match_resident",
    "resident is given unless the match is doubtful",
    when(equals("outcome", "doubtful"), absent("resident"), present("resident")),
)


class MatchResult(ContractModel):
    """Who a person is in the index. `doubtful` names no resident: a caseworker decides
    (`candidate_keys` lists the residents the caseworker should look at)."""

    model_config = ConfigDict(json_schema_extra=stated(MATCH_RESIDENT))

    outcome: MatchOutcome
    resident: ResidentKey | None
    candidates: int = Field(ge=0, description="How many residents the deciding rule found.")
    rule: MatchRule
    candidate_keys: tuple[ResidentKey, ...] = ()

    @model_validator(mode="after")
    def _consistent(self) -> MatchResult:
        if (self.outcome == "doubtful") != (self.resident is None):
            raise MATCH_RESIDENT.error()
        return self


def default_channels(contact: ContactDetails | None, portal_account: bool) -> tuple[Channel, ...]:
    """The order a resident is contacted in until they choose one: the portal when they have
    an account, then e-mail if known, then SMS if a phone is known, and a printed letter
    always last (residents who are not online are still reached)."""
    channels: list[Channel] = []
    if portal_account:
        channels.append("portal")
    if contact is not None and contact.email is not None:
        channels.append("email")
    if contact is not None and contact.phone is not None:
        channels.append("sms")
    channels.append("letter")
    return tuple(channels)


class Resident(ContractModel):
    """One resident as the index knows them (no name: workflows need the key, not the name)."""

    key: ResidentKey
    contact: ContactDetails | None = None
    portal_account: bool = False
    channels: tuple[Channel, ...] = Field(
        description="Channel preferences in order: the resident's choice, or the default "
        "derived from the contact details (see `default_channels`)."
    )
    channels_chosen: bool = Field(
        default=False, description="True when the resident chose `channels` themselves."
    )
    flags: tuple[Flag, ...] = ()
    address: UkAddress | None = None
    household: tuple[ResidentKey, ...] = Field(
        default=(),
        description="Other living residents at the same address (same UPRN, or same postcode "
        "and lines), sorted by key.",
    )

    @property
    def deceased(self) -> bool:
        return "deceased" in self.flags


class Household(ContractModel):
    """The living residents at an address, after a move. With no address (moved out of the
    area to an unknown address), the residents who moved."""

    address: UkAddress | None
    residents: tuple[ResidentKey, ...]
    other_adults: int = Field(
        default=0,
        ge=0,
        description="Adults living there on the move date who were not part of the move (an "
        "unknown date of birth counts as an adult).",
    )


class MoveRecord(ContractModel):
    """Residents (already matched) move together; idempotent on `workflow_id` + `step`."""

    model_config = ConfigDict(json_schema_extra=stated(NEW_ADDRESS_REQUIRED))

    residents: tuple[ResidentKey, ...] = Field(min_length=1, max_length=20)
    new_address: UkAddress | None
    move_date: date
    direction: Direction
    workflow_id: WorkflowId
    step: StepName

    @model_validator(mode="after")
    def _consistent(self) -> MoveRecord:
        if self.direction != "out_of" and self.new_address is None:
            raise NEW_ADDRESS_REQUIRED.error()
        return self


class MoveNotice(ContractModel):
    """What a move workflow tells a workflow holding reminders for one of its movers (the
    signal `resident_moved`)."""

    model_config = ConfigDict(json_schema_extra=stated(NEW_ADDRESS_REQUIRED))

    resident: ResidentKey
    direction: Direction
    move_date: date
    new_address: UkAddress | None

    @model_validator(mode="after")
    def _consistent(self) -> MoveNotice:
        if self.direction != "out_of" and self.new_address is None:
            raise NEW_ADDRESS_REQUIRED.error()
        return self


class BirthRecord(ContractModel):
    """A child (already matched at their parents' address) is born into the household; the
    workflow recording it holds the child's reminders. Idempotent on `workflow_id` +
    `step`."""

    child: ResidentKey
    parents: tuple[ResidentKey, ...] = Field(default=(), max_length=2)
    date_of_birth: PastDate
    workflow_id: WorkflowId
    step: StepName


class BirthHousehold(ContractModel):
    """The household a child is born into, and which workflow holds the child's reminders."""

    address: UkAddress | None
    residents: tuple[ResidentKey, ...] = Field(max_length=10_000)
    recorded_by: WorkflowId = Field(
        description="The workflow that recorded this birth first: the one asking, or, when "
        "the same birth was reported before under another event, the earlier one (which "
        "alone acts on it)."
    )


class DeathRecord(ContractModel):
    """A resident has died; idempotent on `workflow_id` + `step`."""

    resident: ResidentKey
    date_of_death: PastDate
    workflow_id: WorkflowId
    step: StepName


class Survivor(ContractModel):
    """A living resident at the deceased's last address, as the index knows them."""

    resident: ResidentKey
    name: PersonName
    date_of_birth: DateOfBirth | None = None
    age: int | None = Field(
        default=None, ge=0, le=130, description="On the date of death; null when unknown."
    )
    may_need_support: bool = Field(
        default=False, description="The index flags them as someone who may need support."
    )


class DeathHousehold(ContractModel):
    """Who the death leaves behind, and which running workflows involve the deceased."""

    address: UkAddress | None
    survivors: tuple[Survivor, ...] = Field(default=(), max_length=10_000)
    workflows: tuple[WorkflowId, ...] = Field(
        default=(),
        max_length=1000,
        description="Other life-event workflows that recorded a step about the deceased "
        "(they may still be waiting on them), oldest first.",
    )


class SupportFlag(ContractModel):
    """The resident may need support (bereaved, vulnerable, ...): a reason code, never text."""

    resident: ResidentKey
    reason: ReasonCode
    workflow_id: WorkflowId
    step: StepName


DUPLICATE_CHANNEL = Rule("duplicate_channel", "channels must not repeat", unique("channels"))


class PreferenceUpdate(ContractModel):
    """The resident's own choice. `channels=None` goes back to the default order."""

    model_config = ConfigDict(json_schema_extra=stated(DUPLICATE_CHANNEL))

    resident: ResidentKey
    channels: tuple[Channel, ...] | None = Field(default=None, min_length=1, max_length=4)
    portal_account: bool | None = None

    @model_validator(mode="after")
    def _distinct(self) -> PreferenceUpdate:
        if self.channels is not None and len(set(self.channels)) != len(self.channels):
            raise DUPLICATE_CHANNEL.error()
        return self


class ContactPlan(ContractModel):
    """How to reach a resident now: the deliverable channels in preference order, and the
    details each needs. A deceased resident is never addressed: no channels, no details."""

    resident: ResidentKey
    deceased: bool
    channels: tuple[Channel, ...]
    email: str | None = None
    phone: str | None = None
    address: UkAddress | None = None


DECISION_RESIDENT = Rule(
    "decision_resident",
    "resident is given exactly when linking",
    when(equals("decision", "link"), present("resident"), absent("resident")),
)


class CaseworkerDecision(ContractModel):
    """A caseworker's answer to a doubtful match: `link` the person to an existing resident,
    or `create` a new one. Idempotent on `workflow_id` + `step`."""

    model_config = ConfigDict(json_schema_extra=stated(DECISION_RESIDENT))

    person: PersonDetails
    decision: Literal["link", "create"]
    resident: ResidentKey | None = None
    workflow_id: WorkflowId
    step: StepName

    @model_validator(mode="after")
    def _consistent(self) -> CaseworkerDecision:
        if (self.decision == "link") != (self.resident is not None):
            raise DECISION_RESIDENT.error()
        return self


ReportKind = Literal["move", "death", "birth"]
Difference = Literal["new_address", "date_of_death", "date_of_birth"]


class LifeEventReport(ContractModel):
    """One report of a life event, as the index compares it with the reports before it
    (`residents.claim_report`; the rule is in `services/residents/sameness.py`). Idempotent
    on `workflow_id`: one report per workflow."""

    kind: ReportKind
    event: EventReference
    residents: tuple[ResidentKey, ...] = Field(
        min_length=1,
        max_length=20,
        description="Whom it is about, matched: the movers, the deceased, the child.",
    )
    on: date = Field(description="The move date, the date of death or the date of birth.")
    new_address: UkAddress | None = Field(
        default=None, description="A move's new address (none: out of the area, not known)."
    )
    workflow_id: WorkflowId


class SameEvent(ContractModel):
    """Whether a report is the first of its life event, another report of one already
    reported (`same`: nothing is done twice), or one that contradicts it (`contradicts`:
    a caseworker decides, automation does not)."""

    verdict: Literal["first", "same", "contradicts"]
    first: EventReference = Field(description="The first report's event (this one's if first).")
    first_workflow: WorkflowId
    differences: tuple[Difference, ...] = Field(
        default=(), description="`contradicts`: what the first report says otherwise."
    )
    added: tuple[ResidentKey, ...] = Field(
        default=(), description="`same`: the residents this report adds to the first's."
    )
