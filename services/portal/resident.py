"""The resident's pages: inbox, life events and their timelines, questions, consents, the
record of who used their data, and contact preferences (with large-print letters).

Every route needs a resident session (`require_resident`), and every object is checked
against the session's resident through the ports before it is shown or acted on: a
workflow must be one of `ResidentDirectory.life_events_of(resident)` (and the adapter checks
again), a message one of their `Inbox.messages`, a consent one of their `Consents.consents`.
Another resident's ID is a 404, exactly as an ID that does not exist, and nothing is called
that would act on it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Literal
from urllib.parse import quote

import structlog
from fastapi import APIRouter, Depends, Form, Path, Request
from starlette.responses import RedirectResponse, Response

from contracts.residents import Channel, PreferenceUpdate
from contracts.timeline import StepStatus, Timeline
from services.portal import phrases
from services.portal.rendering import render
from services.portal.sessions import Session, require_resident
from services.portal.web import PageError, Portal, portal

__all__ = ["Line", "event_href", "router", "timeline_lines"]

log = structlog.get_logger(__name__)

router = APIRouter()

Resident = Annotated[Session, Depends(require_resident)]
# Workflow IDs may hold a slash (`<id>/corrected-1`): matched as a path, then checked.
WorkflowPath = Annotated[str, Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:/-]{0,254}$")]
StepPath = Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9:._-]{0,99}$")]
ReferencePath = Annotated[str, Path(pattern=r"^[A-Za-z0-9._:-]{1,100}$")]
ConsentPath = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{1,64}$")]


def event_href(workflow_id: str) -> str:
    # A corrected run's ID holds a slash (`<id>/corrected-1`): escaped, as
    # `contracts.timeline.answer_path` does; the route matches it either way.
    return f"/events/{quote(workflow_id, safe='')}"


def question_href(workflow_id: str, step: str) -> str:
    return f"{event_href(workflow_id)}/steps/{quote(step, safe='')}"


async def _owned(state: Portal, resident: str, workflow_id: str) -> None:
    """404 unless the workflow is one of the resident's life events."""
    if workflow_id not in await state.ports.directory.life_events_of(resident):
        raise PageError(404)


# -- inbox ------------------------------------------------------------------------------------


@router.get("/")
async def home(request: Request, session: Resident) -> Response:
    state = portal(request)
    resident = session.subject
    messages = await state.ports.inbox.messages(resident)
    ids = await state.ports.directory.life_events_of(resident)
    waiting = await state.ports.life_events.waiting(resident, ids) if ids else []
    return await render(
        request,
        "home.html",
        {
            "title": "Your messages",
            "messages": messages,
            "waiting": [
                {"question": w.question, "due": w.due, "href": question_href(w.workflow_id, w.step)}
                for w in waiting
                if w.workflow_id in ids
            ],
        },
    )


@router.get("/messages/{reference}")
async def message(request: Request, session: Resident, reference: ReferencePath) -> Response:
    state = portal(request)
    messages = await state.ports.inbox.messages(session.subject)
    found = next((m for m in messages if m.reference == reference), None)
    if found is None:
        raise PageError(404)
    ids = await state.ports.directory.life_events_of(session.subject)
    return await render(
        request,
        "message.html",
        {
            "title": found.subject,
            "message": found,
            "event_href": event_href(found.workflow_id) if found.workflow_id in ids else None,
        },
    )


# -- life events --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Line:
    """One step of a timeline, as the resident reads it."""

    title: str
    detail: str
    tag: phrases.StatusTag
    href: str | None
    references: list[tuple[str, str]]


def timeline_lines(
    timeline: Timeline, event_type: str, resident: str, workflow_id: str
) -> list[Line]:
    lines: list[Line] = []
    for entry in timeline.entries:
        status = StepStatus(entry.status)
        own = next((p for p in entry.people if p.resident == resident), None)
        if status is StepStatus.DONE:
            detail = phrases.outcome_text(entry.outcome)
            if own is not None and own.status == StepStatus.SKIPPED and own.reason:
                detail = f"{detail} Not for you: {phrases.reason_text(own.reason)}".strip()
        elif status is StepStatus.WAITING_FOR_RESIDENT:
            detail = "We need your answer before we do this."
        elif status is StepStatus.WAITING:
            detail = "We will do this when it is due."
        elif status is StepStatus.NEEDS_PERSON:
            why = phrases.reason_text(entry.reason)
            detail = f"{why} A member of staff is dealing with this.".strip()
        else:
            reason = own.reason if own is not None and own.reason else entry.reason
            detail = phrases.reason_text(reason) or "This was not needed."
        lines.append(
            Line(
                title=phrases.step_title(entry.step, event_type),
                detail=detail,
                tag=phrases.status_tag(status),
                href=question_href(workflow_id, entry.step)
                if status is StepStatus.WAITING_FOR_RESIDENT
                else None,
                references=phrases.reference_lines(entry.references),
            )
        )
    return lines


@router.get("/events")
async def events(request: Request, session: Resident) -> Response:
    state = portal(request)
    ids = await state.ports.directory.life_events_of(session.subject)
    summaries = await state.ports.life_events.events(session.subject, ids) if ids else []
    return await render(
        request,
        "events.html",
        {
            "title": "Your life events",
            "events": [
                {
                    "title": phrases.event_title(s.event_type, s.title),
                    "stage": phrases.stage_text(s.stage),
                    "started_at": s.started_at,
                    "href": event_href(s.workflow_id),
                }
                for s in summaries
                if s.workflow_id in ids
            ],
        },
    )


async def _timeline_context(state: Portal, resident: str, workflow_id: str) -> dict[str, object]:
    timeline = await state.ports.life_events.timeline(resident, workflow_id)
    if timeline is None:
        raise PageError(404)
    summaries = await state.ports.life_events.events(resident, [workflow_id])
    summary = next((s for s in summaries if s.workflow_id == workflow_id), None)
    event_type = summary.event_type if summary is not None else ""
    return {
        "event_title": phrases.event_title(event_type, summary.title if summary else ""),
        "stage": phrases.stage_text(timeline.stage),
        "started_at": summary.started_at if summary is not None else None,
        "lines": timeline_lines(timeline, event_type, resident, workflow_id),
        "timeline": timeline,
        "event_href": event_href(workflow_id),
    }


async def _question(
    request: Request,
    session: Session,
    workflow_id: str,
    step: str,
    *,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    state = portal(request)
    context = await _timeline_context(state, session.subject, workflow_id)
    timeline = context["timeline"]
    assert isinstance(timeline, Timeline)
    if not any(e.step == step for e in timeline.entries):
        raise PageError(404)
    waiting = await state.ports.life_events.waiting(session.subject, [workflow_id])
    question = next((w for w in waiting if w.workflow_id == workflow_id and w.step == step), None)
    return await render(
        request,
        "question.html",
        {
            **context,
            "title": question.question if question is not None else "Nothing to answer",
            "question": question,
            "action": question_href(workflow_id, step),
            "errors": errors or {},
        },
        status_code=status_code,
    )


# Registered before the timeline's route: its path would match a question's too.
@router.get("/events/{workflow_id:path}/steps/{step}")
async def question_page(
    request: Request, session: Resident, workflow_id: WorkflowPath, step: StepPath
) -> Response:
    await _owned(portal(request), session.subject, workflow_id)
    return await _question(request, session, workflow_id, step)


@router.post("/events/{workflow_id:path}/steps/{step}")
async def answer(
    request: Request,
    session: Resident,
    workflow_id: WorkflowPath,
    step: StepPath,
    answer: Annotated[str, Form()] = "",
) -> Response:
    state = portal(request)
    await _owned(state, session.subject, workflow_id)
    if answer not in ("yes", "no"):
        return await _question(
            request,
            session,
            workflow_id,
            step,
            errors={"answer": "Select yes or no"},
            status_code=400,
        )
    try:
        answered = await state.ports.life_events.answer(
            session.subject, workflow_id, step, answer == "yes"
        )
    except LookupError:
        raise PageError(404) from None
    log.info("portal.answered", workflow_id=workflow_id, step=step, accepted=answered.accepted)
    context = await _timeline_context(state, session.subject, workflow_id)
    return await render(
        request,
        "answered.html",
        {
            **context,
            "title": "Thank you" if answered.accepted else "We could not take your answer",
            "answered": answered,
        },
    )


@router.get("/events/{workflow_id:path}")
async def event(request: Request, session: Resident, workflow_id: WorkflowPath) -> Response:
    state = portal(request)
    await _owned(state, session.subject, workflow_id)
    context = await _timeline_context(state, session.subject, workflow_id)
    return await render(request, "event.html", {**context, "title": context["event_title"]})


# -- consents ------------------------------------------------------------------------------------


@router.get("/consents")
async def consents(request: Request, session: Resident, done: str = "") -> Response:
    state = portal(request)
    records = await state.ports.consents.consents(session.subject)
    given = {(c.purpose, c.recipient) for c in records if c.status == "given"}
    return await render(
        request,
        "consents.html",
        {
            "title": "Your consents",
            "consents": [
                {
                    "id": c.consent_id,
                    "purpose": phrases.purpose_text(c.purpose),
                    "recipient": phrases.recipient_text(c.recipient),
                    "categories": phrases.categories_text(c.data_categories),
                    "tag": phrases.consent_status(c.status),
                    "given_at": c.given_at,
                    "expires_at": c.expires_at,
                    "withdrawable": c.status == "given",
                }
                for c in records
            ],
            "offers": [
                o for o in phrases.OFFERED_CONSENTS if (o.purpose, o.recipient) not in given
            ],
            "done": done if done in ("given", "withdrawn") else "",
        },
    )


@router.post("/consents/{consent_id}/withdraw")
async def withdraw(request: Request, session: Resident, consent_id: ConsentPath) -> Response:
    state = portal(request)
    records = await state.ports.consents.consents(session.subject)
    if not any(c.consent_id == consent_id for c in records):
        raise PageError(404)
    try:
        await state.ports.consents.withdraw(session.subject, consent_id)
    except LookupError:
        raise PageError(404) from None
    log.info("portal.consent_withdrawn")
    return RedirectResponse("/consents?done=withdrawn", status_code=303)


@router.post("/consents/give")
async def give(
    request: Request, session: Resident, purpose: Annotated[str, Form()] = ""
) -> Response:
    state = portal(request)
    offer = next((o for o in phrases.OFFERED_CONSENTS if o.purpose == purpose), None)
    if offer is None:
        raise PageError(400, reason="not_offered")
    records = await state.ports.consents.consents(session.subject)
    # One click gives it once: a second click (or a resent form) changes nothing.
    if not any(
        c.purpose == offer.purpose and c.recipient == offer.recipient and c.status == "given"
        for c in records
    ):
        await state.ports.consents.give(session.subject, offer.purpose, offer.recipient)
        log.info("portal.consent_given", purpose=offer.purpose)
    return RedirectResponse("/consents?done=given", status_code=303)


# -- who used my data ----------------------------------------------------------------------


@router.get("/data-use")
async def data_use(request: Request, session: Resident) -> Response:
    state = portal(request)
    report = await state.ports.consents.ledger(session.subject)
    if report.resident != session.subject:
        raise PageError(404)
    verifies = await state.ports.consents.chain_verifies()
    entries = sorted(report.entries, key=lambda e: e.seq, reverse=True)
    return await render(
        request,
        "data_use.html",
        {
            "title": "Who used my data",
            "verifies": verifies,
            "entries": [
                {
                    "seq": e.seq,
                    "at": e.at,
                    "heading": phrases.ledger_who(e.kind, e.recipient)
                    if e.kind == "caseworker"
                    else f"{phrases.ledger_kind(e.kind)}: {phrases.recipient_text(e.recipient)}",
                    "who": phrases.ledger_who(e.kind, e.recipient),
                    "data": phrases.categories_text(e.data_categories)
                    if e.data_categories
                    else "None",
                    "why": phrases.purpose_text(e.purpose)
                    if e.purpose != "*"
                    else "recording a death",
                    "basis": phrases.basis_text(e.lawful_basis),
                    "outcome": phrases.ledger_outcome(e.kind, e.outcome, e.reason),
                }
                for e in entries
            ],
            "received": len(report.received),
        },
    )


# -- contact preferences -------------------------------------------------------------------

_ORDER: dict[str, tuple[Channel, ...]] = {
    # The chosen way first; the portal inbox always holds a copy for a resident who signs in.
    "portal": ("portal",),
    "email": ("email", "portal"),
    "sms": ("sms", "portal"),
    "letter": ("letter", "portal"),
}


def _choices(email: str | None, phone: str | None, has_address: bool) -> list[dict[str, str]]:
    choices = [{"value": "portal", "text": "Portal only", "hint": "Read messages here"}]
    if email:
        choices.append({"value": "email", "text": "Email", "hint": f"We will email {email}"})
    if phone:
        choices.append({"value": "sms", "text": "Text message", "hint": f"We will text {phone}"})
    if has_address:
        choices.append(
            {"value": "letter", "text": "Send me letters", "hint": "We will post letters to you"}
        )
    return choices


# The large-print checkbox: ticked sends "yes", unticked sends nothing. Any other value did
# not come from the page, and is a bad request before anything is saved.
LargePrint = Annotated[Literal["", "yes"], Form()]


async def _preferences(
    request: Request,
    session: Session,
    *,
    errors: dict[str, str] | None = None,
    saved: bool = False,
    large_print: bool | None = None,
    large_print_changed: bool = False,
    status_code: int = 200,
) -> Response:
    """The page. `large_print`: the box as the resident sent it (a form with errors shows
    what they chose, not yet saved); None reads what is saved."""
    state = portal(request)
    plan = await state.ports.directory.contact_plan(session.subject)
    current = plan.channels[0] if plan.channels else "portal"
    if large_print is None:
        large_print = await state.ports.letter_preferences.large_print(session.subject)
    return await render(
        request,
        "preferences.html",
        {
            "title": "Contact preferences",
            "choices": _choices(plan.email, plan.phone, plan.address is not None),
            "current": current,
            # Offered whatever the channels: any letter may be posted (a fallback too).
            "large_print": large_print,
            "large_print_changed": large_print_changed,
            "errors": errors or {},
            "saved": saved,
        },
        status_code=status_code,
    )


@router.get("/preferences")
async def preferences(request: Request, session: Resident) -> Response:
    return await _preferences(request, session)


@router.post("/preferences")
async def save_preferences(
    request: Request,
    session: Resident,
    contact: Annotated[str, Form()] = "",
    large_print: LargePrint = "",
) -> Response:
    """One form, one save: the channel, and large print. The resident is the session's;
    nothing in the form names one."""
    state = portal(request)
    letters = state.ports.letter_preferences
    wanted = large_print == "yes"
    plan = await state.ports.directory.contact_plan(session.subject)
    offered = {c["value"] for c in _choices(plan.email, plan.phone, plan.address is not None)}
    if contact not in offered:
        return await _preferences(
            request,
            session,
            errors={"contact": "Select how you would like us to contact you"},
            large_print=wanted,
            status_code=400,
        )
    await state.ports.directory.set_preferences(
        PreferenceUpdate(resident=session.subject, channels=_ORDER[contact], portal_account=True)
    )
    # Written only when it changes: the page then says so, and the notification service's
    # record keeps the date of the resident's last real choice.
    changed = False
    if await letters.large_print(session.subject) != wanted:
        await letters.set_large_print(session.subject, wanted)
        changed = True
    log.info("portal.preferences_saved", first=contact, large_print_changed=changed)
    return await _preferences(request, session, saved=True, large_print_changed=changed)


@router.post("/preferences/call")
async def request_call(request: Request, session: Resident) -> Response:
    state = portal(request)
    await state.ports.call_requests.request_call(session.subject)
    log.info("portal.call_requested")
    return await render(request, "call_requested.html", {"title": "We will call you"})
