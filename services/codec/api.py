"""Temporal's remote codec protocol over HTTP, for the Temporal UI and CLI.

`POST …/encode` and `POST …/decode` take and return a `Payloads` message in protobuf JSON
(`{"payloads": [{"metadata": {...}, "data": "<base64>"}]}`). Only the last path segment
counts, so the server can sit under any prefix (`/default/decode`, `/codec/decode`).

Every request needs one of: `Authorization: Bearer <token>` with a configured static token
(compared as SHA-256 digests, in constant time) or, with OIDC configured, an access token
from the identity provider carrying an allowed role (the Temporal UI's `passAccessToken`); or
the session cookie of an engineer signed in on this server's `/sign-in` page (the UI sends it
with "include cross-origin credentials"). Its `X-Namespace`, when sent, must be an allowed
namespace. Browsers may call it only from the configured Temporal UI origins, with
credentials. Nothing here logs payloads, tokens or error details that could carry them.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import secrets
from typing import Annotated

import structlog
from fastapi import Cookie, Depends, FastAPI, Header, HTTPException, Request, Response, status
from fastapi.middleware.cors import CORSMiddleware
from google.protobuf import json_format
from temporalio.api.common.v1 import Payloads
from temporalio.converter import PayloadCodec

from services.codec.oidc import OidcCheck, OidcRefused
from services.codec.sessions import COOKIE, Sessions
from services.codec.settings import CodecSettings
from services.codec.signin import add_sign_in
from services.common.codec import (
    EncryptionCodec,
    PayloadDecryptionError,
    key_ring,
    write_secret_once,
)

__all__ = ["CORS_HEADERS", "CodecTokenError", "TokenCheck", "codec_tokens", "create_app"]

log = structlog.get_logger(__name__)

# What the Temporal UI sends with each codec request (Authorization-Extras: its ID token).
CORS_HEADERS = ("Authorization", "Authorization-Extras", "Content-Type", "X-Namespace")


class CodecTokenError(ValueError):
    """No usable codec token is configured (the message never contains a token)."""


def codec_tokens(settings: CodecSettings) -> tuple[str, ...]:
    """The configured tokens; for the embedded stack, the generated one (made once). With
    OIDC configured, static tokens are optional (engineers come with the IdP's tokens)."""
    if settings.codec_tokens is not None:
        raw = settings.codec_tokens.get_secret_value()
    else:
        path = settings.token_file
        if not path.exists():
            if settings.oidc_enabled:
                return ()
            if not settings.embedded_stack:
                raise CodecTokenError(
                    "set LIFEEVENTS_CODEC_TOKENS: tokens are generated only for the embedded stack"
                )
            write_secret_once(path, f"{secrets.token_urlsafe(32)}\n")
        raw = path.read_text(encoding="utf-8")
    tokens = tuple(t.strip() for line in raw.splitlines() for t in line.split(",") if t.strip())
    if not tokens and not settings.oidc_enabled:
        raise CodecTokenError("no codec tokens are configured")
    return tokens


class TokenCheck:
    """Bearer tokens, kept only as SHA-256 digests and compared in constant time."""

    def __init__(self, tokens: tuple[str, ...]) -> None:
        self._digests = tuple(hashlib.sha256(t.encode()).digest() for t in tokens)

    def allows(self, presented: str) -> bool:
        digest = hashlib.sha256(presented.encode()).digest()
        found = False
        for known in self._digests:  # no early exit: every digest is compared
            found |= hmac.compare_digest(digest, known)
        return found


@dataclasses.dataclass(frozen=True)
class _Codec:
    """What the handlers need, kept on `app.state`."""

    codec: PayloadCodec
    tokens: TokenCheck
    oidc: OidcCheck | None
    sessions: Sessions
    namespaces: frozenset[str]
    max_body: int


def _state(request: Request) -> _Codec:
    state: _Codec = request.app.state.codec
    return state


def _refuse(reason: str, detail: str, challenge: str = "Bearer") -> HTTPException:
    log.warning("codec.refused", reason=reason)
    return HTTPException(
        status.HTTP_401_UNAUTHORIZED, detail, headers={"WWW-Authenticate": challenge}
    )


def _caller(state: _Codec, authorization: str | None, session: str | None) -> str:
    """How the caller proved it may decode (a word safe to log), or HTTPException 401."""
    scheme, _, token = (authorization or "").partition(" ")
    token = token.strip()
    if scheme.lower() == "bearer" and token:
        if state.tokens.allows(token):
            return "token"
        if state.oidc is not None:
            try:
                state.oidc.check(token)
            except OidcRefused as refused:
                raise _refuse(
                    refused.reason,
                    "the bearer token is not valid",
                    'Bearer error="invalid_token"',
                ) from None
            return "oidc"
        raise _refuse(
            "unknown_token", "the bearer token is not valid", 'Bearer error="invalid_token"'
        )
    if state.sessions.expiry(session) is not None:
        return "session"
    if session:
        raise _refuse("session_expired", "sign in again on this server's /sign-in page")
    raise _refuse(
        "no_credentials", "a bearer token, or a sign-in on this server's /sign-in page, is required"
    )


def authorise(
    request: Request,
    authorization: Annotated[str | None, Header()] = None,
    x_namespace: Annotated[str | None, Header()] = None,
    session: Annotated[str | None, Cookie(alias=COOKIE)] = None,
) -> str | None:
    """The caller's namespace (if it named one), once the caller may decode. A plain `def`:
    FastAPI runs it on a worker thread, where a cold JWKS cache may be fetched."""
    state = _state(request)
    via = _caller(state, authorization, session)
    if x_namespace is not None and x_namespace not in state.namespaces:
        log.warning("codec.refused", reason="namespace_not_allowed", via=via)
        raise HTTPException(status.HTTP_403_FORBIDDEN, "namespace not served here")
    return x_namespace


Namespace = Annotated[str | None, Depends(authorise)]


async def _read_payloads(request: Request) -> Payloads:
    body = await request.body()
    if len(body) > _state(request).max_body:
        raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, "request body too large")
    try:
        return json_format.Parse(body, Payloads())
    except (json_format.ParseError, UnicodeDecodeError):
        raise HTTPException(
            status.HTTP_400_BAD_REQUEST, "the body must be Payloads in protobuf JSON"
        ) from None


def _reply(payloads: Payloads) -> Response:
    # Decoded payloads carry personal data: no cache keeps them.
    return Response(
        json_format.MessageToJson(payloads),
        media_type="application/json",
        headers={"Cache-Control": "no-store"},
    )


async def encode(request: Request, namespace: Namespace) -> Response:
    payloads = await _read_payloads(request)
    encoded = await _state(request).codec.encode(payloads.payloads)
    log.info("codec.encoded", payloads=len(encoded), namespace=namespace)
    return _reply(Payloads(payloads=encoded))


async def decode(request: Request, namespace: Namespace) -> Response:
    payloads = await _read_payloads(request)
    try:
        decoded = await _state(request).codec.decode(payloads.payloads)
    except PayloadDecryptionError as error:
        # The message names a key id at most, never payload contents.
        log.warning("codec.decode_failed", reason=str(error), namespace=namespace)
        raise HTTPException(status.HTTP_400_BAD_REQUEST, str(error)) from None
    log.info("codec.decoded", payloads=len(decoded), namespace=namespace)
    return _reply(Payloads(payloads=decoded))


def create_app(
    settings: CodecSettings,
    *,
    codec: PayloadCodec | None = None,
    tokens: tuple[str, ...] | None = None,
) -> FastAPI:
    app = FastAPI(
        title="Life Events codec server",
        description="Temporal remote codec: decodes payloads for authorised ops engineers.",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.state.codec = _Codec(
        codec=codec or EncryptionCodec(key_ring(settings)),
        tokens=TokenCheck(tokens if tokens is not None else codec_tokens(settings)),
        oidc=OidcCheck.from_settings(settings),
        sessions=Sessions(settings.codec_session_minutes * 60),
        namespaces=settings.allowed_namespaces,
        max_body=settings.codec_max_body_bytes,
    )
    app.add_middleware(
        CORSMiddleware,
        allow_origins=list(settings.allowed_origins),
        allow_methods=["POST"],
        allow_headers=list(CORS_HEADERS),
        allow_credentials=True,
        max_age=600,
    )
    add_sign_in(
        app,
        token_allowed=app.state.codec.tokens.allows,
        sessions=app.state.codec.sessions,
        ui_url=settings.allowed_origins[0] if settings.allowed_origins else None,
    )
    # Only the last path segment counts (the protocol), so any prefix reaches the same handler.
    for name, handler in (("encode", encode), ("decode", decode)):
        app.add_api_route(f"/{name}", handler, methods=["POST"])
        app.add_api_route(f"/{{prefix:path}}/{name}", handler, methods=["POST"])
    return app
