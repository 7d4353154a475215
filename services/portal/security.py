"""The portal's secrets and what it sends with every response.

One server key (`LIFEEVENTS_PORTAL_SECRET_KEY`, else made once under var/) keys every HMAC the
portal keeps or checks: sign-in codes, session tokens, a pending sign-in's cookie, the
pre-session CSRF token, and the e-mail addresses, phone numbers and client addresses that
rate limits count by. Each use has its own label, so a value made for one purpose never
checks as another. A code, a token or an address is therefore never stored in the clear,
and a copy of the store signs nobody in.

`SecurityHeaders` (ASGI middleware) sends a Content-Security-Policy with a fresh nonce per
response (no inline script runs without it; the GOV.UK template's one-line `js-enabled`
script carries it), `frame-ancestors 'none'`, `nosniff`, a referrer policy, and
`Cache-Control: no-store` on every page (they hold personal data); and it answers an
unhandled error with the GOV.UK-styled 500 page, headers and all, logging the error's type
only (its message could quote personal data).
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import secrets
from collections.abc import Awaitable, Callable
from pathlib import Path

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.portal.settings import PortalSettings

__all__ = [
    "CODE_DIGITS",
    "Keys",
    "SecurityHeaders",
    "new_code",
    "new_token",
    "portal_key",
]

log = structlog.get_logger(__name__)

CODE_DIGITS = 6
_KEY_FILE = "secret.key"


def new_token() -> str:
    """A random 32-byte token, URL-safe (session tokens, pending sign-ins, CSRF)."""
    return secrets.token_urlsafe(32)


def new_code() -> str:
    """A random 6-digit sign-in code, leading zeros kept."""
    return f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"


class Keys:
    """HMAC-SHA256 under the portal's key, one label per use."""

    def __init__(self, key: bytes) -> None:
        if len(key) < 32:
            raise ValueError("the portal's secret key must be at least 32 bytes")
        self._key = key

    def digest(self, label: str, value: str) -> str:
        message = f"{label}\x00{value}".encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()

    def matches(self, label: str, value: str, expected: str) -> bool:
        """Whether `value` digests to `expected`, compared in constant time."""
        return hmac.compare_digest(self.digest(label, value), expected)


def _write_private(path: Path, content: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(content)


def portal_key(settings: PortalSettings) -> bytes:
    """The key from settings, else the one made once in <var_dir>/portal/secret.key."""
    if settings.portal_secret_key is not None:
        return settings.portal_secret_key.get_secret_value().encode()
    path = settings.portal_key_dir / _KEY_FILE
    if not path.exists():
        with contextlib.suppress(FileExistsError):  # another process made it first
            _write_private(path, secrets.token_urlsafe(48).encode())
    return path.read_bytes().strip()


def content_security_policy(nonce: str) -> str:
    return "; ".join(
        [
            "default-src 'self'",
            f"script-src 'self' 'nonce-{nonce}'",
            "style-src 'self'",
            "img-src 'self' data:",
            "font-src 'self'",
            "connect-src 'self'",
            "form-action 'self'",
            "frame-ancestors 'none'",
            "base-uri 'none'",
            "object-src 'none'",
        ]
    )


ErrorPage = Callable[[Scope], Awaitable[tuple[int, list[tuple[bytes, bytes]], bytes]]]


class SecurityHeaders:
    """Security headers on every response, and the 500 page for an unhandled error.

    The nonce is put in `scope["state"]["csp_nonce"]` (`request.state.csp_nonce`) for the
    templates before the app runs.
    """

    def __init__(self, app: ASGIApp, *, error_page: ErrorPage, hsts: bool = False) -> None:
        self.app = app
        self.error_page = error_page
        self.hsts = hsts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        nonce = secrets.token_urlsafe(16)
        scope.setdefault("state", {})["csp_nonce"] = nonce
        static = str(scope.get("path", "")).startswith("/static/")
        started = False

        def secure(headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
            present = {name.lower() for name, _ in headers}
            extra = [
                (b"content-security-policy", content_security_policy(nonce).encode()),
                (b"x-content-type-options", b"nosniff"),
                (b"referrer-policy", b"same-origin"),
                (b"x-frame-options", b"DENY"),
                (b"cross-origin-opener-policy", b"same-origin"),
                (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
            ]
            if not static and b"cache-control" not in present:
                extra.append((b"cache-control", b"no-store"))
            if self.hsts:
                extra.append((b"strict-transport-security", b"max-age=31536000"))
            return [*headers, *(h for h in extra if h[0] not in present)]

        async def sending(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                message = {**message, "headers": secure(list(message.get("headers", [])))}
            await send(message)

        try:
            await self.app(scope, receive, sending)
        except Exception as error:
            # Type only: an exception's text may quote what a resident typed or holds.
            log.error("portal.unhandled_error", error=type(error).__name__)
            if started:
                raise
            status, headers, body = await self.error_page(scope)
            await sending({"type": "http.response.start", "status": status, "headers": headers})
            await send({"type": "http.response.body", "body": body})
