"""What the portal needs from the rest of the platform, as interfaces.

The portal is one web app with two roles (residents, caseworkers). It owns only its own
store (sign-in codes, sessions, caseworker accounts, claims). Everything else it reads or
asks for through these ports: the composition root (`deploy/`) gives it adapters over the
other services, so `services.portal` imports no other service. The pages depend on the
ports, and tests may give them fakes; every adapter is also tested against the real thing.

Personal data: the ports carry it (an e-mail address to sign in with, a timeline to show),
but nothing here logs it, and no resident key, code or address goes into a URL except the
portal's own opaque identifiers (a workflow ID names an event, never a person).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal, Protocol

from contracts.consent import ConsentRecord, DataUseReport
from contracts.notifications import InboxMessage
from contracts.residents import ContactPlan, PreferenceUpdate
from contracts.timeline import Timeline

__all__ = [
    "Answered",
    "CallRequests",
    "Candidate",
    "Case",
    "CaseworkerLedger",
    "CaseworkerQueue",
    "CodeSender",
    "Consents",
    "EventSummary",
    "Inbox",
    "LetterPreferences",
    "LifeEvents",
    "QueueItem",
    "ResidentDirectory",
    "Waiting",
]


# -- residents ------------------------------------------------------------------------------


class ResidentDirectory(Protocol):
    """The resident index, as the portal needs it."""

    async def resident_with_email(self, email: str) -> str | None:
        """The living resident with this e-mail address, or None (unknown, several, or
        deceased: the sign-in page answers the same either way)."""

    async def resident_with_phone(self, phone: str) -> str | None:
        """As above, by mobile number (E.164)."""

    async def contact_plan(self, resident: str) -> ContactPlan: ...

    async def set_preferences(self, update: PreferenceUpdate) -> None: ...

    async def life_events_of(self, resident: str) -> Sequence[str]:
        """The workflow IDs of the life events about this resident, newest first."""


class Inbox(Protocol):
    async def messages(self, resident: str) -> Sequence[InboxMessage]:
        """The resident's portal inbox, newest first."""


class CodeSender(Protocol):
    """Sends a sign-in code on the channel the resident signed in with."""

    async def send_code(
        self, plan: ContactPlan, channel: Literal["email", "sms"], code: str
    ) -> None:
        """Raise `CodeNotSent` (from the adapter) when the channel refused it."""


class LetterPreferences(Protocol):
    """How the resident's printed letters are laid out: the notification service's own
    record of their choice, the one its printer reads when it prints a letter to them (no
    contract carries it, so it is not part of the contact plan)."""

    async def large_print(self, resident: str) -> bool:
        """Whether the resident chose large print (False when they never chose)."""

    async def set_large_print(self, resident: str, on: bool) -> None:
        """Record the resident's choice; every letter printed from then on follows it."""


class CallRequests(Protocol):
    async def request_call(self, resident: str) -> str:
        """ "I would like a person to call me": a caseworker task; returns its workflow ID."""


# -- life events, as the resident sees them ---------------------------------------------------


@dataclass(frozen=True)
class EventSummary:
    workflow_id: str
    event_type: str  # e.g. lifeevents.address.changed.v1
    title: str  # plain English: "Your change of address"
    stage: str
    started_at: datetime | None


@dataclass(frozen=True)
class Waiting:
    """A question a running workflow is waiting for this resident to answer."""

    workflow_id: str
    step: str
    question: str  # plain English: "Would you like a library card for your child?"
    due: datetime | None = None


@dataclass(frozen=True)
class Answered:
    accepted: bool  # whether the workflow took the answer
    message: str  # its receipt, or why it refused (plain English, no personal data)


class LifeEvents(Protocol):
    """The running and finished life-event workflows, read and answered through Temporal.
    Every method checks that the workflow is about `resident` (its `record` query's
    `about`); one that is not is the same as one that does not exist (None / LookupError)."""

    async def events(
        self, resident: str, workflow_ids: Sequence[str]
    ) -> Sequence[EventSummary]: ...

    async def timeline(self, resident: str, workflow_id: str) -> Timeline | None: ...

    async def waiting(self, resident: str, workflow_ids: Sequence[str]) -> Sequence[Waiting]: ...

    async def answer(
        self, resident: str, workflow_id: str, step: str, accept: bool
    ) -> Answered: ...


class Consents(Protocol):
    """The consent service's API, called as the signed-in resident."""

    async def consents(self, resident: str) -> Sequence[ConsentRecord]: ...

    async def give(self, resident: str, purpose: str, recipient: str) -> ConsentRecord: ...

    async def withdraw(self, resident: str, consent_id: str) -> ConsentRecord: ...

    async def ledger(self, resident: str) -> DataUseReport: ...

    async def chain_verifies(self) -> bool: ...


# -- caseworkers ------------------------------------------------------------------------------


@dataclass(frozen=True)
class QueueItem:
    workflow_id: str
    event_type: str
    stage: str  # `escalated` sorts first
    tasks: tuple[str, ...]  # e.g. ("match:0",), ("contradiction:…",)
    started_at: datetime
    temporal_ui_url: str


@dataclass(frozen=True)
class Candidate:
    """A resident the index found for a doubtful match, and which fields agree."""

    resident: str
    fields: dict[str, str]  # what the index holds: name, date of birth, address, …
    matched: frozenset[str] = field(default_factory=frozenset)  # the names of fields that agree


@dataclass(frozen=True)
class Case:
    item: QueueItem
    timeline: Timeline
    person: dict[str, str]  # for a match task: the person as the event names them
    candidates: tuple[Candidate, ...] = ()


class CaseworkerQueue(Protocol):
    async def items(self) -> Sequence[QueueItem]:
        """Everything handed to people (`NeedsPerson = true`), escalated first, then oldest."""

    async def case(self, workflow_id: str, task: str) -> Case | None: ...

    async def decide_match(
        self, workflow_id: str, task: str, decision: Literal["link", "create"], resident: str | None
    ) -> Answered: ...

    async def resolve(self, workflow_id: str, task: str) -> Answered: ...


class CaseworkerLedger(Protocol):
    """Every caseworker action on the consent ledger, with who did it, for each resident the
    event is about (so the resident reads it under "who used my data" too)."""

    async def record(
        self, caseworker: str, action: str, workflow_id: str, task: str, residents: Sequence[str]
    ) -> None: ...
