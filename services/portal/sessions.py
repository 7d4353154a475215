"""Sessions, roles and CSRF: the machinery both sides of the portal (residents, caseworkers)
sign in and post forms through.

A session is a random 32-byte token in the cookie `__Host-session` (Secure, HttpOnly,
SameSite=Lax, Path=/, no Domain, no Max-Age: it goes when the browser closes); the store
keeps only its HMAC, with the role (`resident` | `caseworker`), the subject (a resident's
pseudonymous key, a caseworker's account) and the session's CSRF token. It ends when unused
for `portal_session_idle_minutes` or `portal_session_absolute_hours` after it began, and on
sign-out, which deletes it from the store. Every sign-in starts a new one and ends the
browser's old one (`start_session`: no session fixation).

CSRF: every POST (`csrf_protect`, a dependency of the whole app, so a form added later is
protected without asking) carries `csrf_token`. With a session it must equal the session's
synchronizer token; without one (the sign-in forms) it must be the HMAC of the random value
in the `__Host-csrf` cookie (a signed double-submit token: a site that cannot read the
cookie cannot make the field, and `__Host-` stops a sibling host setting it). Compared in
constant time; anything else is a 403 page.

For the caseworker console (C2): `start_session(request, response, "caseworker", subject)`
after its own password check, and `Depends(require_caseworker)` on each of its routes.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from fastapi import Request
from starlette.responses import Response

from services.portal.security import new_token
from services.portal.settings import PortalSettings
from services.portal.store import SessionRow
from services.portal.web import PageError, SignInRequired, portal

__all__ = [
    "CSRF_FIELD",
    "MAX_FORM_BYTES",
    "Role",
    "Session",
    "cookie_name",
    "csrf_protect",
    "current_session",
    "end_session",
    "form_token",
    "require_caseworker",
    "require_resident",
    "set_presession_cookie",
    "start_session",
]

Role = Literal["resident", "caseworker"]

CSRF_FIELD = "csrf_token"
MAX_FORM_BYTES = 16 * 1024  # every portal form is a few short fields
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_TOUCH_EVERY = timedelta(minutes=1)  # last-seen is written at most this often
_TOKEN_MAX = 128  # longer cookie values are not ours: not looked up

_SESSION_LABEL = "session"
_UNSEEN = object()
_CSRF_LABEL = "csrf"


@dataclass(frozen=True)
class Session:
    role: Role
    subject: str
    csrf_token: str
    token_hash: str
    created_at: datetime


def cookie_name(settings: PortalSettings, name: str) -> str:
    """`__Host-<name>` when cookies are Secure (always, but on plain HTTP elsewhere than
    localhost): the prefix makes the browser refuse it without Secure, with a Domain or
    with a Path other than /."""
    return f"__Host-{name}" if settings.portal_cookie_secure else name


def _set_cookie(
    response: Response, settings: PortalSettings, name: str, value: str, max_age: int | None
) -> None:
    response.set_cookie(
        cookie_name(settings, name),
        value,
        max_age=max_age,
        path="/",
        secure=settings.portal_cookie_secure,
        httponly=True,
        samesite="lax",
    )


def _delete_cookie(response: Response, settings: PortalSettings, name: str) -> None:
    response.delete_cookie(
        cookie_name(settings, name),
        path="/",
        secure=settings.portal_cookie_secure,
        httponly=True,
        samesite="lax",
    )


def _cookie(request: Request, settings: PortalSettings, name: str) -> str | None:
    value = request.cookies.get(cookie_name(settings, name))
    if not value or len(value) > _TOKEN_MAX:
        return None
    return value


# -- sessions ---------------------------------------------------------------------------------


async def current_session(request: Request) -> Session | None:
    """The browser's live session, or None (none, unknown, ended, or past its idle or
    absolute expiry: then it is deleted). Looked up once per request."""
    cached: Session | object | None = getattr(request.state, "portal_session", _UNSEEN)
    if cached is None or isinstance(cached, Session):
        return cached
    state = portal(request)
    session: Session | None = None
    token = _cookie(request, state.settings, "session")
    if token is not None:
        token_hash = state.keys.digest(_SESSION_LABEL, token)
        row = await state.store.session(token_hash)
        now = state.clock()
        if row is not None and (
            now - row.last_seen_at >= state.settings.session_idle
            or now - row.created_at >= state.settings.session_absolute
        ):
            await state.store.delete_session(token_hash)
            row = None
        if row is not None and row.role in ("resident", "caseworker"):
            if now - row.last_seen_at >= _TOUCH_EVERY:
                await state.store.touch_session(token_hash, now)
            session = Session(
                role="resident" if row.role == "resident" else "caseworker",
                subject=row.subject,
                csrf_token=row.csrf_token,
                token_hash=token_hash,
                created_at=row.created_at,
            )
    request.state.portal_session = session
    return session


async def start_session(request: Request, response: Response, role: Role, subject: str) -> Session:
    """A new session for `subject` in `role`, its cookie set on `response`. The browser's
    current session, if any, ends first: a sign-in always rotates the token."""
    state = portal(request)
    old = _cookie(request, state.settings, "session")
    if old is not None:
        await state.store.delete_session(state.keys.digest(_SESSION_LABEL, old))
    token = new_token()
    now = state.clock()
    row = SessionRow(
        token_hash=state.keys.digest(_SESSION_LABEL, token),
        role=role,
        subject=subject,
        csrf_token=new_token(),
        created_at=now,
        last_seen_at=now,
    )
    await state.store.add_session(row)
    _set_cookie(response, state.settings, "session", token, max_age=None)
    session = Session(role, subject, row.csrf_token, row.token_hash, now)
    request.state.portal_session = session
    return session


async def end_session(request: Request, response: Response) -> None:
    """Sign out: the session deleted from the store and its cookie cleared."""
    state = portal(request)
    token = _cookie(request, state.settings, "session")
    if token is not None:
        await state.store.delete_session(state.keys.digest(_SESSION_LABEL, token))
    _delete_cookie(response, state.settings, "session")
    request.state.portal_session = None


# -- roles ------------------------------------------------------------------------------------


async def require_resident(request: Request) -> Session:
    """A page for residents: signed out → to /sign-in; another role → 403."""
    return await _require(request, "resident")


async def require_caseworker(request: Request) -> Session:
    """A page for caseworkers (C2's console): signed out → to the caseworker sign-in;
    a resident → 403."""
    return await _require(request, "caseworker")


async def _require(request: Request, role: Role) -> Session:
    session = await current_session(request)
    if session is None:
        raise SignInRequired(role)
    if session.role != role:
        raise PageError(403, reason="wrong_role")
    return session


# -- CSRF -------------------------------------------------------------------------------------


def form_token(request: Request, session: Session | None) -> tuple[str, str | None]:
    """The token a page's forms carry, and a new pre-session cookie value to set when the
    browser has none yet (else None)."""
    if session is not None:
        return session.csrf_token, None
    cached = getattr(request.state, "portal_presession", None)
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    state = portal(request)
    value = _cookie(request, state.settings, "csrf")
    new: str | None = None
    if value is None:
        value = new = new_token()
    result = (state.keys.digest(_CSRF_LABEL, value), new)
    request.state.portal_presession = result
    return result


def set_presession_cookie(response: Response, settings: PortalSettings, value: str) -> None:
    _set_cookie(response, settings, "csrf", value, max_age=None)


async def csrf_protect(request: Request) -> None:
    """Every request but GET/HEAD/OPTIONS must carry a valid `csrf_token` form field."""
    if request.method in _SAFE_METHODS:
        return
    length = request.headers.get("content-length")
    if length is not None and (not length.isdigit() or int(length) > MAX_FORM_BYTES):
        raise PageError(413, reason="form_too_large")
    form = await request.form()
    supplied = form.get(CSRF_FIELD)
    if not isinstance(supplied, str) or not supplied or len(supplied) > _TOKEN_MAX:
        raise PageError(403, reason="csrf")
    session = await current_session(request)
    if session is not None:
        good = hmac.compare_digest(supplied.encode(), session.csrf_token.encode())
    else:
        state = portal(request)
        cookie = _cookie(request, state.settings, "csrf")
        good = cookie is not None and state.keys.matches(_CSRF_LABEL, cookie, supplied)
    if not good:
        raise PageError(403, reason="csrf")
