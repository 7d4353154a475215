"""Consent records, objections, share decisions and ledger views: the consent gate's language.

Consent records carry the elements of ISO/IEC TS 27560 and the Kantara consent receipt that
matter here: the resident (a pseudonymous key, never a name), the controller, the recipient
service, the purpose, the data categories with a special-category flag, the lawful basis,
how and when consent was given, the notice version shown, the expiry, and the status events.
Every element is required: a record without one is rejected, not completed with a default.

At the registration of a death the informant may agree that organisations be told (Tell Us
Once): an `InformantAgreement` becomes one consent per organisation for the deceased, method
`informant`. A death itself is recorded in the gate from a `DeathRecord` (`DeathRecorded`):
from then on every share token the gate issues about that resident says so.

A caseworker's action on a life event (`CaseworkerAction`: claimed, released, linked,
created, resolved) is on the ledger of each resident it concerns, naming the caseworker by
a pseudonymous ID.

Nothing in this module holds personal data: residents are `res_…` keys, data is named by
category, and the data itself is only ever referred to by its SHA-256.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import AwareDatetime, ConfigDict, Field, StringConstraints, model_validator

from contracts.base import ContractModel
from contracts.errors import rule_error
from contracts.keys import Code, DataHash, ResidentKey, StepName, WorkflowId
from contracts.rules import Rule, contains_any, equals, stated, unique, when
from contracts.shares import SPECIAL_CATEGORIES, CategoryList, DataCategory

__all__ = [
    "CASEWORKER_ACTION_ID_PATTERN",
    "CASEWORKER_ID_PATTERN",
    "RECIPIENT_REPEATED",
    "SPECIAL_CATEGORY",
    "CaseworkerAction",
    "CaseworkerActionName",
    "CaseworkerActionRecorded",
    "ConsentChange",
    "ConsentEvent",
    "ConsentGrant",
    "ConsentMethod",
    "ConsentRecord",
    "ConsentStatus",
    "DataUseEntry",
    "DataUseReport",
    "DeathRecorded",
    "Decision",
    "EntryKind",
    "InformantAgreement",
    "LawfulBasis",
    "Objection",
    "ObjectionRequest",
    "ShareCompletion",
    "ShareDecision",
    "ShareRecorded",
    "ShareRequest",
]


class LawfulBasis(StrEnum):
    """The UK GDPR Art. 6(1) bases a council relies on for sharing between its services."""

    PUBLIC_TASK = "public_task"  # Art. 6(1)(e)
    LEGAL_OBLIGATION = "legal_obligation"  # Art. 6(1)(c)
    CONSENT = "consent"  # Art. 6(1)(a)
    VITAL_INTERESTS = "vital_interests"  # Art. 6(1)(d)

    @property
    def allows_objection(self) -> bool:
        """Art. 21 gives a right to object to public-task processing; withdrawing consent is
        the objection to consent-based processing. Legal obligations and vital interests
        carry no right to object."""
        return self in (LawfulBasis.PUBLIC_TASK, LawfulBasis.CONSENT)


class ConsentMethod(StrEnum):
    """How consent was given (Kantara `consentType` / ISO 27560 `collection method`)."""

    PORTAL = "portal"  # an explicit click in the resident portal
    PAPER_FORM = "paper_form"
    RECORDED_CALL = "recorded_call"
    IN_PERSON = "in_person"
    # The informant's agreement at the registration of a death (Tell Us Once), for the
    # deceased: recorded by the gate from an `InformantAgreement`, never given otherwise.
    INFORMANT = "informant"


class ConsentStatus(StrEnum):
    GIVEN = "given"
    WITHDRAWN = "withdrawn"
    EXPIRED = "expired"


class ConsentEvent(ContractModel):
    status: ConsentStatus
    at: AwareDatetime


_NoticeVersion = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._-]{1,64}$")]

# Given times may run a little ahead of ours (another machine's clock); not more.
_CLOCK_SKEW = timedelta(minutes=5)

SPECIAL_CATEGORY = Rule(
    "special_category",
    "special_category must say whether any data category is special",
    when(
        contains_any("data_categories", sorted(c.value for c in SPECIAL_CATEGORIES)),
        equals("special_category", True),
        equals("special_category", False),
    ),
)


class ConsentGrant(ContractModel):
    """What the resident agreed to: every element required, none defaulted."""

    model_config = ConfigDict(json_schema_extra=stated(SPECIAL_CATEGORY))

    resident: ResidentKey
    controller: Code = Field(description="The data controller (the council), e.g. `council`.")
    recipient: Code = Field(description="The service that will receive the data.")
    purpose: Code
    data_categories: CategoryList
    special_category: bool = Field(
        description="True when any category is special (Art. 9); must agree with the categories."
    )
    lawful_basis: Literal[LawfulBasis.CONSENT]
    method: ConsentMethod
    given_at: AwareDatetime
    notice_version: _NoticeVersion
    expires_at: AwareDatetime

    @model_validator(mode="after")
    def _consistent(self) -> ConsentGrant:
        special = any(c.special for c in self.data_categories)
        if self.special_category != special:
            raise SPECIAL_CATEGORY.error()
        if self.expires_at <= self.given_at:
            raise rule_error("consent_expiry", "expires_at must be after given_at")
        if self.given_at > datetime.now(UTC) + _CLOCK_SKEW:
            raise rule_error("given_in_future", "given_at is in the future")
        return self


class ConsentRecord(ConsentGrant):
    """A recorded consent: what was agreed, its ID, its status now and every status change."""

    consent_id: str
    status: ConsentStatus
    events: list[ConsentEvent]


RECIPIENT_REPEATED = Rule(
    "recipient_repeated", "recipients must not repeat a recipient", unique("recipients")
)


class InformantAgreement(ContractModel):
    """At the registration of a death, the informant agreed that these recipients be told
    (Tell Us Once). The gate records one consent per recipient for the deceased, method
    `informant`, valid for 90 days from `given_at`; idempotent on `workflow_id` + `step` +
    recipient (a repeat returns the same consents and records nothing new)."""

    model_config = ConfigDict(json_schema_extra=stated(RECIPIENT_REPEATED))

    resident: ResidentKey = Field(description="The deceased.")
    purpose: Code = Field(description="The purpose of the shares, e.g. `tell-us-once`.")
    recipients: tuple[Code, ...] = Field(
        min_length=1,
        max_length=20,
        description="The organisations the informant agreed to tell, each once.",
    )
    data_categories: CategoryList
    given_at: AwareDatetime = Field(description="When the informant agreed (the registration).")
    notice_version: _NoticeVersion | None = Field(
        default=None,
        description="The notice read to the informant; null: the gate's Tell Us Once notice.",
    )
    workflow_id: WorkflowId
    step: StepName

    @model_validator(mode="after")
    def _consistent(self) -> InformantAgreement:
        if len(set(self.recipients)) != len(self.recipients):
            raise RECIPIENT_REPEATED.error()
        if self.given_at > datetime.now(UTC) + _CLOCK_SKEW:
            raise rule_error("given_in_future", "given_at is in the future")
        return self


class DeathRecorded(ContractModel):
    """record_death's answer: the gate knows the resident died, from the ledger's entry
    `ledger_seq` (the first record's, on a repeat)."""

    resident: ResidentKey
    ledger_seq: int


class ObjectionRequest(ContractModel):
    """The resident objects to the use of their data for a purpose (UK GDPR Art. 21)."""

    resident: ResidentKey
    purpose: Code


class Objection(ObjectionRequest):
    """A recorded objection; `withdrawn_at` once the resident has taken it back."""

    objection_id: str
    recorded_at: AwareDatetime
    withdrawn_at: AwareDatetime | None = None


class Decision(StrEnum):
    ALLOW = "allow"
    DENY = "deny"
    NEEDS_CONSENT = "needs_consent"


class ShareRequest(ContractModel):
    """decide_share's question: may these categories of this resident's data go there?"""

    resident: ResidentKey
    purpose: Code
    recipient: Code
    data_categories: CategoryList
    data_hash: DataHash
    reverses: bool = Field(
        default=False,
        strict=True,
        description="A compensation: the share reverses what an earlier share of the same "
        "categories to the same recipient was for (a life event withdrawn or corrected).",
    )


class ShareDecision(ContractModel):
    """decide_share's answer, written to the ledger as entry `ledger_seq`: allow (with a
    share token for exactly the data asked about), deny, or needs consent."""

    decision_id: str
    decision: Decision
    resident: ResidentKey
    purpose: Code
    recipient: Code
    data_categories: list[DataCategory]
    lawful_basis: LawfulBasis | None = None
    reason: str = Field(description="A code: `policy_allows`, `consent_withdrawn`, …")
    consent_id: str | None = None
    share_token: str | None = Field(default=None, description="Present on allow only.")
    token_expires_at: AwareDatetime | None = None
    ledger_seq: int


class ShareCompletion(ContractModel):
    """The sender says: the data under this token was handed over and accepted."""

    share_token: Annotated[str, StringConstraints(min_length=1, max_length=4096)]


class ShareRecorded(ContractModel):
    """record_share's answer: the share under this decision is the ledger's entry `ledger_seq`."""

    decision_id: str
    ledger_seq: int


class EntryKind(StrEnum):
    DECISION = "decision"
    SHARE = "share"
    CONSENT = "consent"
    OBJECTION = "objection"
    # The gate learnt that the resident died (outcome `recorded`, reason `death_registered`):
    # every share token it issues about them from then on says so.
    DEATH = "death"
    # A decision to reverse a share (a life event withdrawn or corrected): like `decision`,
    # for the step it reverses; its share, when done, is a `share` entry as any other.
    COMPENSATION = "compensation"
    # A caseworker acted on a life event about the resident (claimed, released, linked,
    # created, resolved a task): `recipient` is the caseworker's pseudonymous ID, `outcome`
    # the action, `reason` the kind of task, `ref` the action's ID.
    CASEWORKER = "caseworker"


class DataUseEntry(ContractModel):
    """One line of the resident's Art. 15 view: who, which categories, when, why, on what
    basis, and what happened."""

    seq: int
    at: AwareDatetime
    kind: EntryKind
    recipient: str
    purpose: str
    data_categories: list[DataCategory]
    lawful_basis: LawfulBasis | None
    outcome: str
    reason: str
    ref: str


class DataUseReport(ContractModel):
    """Everything the ledger holds about one resident's data (UK GDPR Art. 15)."""

    resident: ResidentKey
    received: list[DataUseEntry] = Field(description="Completed shares: who received what.")
    entries: list[DataUseEntry] = Field(description="Every ledger entry about this resident.")


class ConsentChange(ContractModel):
    """The body of a `consent.v1` record. On withdrawal, `stop_use` lists the shares whose
    data the recipient must stop using (their decision IDs, which were the token `jti`)."""

    change: Literal["given", "withdrawn"]
    consent_id: str
    resident: ResidentKey
    purpose: Code
    recipient: Code
    data_categories: list[DataCategory]
    at: AwareDatetime
    stop_use: list[str] = Field(default_factory=list)


# --- caseworkers -----------------------------------------------------------------------------

CASEWORKER_ID_PATTERN = r"^cwk_[0-9a-f]{32}$"
"""A caseworker's pseudonymous ID (their account's), as the ledger names them: staff, not
residents, but the ledger needs no name to say which caseworker it was."""

CASEWORKER_ACTION_ID_PATTERN = r"^cwa_[0-9a-f]{32}$"

CaseworkerActionName = Literal["claimed", "released", "linked", "created", "resolved"]
"""What a caseworker did about a task: took it (`claimed`), let it go (`released`), decided a
doubtful match (`linked` to a resident, or `created` a new one), or dealt with it
(`resolved`)."""

_TaskName = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:/-]{0,199}$"),
    Field(
        description="The task, as the workflow's timeline names it: `match:<n>`, "
        "`confirm:<step>`, `contradiction:<workflow>`, or a step handed on."
    ),
]


class CaseworkerAction(ContractModel):
    """A caseworker's action on a life event's task, for the ledger (`POST
    /caseworker-actions`, services only): one entry of kind `caseworker` per resident, so
    each reads it under "who used my data". Idempotent on `action_id`: a repeat records
    nothing and answers as the first did."""

    action_id: Annotated[str, StringConstraints(pattern=CASEWORKER_ACTION_ID_PATTERN)] = Field(
        description="Made once per action by the caller: `cwa_` and 32 hex digits."
    )
    caseworker: Annotated[str, StringConstraints(pattern=CASEWORKER_ID_PATTERN)] = Field(
        description="The caseworker's pseudonymous ID: `cwk_` and 32 hex digits."
    )
    action: CaseworkerActionName
    workflow_id: WorkflowId
    task: _TaskName
    residents: tuple[ResidentKey, ...] = Field(
        min_length=1,
        max_length=50,
        description="Whom the action concerns: the residents the event is about, and for a "
        "doubtful match the residents the caseworker was shown and the one linked. A "
        "resident named twice has one entry.",
    )


class CaseworkerActionRecorded(ContractModel):
    """`POST /caseworker-actions`' answer: the ledger entries of the action, one per
    resident in the order named (the first recording's, on a repeat)."""

    action_id: str
    ledger_seqs: tuple[int, ...]
