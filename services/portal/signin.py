"""Sign in with a one-time code, and sign out.

1. `/sign-in`: the resident gives an e-mail address or a UK mobile number. Whether or not
   `ResidentDirectory` knows it, the answer is the same redirect to `/sign-in/code`, with a
   pending sign-in in the `__Host-signin` cookie (no account enumeration). Only a known one
   gets a code, sent after the response (a background task), so the response takes no
   longer for a known address than for an unknown one.
2. `/sign-in/code`: the 6-digit code. Codes are random (`secrets`), kept only as an HMAC
   bound to their pending sign-in, single use, valid for `portal_code_minutes` (10), and
   spent after `portal_code_max_tries` (5) wrong tries.
3. Rate limits, in the store, over `portal_rate_window_minutes` (15): codes per contact
   (5), codes per client address (20), wrong codes per client address (10). Over a limit:
   the 429 page, saying how long to wait. Contacts and client addresses are counted by
   their HMAC, never stored.
4. The right code starts a resident session (`start_session`: a new token, the old one
   ended) and goes to the inbox.

Nothing here logs a contact, a code or a token: only outcomes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Literal

import phonenumbers
import structlog
from email_validator import EmailNotValidError, validate_email
from fastapi import APIRouter, Form, Request
from starlette.background import BackgroundTask
from starlette.responses import RedirectResponse, Response

from services.portal.rendering import render
from services.portal.security import CODE_DIGITS, new_code, new_token
from services.portal.sessions import cookie_name, current_session, end_session, start_session
from services.portal.store import PendingSignIn
from services.portal.web import PageError, Portal, portal

__all__ = ["Contact", "parse_contact", "router"]

log = structlog.get_logger(__name__)

router = APIRouter()

_SIGNIN_COOKIE = "signin"
_CODE_LABEL = "code"
_SIGNIN_LABEL = "signin"
_CONTACT_LABEL = "contact"
_CLIENT_LABEL = "client"

_CODES_PER_CONTACT = "code_per_contact"
_CODES_PER_CLIENT = "code_per_client"
_WRONG_PER_CLIENT = "wrong_per_client"

_CONTACT_ERROR = (
    "Enter an email address in the correct format, like name@example.com, or a UK mobile "
    "number, like 07700 900 982"
)
_MAX_CONTACT = 320


@dataclass(frozen=True)
class Contact:
    channel: Literal["email", "sms"]
    value: str  # normalised: the e-mail address as email-validator gives it, or E.164


def parse_contact(text: str) -> Contact | None:
    """An e-mail address or a UK mobile number, normalised; None if it is neither."""
    text = text.strip()
    if not text or len(text) > _MAX_CONTACT:
        return None
    if "@" in text:
        try:
            return Contact("email", validate_email(text, check_deliverability=False).normalized)
        except EmailNotValidError:
            return None
    try:
        number = phonenumbers.parse(text, "GB")
    except phonenumbers.NumberParseException:
        return None
    mobile = phonenumbers.number_type(number) in (
        phonenumbers.PhoneNumberType.MOBILE,
        phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
    )
    # UK mobiles are 07… (+447…); Ofcom's drama range (07700 900…) counts, for test data.
    uk_mobile = number.country_code == 44 and str(number.national_number).startswith("7")
    if not phonenumbers.is_possible_number(number) or not (mobile or uk_mobile):
        return None
    return Contact("sms", phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))


def _client(request: Request) -> str:
    # Behind a proxy, uvicorn's --proxy-headers/--forwarded-allow-ips puts the client here.
    return request.client.host if request.client is not None else "unknown"


def _too_many(state: Portal, reason: str) -> PageError:
    minutes = state.settings.portal_rate_window_minutes
    return PageError(429, headers={"Retry-After": str(minutes * 60)}, reason=reason)


# -- step 1: the contact -------------------------------------------------------------------------


@router.get("/sign-in")
async def sign_in_page(request: Request) -> Response:
    return await render(request, "sign_in.html", {"title": "Sign in"})


@router.post("/sign-in")
async def sign_in(request: Request, contact: Annotated[str, Form()] = "") -> Response:
    state = portal(request)
    parsed = parse_contact(contact)
    if parsed is None:
        return await render(
            request,
            "sign_in.html",
            {
                "title": "Sign in",
                "errors": {"contact": "Enter your email address or mobile number"}
                if not contact.strip()
                else {"contact": _CONTACT_ERROR},
                "contact": contact[:_MAX_CONTACT],
            },
            status_code=400,
        )
    now = state.clock()
    since = now - state.settings.rate_window
    await _housekeeping(state, now)
    client_key = state.keys.digest(_CLIENT_LABEL, _client(request))
    contact_key = state.keys.digest(_CONTACT_LABEL, f"{parsed.channel}:{parsed.value.casefold()}")
    if not await state.store.take_attempt(
        _CODES_PER_CLIENT,
        client_key,
        limit=state.settings.portal_signins_per_client,
        since=since,
        now=now,
    ):
        log.info("portal.sign_in.rate_limited", limit="client")
        raise _too_many(state, "codes")
    if not await state.store.take_attempt(
        _CODES_PER_CONTACT,
        contact_key,
        limit=state.settings.portal_codes_per_contact,
        since=since,
        now=now,
    ):
        log.info("portal.sign_in.rate_limited", limit="contact")
        raise _too_many(state, "codes")

    directory = state.ports.directory
    resident = await (
        directory.resident_with_email(parsed.value)
        if parsed.channel == "email"
        else directory.resident_with_phone(parsed.value)
    )
    pending_token = new_token()
    code = new_code() if resident is not None else None
    signin_hash = state.keys.digest(_SIGNIN_LABEL, pending_token)
    await state.store.add_signin(
        PendingSignIn(
            signin_hash=signin_hash,
            contact_hash=contact_key,
            channel=parsed.channel,
            resident=resident,
            code_hash=None if code is None else _code_hash(state, signin_hash, code),
            created_at=now,
            expires_at=now + state.settings.code_lifetime,
            tries=0,
            used_at=None,
        )
    )
    send = (
        None
        if resident is None or code is None
        else BackgroundTask(_send_code, state, resident, parsed.channel, code)
    )
    # The same answer either way: only the background task differs, after the response.
    log.info("portal.sign_in.code_requested", channel=parsed.channel)
    response = RedirectResponse("/sign-in/code", status_code=303, background=send)
    response.set_cookie(
        cookie_name(state.settings, _SIGNIN_COOKIE),
        pending_token,
        max_age=int(state.settings.code_lifetime.total_seconds()),
        path="/",
        secure=state.settings.portal_cookie_secure,
        httponly=True,
        samesite="lax",
    )
    return response


async def _send_code(
    state: Portal, resident: str, channel: Literal["email", "sms"], code: str
) -> None:
    try:
        plan = await state.ports.directory.contact_plan(resident)
        await state.ports.code_sender.send_code(plan, channel, code)
    except Exception as error:
        # The resident sees the same page either way and may ask again; the type says why.
        log.warning("portal.sign_in.code_not_sent", channel=channel, error=type(error).__name__)
        return
    log.info("portal.sign_in.code_sent", channel=channel)


def _code_hash(state: Portal, signin_hash: str, code: str) -> str:
    # Bound to its pending sign-in: the same code for two residents hashes apart.
    return state.keys.digest(_CODE_LABEL, f"{signin_hash}:{code}")


async def _housekeeping(state: Portal, now: datetime) -> None:
    window = max(state.settings.rate_window, state.settings.code_lifetime)
    await state.store.purge(
        now,
        attempts_before=now - window,
        idle_before=now - state.settings.session_idle,
        created_before=now - state.settings.session_absolute,
    )


# -- step 2: the code ----------------------------------------------------------------------------


async def _pending(request: Request, state: Portal) -> tuple[str, PendingSignIn] | None:
    token = request.cookies.get(cookie_name(state.settings, _SIGNIN_COOKIE))
    if not token or len(token) > 128:
        return None
    signin_hash = state.keys.digest(_SIGNIN_LABEL, token)
    pending = await state.store.signin(signin_hash)
    return None if pending is None else (signin_hash, pending)


def _code_page(errors: dict[str, str] | None = None) -> dict[str, object]:
    return {"title": "Enter your code", "errors": errors or {}}


async def _client_locked(state: Portal, client_key: str, now: datetime) -> bool:
    """Whether this client address entered too many wrong codes within the window, over
    every pending sign-in (asking for new codes does not reset it)."""
    wrong = await state.store.attempts_since(
        _WRONG_PER_CLIENT, client_key, now - state.settings.rate_window
    )
    return wrong >= state.settings.portal_wrong_codes_per_client


@router.get("/sign-in/code")
async def code_page(request: Request) -> Response:
    state = portal(request)
    if await _pending(request, state) is None:
        return RedirectResponse("/sign-in", status_code=303)
    return await render(request, "sign_in_code.html", _code_page())


@router.post("/sign-in/code")
async def enter_code(request: Request, code: Annotated[str, Form()] = "") -> Response:
    state = portal(request)
    found = await _pending(request, state)
    if found is None:
        return RedirectResponse("/sign-in", status_code=303)
    signin_hash, pending = found
    now = state.clock()
    max_tries = state.settings.portal_code_max_tries
    client_key = state.keys.digest(_CLIENT_LABEL, _client(request))
    if pending.tries >= max_tries:
        raise _too_many(state, "wrong_codes")
    if await _client_locked(state, client_key, now):
        log.info("portal.sign_in.rate_limited", limit="wrong_codes")
        raise _too_many(state, "wrong_codes")

    entered = "".join(code.split()).replace("-", "")
    if len(entered) != CODE_DIGITS or not entered.isdigit():
        return await render(
            request,
            "sign_in_code.html",
            _code_page({"code": "Enter the 6-digit code we sent you"}),
            status_code=400,
        )
    if pending.used_at is not None or pending.expires_at <= now:
        return await render(
            request,
            "sign_in_code.html",
            {**_code_page({"code": "That code has expired. Ask for a new code"}), "expired": True},
            status_code=400,
        )
    right = pending.code_hash is not None and state.keys.matches(
        _CODE_LABEL, f"{signin_hash}:{entered}", pending.code_hash
    )
    if not right or pending.resident is None:
        tries = await state.store.wrong_try(signin_hash)
        await state.store.count_attempt(_WRONG_PER_CLIENT, client_key, now)
        log.info("portal.sign_in.wrong_code", tries=tries)
        if tries >= max_tries or await _client_locked(state, client_key, now):
            raise _too_many(state, "wrong_codes")
        left = max_tries - tries
        return await render(
            request,
            "sign_in_code.html",
            _code_page(
                {
                    "code": "The code is not right. Check it and try again "
                    f"({left} {'try' if left == 1 else 'tries'} left)"
                }
            ),
            status_code=400,
        )
    if not await state.store.use_signin(signin_hash, now, max_tries):
        # Spent by a request racing this one, or expired in between.
        return await render(
            request,
            "sign_in_code.html",
            {**_code_page({"code": "That code has expired. Ask for a new code"}), "expired": True},
            status_code=400,
        )
    response = RedirectResponse("/", status_code=303)
    await start_session(request, response, "resident", pending.resident)
    response.delete_cookie(
        cookie_name(state.settings, _SIGNIN_COOKIE),
        path="/",
        secure=state.settings.portal_cookie_secure,
        httponly=True,
        samesite="lax",
    )
    log.info("portal.sign_in.signed_in", channel=pending.channel)
    return response


# -- sign out ------------------------------------------------------------------------------------


@router.get("/sign-out")
async def sign_out_page(request: Request) -> Response:
    if await current_session(request) is None:
        return RedirectResponse("/sign-in", status_code=303)
    return await render(request, "sign_out.html", {"title": "Sign out"})


@router.post("/sign-out")
async def sign_out(request: Request) -> Response:
    # Any role signs out here; without a session there is nothing to end.
    response = RedirectResponse("/signed-out", status_code=303)
    if await current_session(request) is not None:
        await end_session(request, response)
        log.info("portal.signed_out")
    return response


@router.get("/signed-out")
async def signed_out(request: Request) -> Response:
    return await render(request, "signed_out.html", {"title": "You have signed out"})
