"""In-memory fakes of the portal's ports, and a harness that serves the app to an httpx client
over ASGI with a clock the test moves.

The fakes behave as the Protocols say (a workflow not about the resident is None or
LookupError, like one that does not exist), and record every call that would change
something, whoever it is for: a test that one resident cannot act on another's things then
checks that the page never asked. Two synthetic residents, Alice and Bob, each with one life
event, one message, one consent and a ledger; no real person's data.

A plain module, not a conftest: other engineers' portal tests share this folder.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import httpx
from fastapi import FastAPI
from pydantic import SecretStr

from contracts.consent import ConsentRecord, DataUseEntry, DataUseReport
from contracts.notifications import InboxMessage
from contracts.residents import ContactPlan, PreferenceUpdate
from contracts.timeline import Timeline
from services.portal.app import create_app
from services.portal.ports import Answered, EventSummary, Waiting
from services.portal.settings import PortalSettings
from services.portal.store import PortalStore

ALICE = "res_alice0000000000000001"
BOB = "res_bob000000000000000002"
ALICE_EMAIL = "alice.example@example.com"
BOB_EMAIL = "bob.example@example.org"
ALICE_PHONE = "+447700900123"
ALICE_WORKFLOW = "lifeevent-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
BOB_WORKFLOW = "lifeevent-bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
ALICE_MESSAGE = "msg-alice-1"
BOB_MESSAGE = "msg-bob-1"
ALICE_CONSENT = "cns_" + "a" * 32
BOB_CONSENT = "cns_" + "b" * 32
STEP = "school-admissions"
BASE_URL = "https://portal.test"
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class Clock:
    now: datetime = START

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@dataclass
class FakeDirectory:
    emails: dict[str, str] = field(default_factory=lambda: {ALICE_EMAIL: ALICE, BOB_EMAIL: BOB})
    phones: dict[str, str] = field(default_factory=lambda: {ALICE_PHONE: ALICE})
    events: dict[str, list[str]] = field(
        default_factory=lambda: {ALICE: [ALICE_WORKFLOW], BOB: [BOB_WORKFLOW]}
    )
    preferences: list[PreferenceUpdate] = field(default_factory=list)

    async def resident_with_email(self, email: str) -> str | None:
        return self.emails.get(email)

    async def resident_with_phone(self, phone: str) -> str | None:
        return self.phones.get(phone)

    async def contact_plan(self, resident: str) -> ContactPlan:
        email = next((e for e, r in self.emails.items() if r == resident), None)
        phone = next((p for p, r in self.phones.items() if r == resident), None)
        return ContactPlan(
            resident=resident,
            deceased=False,
            channels=("email", "portal", "letter"),
            email=email,
            phone=phone,
            address=None,
        )

    async def set_preferences(self, update: PreferenceUpdate) -> None:
        self.preferences.append(update)

    async def life_events_of(self, resident: str) -> Sequence[str]:
        return list(self.events.get(resident, []))


@dataclass
class FakeInbox:
    boxes: dict[str, list[InboxMessage]] = field(default_factory=dict)

    async def messages(self, resident: str) -> Sequence[InboxMessage]:
        return list(self.boxes.get(resident, []))


@dataclass
class FakeCodeSender:
    sent: list[tuple[str, str, str]] = field(default_factory=list)  # resident, channel, code

    async def send_code(
        self, plan: ContactPlan, channel: Literal["email", "sms"], code: str
    ) -> None:
        self.sent.append((plan.resident, channel, code))


@dataclass
class FakeLetterPreferences:
    """Large print per resident (nobody has chosen at first), and every change, for whom."""

    large: dict[str, bool] = field(default_factory=dict)
    changes: list[tuple[str, bool]] = field(default_factory=list)

    async def large_print(self, resident: str) -> bool:
        return self.large.get(resident, False)

    async def set_large_print(self, resident: str, on: bool) -> None:
        self.changes.append((resident, on))
        self.large[resident] = on


@dataclass
class FakeCallRequests:
    calls: list[str] = field(default_factory=list)

    async def request_call(self, resident: str) -> str:
        self.calls.append(resident)
        return "callback-0001"


def _timeline(event_id: str, *, waiting: bool) -> Timeline:
    return Timeline.model_validate(
        {
            "event_id": event_id,
            "stage": "waiting_for_resident" if waiting else "acting",
            "needs_person": False,
            "entries": [
                {
                    "step": "council-tax",
                    "service": "council-tax",
                    "status": "done",
                    "outcome": "account_closed",
                    "references": {"final_bill_date": "2026-02-28"},
                },
                {
                    "step": "electoral-register",
                    "service": "electoral-services",
                    "status": "skipped",
                    "reason": "objection",
                },
                {
                    "step": STEP,
                    "service": "school-admissions",
                    "status": "waiting_for_resident" if waiting else "done",
                    "references": {"due": "2026-03-16"} if waiting else {},
                },
                {
                    "step": "benefits",
                    "service": "benefits",
                    "status": "skipped",
                    "reason": "some_code_nobody_phrased",
                },
            ],
            "caseworker_tasks": [],
        }
    )


@dataclass
class FakeLifeEvents:
    about: dict[str, str] = field(
        default_factory=lambda: {ALICE_WORKFLOW: ALICE, BOB_WORKFLOW: BOB}
    )
    answered: set[str] = field(default_factory=set)
    answers: list[tuple[str, str, str, bool]] = field(default_factory=list)
    refuse_with: str | None = None

    def _mine(self, resident: str, workflow_id: str) -> bool:
        return self.about.get(workflow_id) == resident

    async def events(self, resident: str, workflow_ids: Sequence[str]) -> Sequence[EventSummary]:
        return [
            EventSummary(
                workflow_id=w,
                event_type="lifeevents.address.changed.v1",
                title="Your change of address",
                stage="waiting_for_resident" if w not in self.answered else "acting",
                started_at=START - timedelta(days=1),
            )
            for w in workflow_ids
            if self._mine(resident, w)
        ]

    async def timeline(self, resident: str, workflow_id: str) -> Timeline | None:
        if not self._mine(resident, workflow_id):
            return None
        return _timeline(f"evt-{workflow_id[-4:]}", waiting=workflow_id not in self.answered)

    async def waiting(self, resident: str, workflow_ids: Sequence[str]) -> Sequence[Waiting]:
        return [
            Waiting(
                workflow_id=w,
                step=STEP,
                question="Would you like us to apply for a school place for your child?",
                due=datetime(2026, 3, 16, tzinfo=UTC),
            )
            for w in workflow_ids
            if self._mine(resident, w) and w not in self.answered
        ]

    async def answer(self, resident: str, workflow_id: str, step: str, accept: bool) -> Answered:
        self.answers.append((resident, workflow_id, step, accept))
        if not self._mine(resident, workflow_id):
            raise LookupError(workflow_id)
        if self.refuse_with is not None:
            return Answered(False, self.refuse_with)
        self.answered.add(workflow_id)
        return Answered(True, "Thank you, we have your answer.")


def _consent(consent_id: str, resident: str, status: str = "given") -> ConsentRecord:
    return ConsentRecord.model_validate(
        {
            "consent_id": consent_id,
            "resident": resident,
            "controller": "council",
            "recipient": "libraries",
            "purpose": "library-membership-offer",
            "data_categories": ["identity", "contact", "address"],
            "special_category": False,
            "lawful_basis": "consent",
            "method": "portal",
            "given_at": START - timedelta(days=30),
            "notice_version": "portal-libraries-2026-12",
            "expires_at": START + timedelta(days=335),
            "status": status,
            "events": [{"status": "given", "at": START - timedelta(days=30)}],
        }
    )


def _ledger(resident: str) -> DataUseReport:
    entry = DataUseEntry.model_validate(
        {
            "seq": 7,
            "at": START - timedelta(days=2),
            "kind": "share",
            "recipient": "council-tax",
            "purpose": "council-tax-liability",
            "data_categories": ["identity", "address"],
            "lawful_basis": "legal_obligation",
            "outcome": "completed",
            "reason": "share_recorded",
            "ref": "dec_" + "1" * 32,
        }
    )
    return DataUseReport(resident=resident, received=[entry], entries=[entry])


@dataclass
class FakeConsents:
    records: dict[str, ConsentRecord] = field(
        default_factory=lambda: {
            ALICE_CONSENT: _consent(ALICE_CONSENT, ALICE),
            BOB_CONSENT: _consent(BOB_CONSENT, BOB),
        }
    )
    given: list[tuple[str, str, str]] = field(default_factory=list)
    withdrawn: list[tuple[str, str]] = field(default_factory=list)
    ledger_reads: list[str] = field(default_factory=list)
    verifies: bool = True

    async def consents(self, resident: str) -> Sequence[ConsentRecord]:
        return [c for c in self.records.values() if c.resident == resident]

    async def give(self, resident: str, purpose: str, recipient: str) -> ConsentRecord:
        self.given.append((resident, purpose, recipient))
        return _consent("cns_" + "c" * 32, resident)

    async def withdraw(self, resident: str, consent_id: str) -> ConsentRecord:
        self.withdrawn.append((resident, consent_id))
        record = self.records.get(consent_id)
        if record is None or record.resident != resident:
            raise LookupError(consent_id)
        changed = record.model_copy(update={"status": "withdrawn"})
        self.records[consent_id] = changed
        return changed

    async def ledger(self, resident: str) -> DataUseReport:
        self.ledger_reads.append(resident)
        return _ledger(resident)

    async def chain_verifies(self) -> bool:
        return self.verifies


def _message(reference: str, workflow_id: str, subject: str, body: str) -> InboxMessage:
    return InboxMessage(
        reference=reference,
        template="move.council-tax",
        subject=subject,
        body=body,
        workflow_id=workflow_id,
        step="council-tax",
        created_at=START - timedelta(hours=3),
    )


@dataclass
class Portal:
    """The app, its client, the fakes behind it and the clock."""

    app: FastAPI
    client: httpx.AsyncClient
    clock: Clock
    store: PortalStore
    settings: PortalSettings
    directory: FakeDirectory
    inbox: FakeInbox
    codes: FakeCodeSender
    calls: FakeCallRequests
    life_events: FakeLifeEvents
    consents: FakeConsents
    letters: FakeLetterPreferences

    def client_for(self, **kwargs: Any) -> httpx.AsyncClient:
        """Another browser: its own cookie jar (and, with `client=(host, port)`, its own
        client address)."""
        transport = httpx.ASGITransport(app=self.app, client=kwargs.pop("client", ("10.0.0.9", 1)))
        return httpx.AsyncClient(
            transport=transport, base_url=BASE_URL, follow_redirects=False, **kwargs
        )


def settings_for(tmp_path: Path, **overrides: Any) -> PortalSettings:
    options: dict[str, Any] = {
        "var_dir": tmp_path,
        "portal_secret_key": SecretStr("k" * 48),
        "portal_static_dir": tmp_path / "static",
        "portal_council_name": "Exampleshire Council",
        **overrides,
    }
    return PortalSettings(**options)


@asynccontextmanager
async def serve(
    tmp_path: Path,
    settings: PortalSettings | None = None,
    **app_options: Any,
) -> AsyncIterator[Portal]:
    """The app over the fakes. `letter_preferences=` gives it another adapter in the
    fake's place (a real one, in tests/deploy/)."""
    settings = settings or settings_for(tmp_path)
    clock = Clock()
    fakes = {
        "directory": FakeDirectory(),
        "inbox": FakeInbox(
            {
                ALICE: [
                    _message(
                        ALICE_MESSAGE,
                        ALICE_WORKFLOW,
                        "Your council tax after your move",
                        "We closed your council tax account.\nYour final bill follows.",
                    )
                ],
                BOB: [_message(BOB_MESSAGE, BOB_WORKFLOW, "Bob's private subject", "Bob's body")],
            }
        ),
        "codes": FakeCodeSender(),
        "calls": FakeCallRequests(),
        "life_events": FakeLifeEvents(),
        "consents": FakeConsents(),
        "letters": FakeLetterPreferences(),
    }
    app_options.setdefault("letter_preferences", fakes["letters"])
    async with await PortalStore.open(f"sqlite+aiosqlite:///{tmp_path / 'portal.db'}") as store:
        app = create_app(
            settings,
            directory=fakes["directory"],
            inbox=fakes["inbox"],
            code_sender=fakes["codes"],
            call_requests=fakes["calls"],
            life_events=fakes["life_events"],
            consents=fakes["consents"],
            store=store,
            clock=clock,
            **app_options,
        )
        transport = httpx.ASGITransport(app=app, client=("10.0.0.1", 50000))
        async with httpx.AsyncClient(
            transport=transport, base_url=BASE_URL, follow_redirects=False
        ) as client:
            yield Portal(
                app=app,
                client=client,
                clock=clock,
                store=store,
                settings=settings,
                **fakes,  # type: ignore[arg-type]
            )


def csrf_from(html: str) -> str:
    found = CSRF_INPUT.search(html)
    assert found is not None, "the page has no form with a CSRF token"
    return found.group(1)


async def request_code(portal: Portal, client: httpx.AsyncClient, contact: str) -> httpx.Response:
    page = await client.get("/sign-in")
    return await client.post(
        "/sign-in", data={"contact": contact, "csrf_token": csrf_from(page.text)}
    )


async def enter_code(portal: Portal, client: httpx.AsyncClient, code: str) -> httpx.Response:
    page = await client.get("/sign-in/code")
    return await client.post(
        "/sign-in/code", data={"code": code, "csrf_token": csrf_from(page.text)}
    )


async def sign_in(portal: Portal, client: httpx.AsyncClient, email: str) -> None:
    """The whole flow, with the code the fake sender received."""
    asked = await request_code(portal, client, email)
    assert asked.status_code == 303
    code = portal.codes.sent[-1][2]
    signed_in = await enter_code(portal, client, code)
    assert signed_in.status_code == 303, signed_in.text
    assert signed_in.headers["location"] == "/"


async def csrf_of(client: httpx.AsyncClient, path: str = "/preferences") -> str:
    page = await client.get(path)
    assert page.status_code == 200, page.status_code
    return csrf_from(page.text)
