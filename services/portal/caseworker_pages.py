"""The caseworker console's pages: sign-in, the queue, a case, and what a caseworker does.

`caseworker_routes(...)` gives the router `create_app(routers=[…])` includes, so the console
shares the portal's layout, sessions and app-wide CSRF check (every POST carries the
session's token). Each page needs a caseworker session (`require_caseworker`: signed out →
the console's sign-in, a resident → 403) whose account is still active.

- `/caseworker/sign-in`: username and password (`Caseworkers.sign_in`: the same answer for
  an unknown username and a wrong password; 429 while the username or the client is locked).
  A good one starts a caseworker session (`start_session`, the token rotated).
- `/caseworker`: what automation handed to people, escalated first, then oldest.
- `/caseworker/cases/<workflow_id>/<task>` (each part URL-quoted: a corrected run's ID and a
  contradiction's task hold a `/`): the case's timeline, for a doubtful match the person and
  the candidates side by side with the fields that agree marked, and the buttons: Claim,
  Release, Link to this resident, Create a new resident, Mark as dealt with.
  A decision or "dealt with" needs the caseworker's own claim on the task.

Every action (claim, release, link, create, resolve) goes on the consent ledger
(`CaseworkerLedger`) about each resident it concerns: those the event is about, and for a
doubtful match the candidates the caseworker was shown (whose data they saw) and the one
linked. A claim that cannot be put there is let go again; a decision the workflow has taken
stands, and the page says the ledger entry failed (the adapter logged it for ops).

Nothing here logs a name, a username or a password: caseworkers by their `cwk_` ID.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Annotated, Any, Literal
from urllib.parse import quote, unquote

import structlog
from fastapi import APIRouter, Depends, Form, Request
from starlette.responses import RedirectResponse, Response

from services.portal.caseworker_ledger import LedgerUnavailable
from services.portal.caseworkers import (
    Caseworker,
    Caseworkers,
    Claim,
    ClaimedByAnother,
    SignInLocked,
)
from services.portal.ports import Case, CaseworkerLedger, CaseworkerQueue
from services.portal.queue import ESCALATED, PERSON_FIELDS, EventResidents, match_place
from services.portal.rendering import render
from services.portal.sessions import Session, current_session, require_caseworker, start_session
from services.portal.web import PageError, SignInRequired

__all__ = ["CASEWORKER_NAVIGATION", "case_href", "caseworker_routes", "task_text"]

log = structlog.get_logger(__name__)

CASEWORKER_NAVIGATION = (("/caseworker", "Queue"), ("/sign-out", "Sign out"))

_WORKFLOW = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/-]{0,254}$")
_TASK = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:/-]{0,199}$")
_ACTIONS = frozenset({"claim", "release", "decide", "resolve"})
_CASES = "/caseworker/cases/"

_EVENT_TITLES = {
    "lifeevents.address.changed.v1": "Change of address",
    "lifeevents.birth.registered.v1": "Birth",
    "lifeevents.death.registered.v1": "Death",
    "lifeevents.event.withdrawn.v1": "Event withdrawn",
    "lifeevents.event.corrected.v1": "Event corrected",
    "lifeevents.callback.requested.v1": "Call back requested",
}
FIELD_LABELS = {
    "given_names": "Given names",
    "family_name": "Family name",
    "date_of_birth": "Date of birth",
    "address": "Address",
    "nhs_number": "NHS number",
    "national_insurance_number": "National Insurance number",
}
_DONE = {
    "linked": "The person was linked to the resident you chose.",
    "created": "A new resident was created for the person.",
    "resolved": "The task was marked as dealt with.",
    "released": "You released the task.",
}
_LEDGER_FAILED = (
    "This could not be added to the residents' record of who used their data just now. "
    "The problem has been logged for the service team."
)


def case_href(workflow_id: str, task: str, action: str = "") -> str:
    """Each part one path segment, quoted (a `/` in an ID or a task becomes %2F)."""
    href = f"{_CASES}{quote(workflow_id, safe='')}/{quote(task, safe='')}"
    return f"{href}/{action}" if action else href


def task_text(task: str) -> str:
    """A task as a caseworker reads it in the queue."""
    kind, _, rest = task.partition(":")
    place = match_place(task)
    if place is not None:
        return f"Decide who person {place + 1} in the event is"
    if kind == "confirm" and rest:
        return f"No answer from the resident: {rest}"
    if kind == "contradiction":
        return "Contradicts an earlier report of the same event"
    if kind == "contact" and rest:
        # A bereavement's survivor who may need support, or is left alone: a person first.
        return "Contact the person left in the household before anything else is done"
    if task == "call-me":
        return "The resident asked for a person to call them"
    return f"Could not be done automatically: {task}"


def _event_title(event_type: str) -> str:
    return _EVENT_TITLES.get(event_type, event_type or "Life event")


def _client(request: Request) -> str:
    # Behind a proxy, uvicorn's --proxy-headers/--forwarded-allow-ips puts the client here.
    return request.client.host if request.client is not None else "unknown"


def _case_parts(request: Request, count: int) -> list[str]:
    """The quoted segments after /caseworker/cases/, as sent: read from the raw path, so that
    an escaped `/` inside an ID stays inside it. Not `count` of them: 404."""
    raw = request.scope.get("raw_path")
    path = raw.decode("latin-1") if isinstance(raw, bytes) else quote(request.url.path)
    path = path.split("?", 1)[0]
    if not path.startswith(_CASES):
        raise PageError(404)
    parts = [unquote(p) for p in path[len(_CASES) :].split("/")]
    if len(parts) != count or not _WORKFLOW.fullmatch(parts[0]) or not _TASK.fullmatch(parts[1]):
        raise PageError(404)
    return parts


async def signed_in(
    request: Request, session: Annotated[Session, Depends(require_caseworker)]
) -> Caseworker:
    """The signed-in caseworker, while their account is active (else: sign in again)."""
    caseworkers: Caseworkers = request.state.caseworkers
    caseworker = await caseworkers.get(session.subject)
    if caseworker is None or not caseworker.active:
        raise SignInRequired("caseworker")
    return caseworker


# Module level, so that FastAPI can resolve the annotation (this module's annotations are
# strings, looked up in its globals).
Signed = Annotated[Caseworker, Depends(signed_in)]


def caseworker_routes(
    *,
    caseworkers: Caseworkers,
    queue: CaseworkerQueue,
    ledger: CaseworkerLedger,
    residents: EventResidents,
) -> APIRouter:
    """The console's routes, over its accounts and claims, the queue, the ledger, and whom
    each event is about."""

    async def provide(request: Request) -> None:
        request.state.caseworkers = caseworkers

    # Every route of the console first says where its accounts are, for `signed_in`.
    router = APIRouter(dependencies=[Depends(provide)])

    async def page(
        request: Request,
        template: str,
        context: dict[str, Any],
        *,
        status_code: int = 200,
        headers: dict[str, str] | None = None,
    ) -> Response:
        navigation = [
            {"href": href, "text": text, "current": request.url.path == href}
            for href, text in CASEWORKER_NAVIGATION
        ]
        return await render(
            request,
            template,
            {"navigation": navigation, **context},
            status_code=status_code,
            headers=headers,
        )

    # -- sign-in ------------------------------------------------------------------------------

    @router.get("/caseworker/sign-in")
    async def sign_in_page(request: Request) -> Response:
        session = await current_session(request)
        if session is not None and session.role == "caseworker":
            account = await caseworkers.get(session.subject)
            if account is not None and account.active:
                return RedirectResponse("/caseworker", status_code=303)
        return await page(request, "caseworker/sign_in.html", {"title": "Caseworker sign in"})

    @router.post("/caseworker/sign-in")
    async def sign_in(
        request: Request,
        username: Annotated[str, Form(max_length=200)] = "",
        password: Annotated[str, Form(max_length=2048)] = "",
    ) -> Response:
        errors: dict[str, str] = {}
        if not username.strip():
            errors["username"] = "Enter your username"
        if not password:
            errors["password"] = "Enter your password"  # noqa: S105 - a message, not one
        if errors:
            return await page(
                request,
                "caseworker/sign_in.html",
                {"title": "Caseworker sign in", "errors": errors, "username": username},
                status_code=400,
            )
        try:
            caseworker = await caseworkers.sign_in(username, password, _client(request))
        except SignInLocked as locked:
            minutes = -(-locked.retry_after // 60)
            return await page(
                request,
                "caseworker/locked.html",
                {"title": "Too many attempts", "wait_minutes": minutes},
                status_code=429,
                headers={"Retry-After": str(locked.retry_after)},
            )
        if caseworker is None:
            return await page(
                request,
                "caseworker/sign_in.html",
                {
                    "title": "Caseworker sign in",
                    "errors": {"username": "Enter a correct username and password"},
                    "username": username,
                },
                status_code=400,
            )
        response = RedirectResponse("/caseworker", status_code=303)
        await start_session(request, response, "caseworker", caseworker.id)
        return response

    # -- the queue ----------------------------------------------------------------------------

    @router.get("/caseworker")
    async def queue_page(request: Request, me: Signed, done: str = "") -> Response:
        items = await queue.items()
        claims = await caseworkers.claims_on([(i.workflow_id, t) for i in items for t in i.tasks])
        rows = [
            {
                "event": _event_title(item.event_type),
                "stage": item.stage,
                "escalated": item.stage == ESCALATED,
                "started_at": item.started_at,
                "tasks": [
                    {
                        "text": task_text(task),
                        "href": case_href(item.workflow_id, task),
                        "claimed_by": _claimant(claims.get((item.workflow_id, task)), me),
                    }
                    for task in item.tasks
                ],
            }
            for item in items
        ]
        return await page(
            request,
            "caseworker/queue.html",
            {
                "title": "Caseworker queue",
                "rows": rows,
                "me": me,
                "done": _DONE.get(done.removesuffix("-unrecorded"), ""),
                "unrecorded": _LEDGER_FAILED if done.endswith("-unrecorded") else "",
            },
        )

    # -- a case -------------------------------------------------------------------------------

    async def open_case(request: Request, count: int) -> tuple[str, str, list[str], Case]:
        parts = _case_parts(request, count)
        workflow_id, task = parts[0], parts[1]
        case = await queue.case(workflow_id, task)
        if case is None:
            raise PageError(404)
        return workflow_id, task, parts, case

    async def show(
        request: Request,
        me: Caseworker,
        workflow_id: str,
        task: str,
        case: Case,
        *,
        errors: dict[str, str] | None = None,
        status_code: int = 200,
    ) -> Response:
        claim = await caseworkers.claim_of(workflow_id, task)
        mine = claim is not None and claim.caseworker == me.id
        place = match_place(task)
        return await page(
            request,
            "caseworker/case.html",
            {
                "title": task_text(task),
                "event": _event_title(case.item.event_type),
                "item": case.item,
                "escalated": case.item.stage == ESCALATED,
                "task": task,
                "is_match": place is not None,
                "place": None if place is None else place + 1,
                "entries": case.timeline.entries,
                "labels": FIELD_LABELS,
                "fields": PERSON_FIELDS,
                "person": case.person,
                "candidates": case.candidates,
                "claim": claim,
                "claimed_by": _claimant(claim, me),
                "mine": mine,
                "href": lambda action: case_href(workflow_id, task, action),
                "errors": errors,
            },
            status_code=status_code,
        )

    @router.get("/caseworker/cases/{rest:path}")
    async def case_page(request: Request, me: Signed) -> Response:
        workflow_id, task, _, case = await open_case(request, 2)
        return await show(request, me, workflow_id, task, case)

    @router.post("/caseworker/cases/{rest:path}")
    async def act(
        request: Request,
        me: Signed,
        decision: Annotated[str, Form(max_length=16)] = "",
        resident: Annotated[str, Form(max_length=80)] = "",
    ) -> Response:
        workflow_id, task, parts, case = await open_case(request, 3)
        action = parts[2]
        if action not in _ACTIONS:
            raise PageError(404)
        concerned = await _concerned(residents, workflow_id, case)
        back = RedirectResponse(case_href(workflow_id, task), status_code=303)

        async def refused(message: str, status_code: int) -> Response:
            """The case again, saying why the action was not taken."""
            errors = {"claim": message}
            return await show(
                request, me, workflow_id, task, case, errors=errors, status_code=status_code
            )

        if action == "claim":
            try:
                await caseworkers.claim(me.id, workflow_id, task)
            except ClaimedByAnother:
                return await refused("Another caseworker has claimed this task", 409)
            try:
                await ledger.record(me.id, "claimed", workflow_id, task, concerned)
            except LedgerUnavailable:
                await caseworkers.release(me.id, workflow_id, task)
                return await refused("The task could not be claimed just now. Try again.", 503)
            return back

        claim = await caseworkers.claim_of(workflow_id, task)
        if claim is None or claim.caseworker != me.id:
            log.info("caseworker.not_claimed", caseworker=me.id, workflow_id=workflow_id, task=task)
            return await refused("Claim this task before you act on it", 403)

        if action == "release":
            try:
                await ledger.record(me.id, "released", workflow_id, task, concerned)
            except LedgerUnavailable:
                return await refused("The task could not be released just now. Try again.", 503)
            await caseworkers.release(me.id, workflow_id, task)
            return RedirectResponse("/caseworker?done=released", status_code=303)

        if action == "decide":
            if match_place(task) is None or decision not in ("link", "create"):
                raise PageError(400)
            chosen: Literal["link", "create"] = "link" if decision == "link" else "create"
            linked = resident if chosen == "link" else None
            if chosen == "link" and resident not in {c.resident for c in case.candidates}:
                # Only a resident the page showed: never one typed or altered in the form.
                raise PageError(400)
            answer = await queue.decide_match(workflow_id, task, chosen, linked)
            done = "linked" if chosen == "link" else "created"
            about = [*concerned, *([linked] if linked else [])]
        else:
            if match_place(task) is not None:
                raise PageError(400)  # identity decisions are decided, not "dealt with"
            answer = await queue.resolve(workflow_id, task)
            done, about = "resolved", list(concerned)
        if not answer.accepted:
            return await show(
                request,
                me,
                workflow_id,
                task,
                case,
                errors={"case": answer.message},
                status_code=409,
            )
        await caseworkers.settle(workflow_id, task)
        try:
            await ledger.record(me.id, done, workflow_id, task, about)
        except LedgerUnavailable:
            return RedirectResponse(f"/caseworker?done={done}-unrecorded", status_code=303)
        return RedirectResponse(f"/caseworker?done={done}", status_code=303)

    return router


def _claimant(claim: Claim | None, me: Caseworker) -> str:
    if claim is None:
        return ""
    return "You" if claim.caseworker == me.id else claim.display_name


async def _concerned(residents: EventResidents, workflow_id: str, case: Case) -> list[str]:
    """Whom an action on the case concerns: the residents the event is about, and for a
    doubtful match the candidates shown (their data was looked at)."""
    about: Sequence[str] = await residents.about(workflow_id)
    return list(dict.fromkeys([*about, *(c.resident for c in case.candidates)]))
