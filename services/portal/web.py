"""What every page of the portal shares: its state, the templates, rendering and error pages.

`Portal` is the app's state (`request.app.state.portal`): settings, clock, keys, the store
and the ports, given to `create_app` (dependency injection, no globals). `render` puts the
layout's common context in every page (council name, CSP nonce, the form's CSRF token,
who is signed in); the caseworker console (C2) renders its pages the same way, with
templates under `templates/caseworker/` extending `layout.html`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal
from zoneinfo import ZoneInfo

from fastapi import Request
from jinja2 import (
    ChoiceLoader,
    Environment,
    FileSystemLoader,
    PackageLoader,
    PrefixLoader,
    select_autoescape,
)
from starlette.templating import Jinja2Templates

from services.portal.ports import (
    CallRequests,
    CodeSender,
    Consents,
    Inbox,
    LetterPreferences,
    LifeEvents,
    ResidentDirectory,
)
from services.portal.security import Keys
from services.portal.settings import PORTAL_DIR, PortalSettings

if TYPE_CHECKING:
    from services.portal.store import PortalStore

__all__ = [
    "TEMPLATES_DIR",
    "Clock",
    "PageError",
    "Portal",
    "ResidentPorts",
    "SignInRequired",
    "asset_version",
    "long_date",
    "long_datetime",
    "portal",
    "templates_for",
    "utc_now",
]

TEMPLATES_DIR = PORTAL_DIR / "templates"
_LONDON = ZoneInfo("Europe/London")

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class ResidentPorts:
    """What the resident pages read and ask for, as the composition root adapts it."""

    directory: ResidentDirectory
    inbox: Inbox
    code_sender: CodeSender
    call_requests: CallRequests
    life_events: LifeEvents
    consents: Consents
    # None: no adapter for it, and the preferences page does not offer large print.
    letter_preferences: LetterPreferences


@dataclass
class Portal:
    settings: PortalSettings
    keys: Keys
    templates: Jinja2Templates
    ports: ResidentPorts
    clock: Clock = utc_now
    store_: PortalStore | None = None
    asset_version: str = ""
    extra: dict[str, Any] = field(default_factory=dict)  # for C2's ports and state

    @property
    def store(self) -> PortalStore:
        if self.store_ is None:
            raise RuntimeError("the portal's store is not open (the app's lifespan opens it)")
        return self.store_


def portal(request: Request) -> Portal:
    state: Portal = request.app.state.portal
    return state


class SignInRequired(Exception):
    """No session of the role the page needs: the handler sends the browser to sign in."""

    def __init__(self, role: Literal["resident", "caseworker"]) -> None:
        super().__init__(role)
        self.role = role


class PageError(Exception):
    """An error answered with a GOV.UK-styled page (`errors/<status>.html`, or the generic
    one), never with the text of an exception."""

    def __init__(
        self, status: int, *, headers: Mapping[str, str] | None = None, reason: str = ""
    ) -> None:
        super().__init__(status)
        self.status = status
        self.headers = dict(headers or {})
        self.reason = reason  # a code the page may choose its words by; no personal data


def templates_for(extra_dirs: tuple[str, ...] = ()) -> Jinja2Templates:
    """The portal's templates, then GOV.UK Frontend's Jinja macros under the prefix
    `govuk_frontend_jinja/` (as the package documents)."""
    env = Environment(
        loader=ChoiceLoader(
            [
                FileSystemLoader([str(TEMPLATES_DIR), *extra_dirs]),
                PrefixLoader({"govuk_frontend_jinja": PackageLoader("govuk_frontend_jinja")}),
            ]
        ),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["long_date"] = long_date
    env.filters["long_datetime"] = long_datetime
    return Jinja2Templates(env=env)


def long_date(value: datetime | None) -> str:
    """`3 December 2025`: the GOV.UK style for dates, in UK time when there is one."""
    if value is None:
        return ""
    local = _uk(value)
    return f"{local.day} {local:%B %Y}"


def long_datetime(value: datetime | None) -> str:
    """`3 December 2025 at 2:05pm`."""
    if value is None:
        return ""
    local = _uk(value)
    hour = local.hour % 12 or 12
    return f"{local.day} {local:%B %Y} at {hour}:{local:%M}{'am' if local.hour < 12 else 'pm'}"


def _uk(value: datetime) -> datetime:
    if value.tzinfo is None:
        return value
    return value.astimezone(_LONDON)


def asset_version(settings: PortalSettings) -> str:
    """A short digest of the built stylesheet, to bust caches after a rebuild."""
    css = settings.portal_static_dir / "portal.css"
    try:
        return hashlib.sha256(css.read_bytes()).hexdigest()[:12]
    except OSError:
        return ""
