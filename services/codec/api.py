"""Temporal's remote codec protocol over HTTP, for the Temporal UI and CLI.

`POST …/encode` and `POST …/decode` take and return a `Payloads` message in protobuf JSON
(`{"payloads": [{"metadata": {...}, "data": "<base64>"}]}`). Only the last path segment
counts, so the server can sit under any prefix (`/default/decode`, `/codec/decode`).

Every request needs `Authorization: Bearer <token>` with one of the configured tokens
(compared as SHA-256 digests, in constant time), and its `X-Namespace`, when sent, must be an
allowed namespace. Browsers may call it only from the configured Temporal UI origins.
Nothing here logs payloads, tokens or error details that could carry them.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import secrets
from typing import Annotated

import structlog
from fastapi import Depends, FastAPI, Header, HTTPException, Request, Response, status
from fastapi.middleware.cors import CORSMiddleware
from google.protobuf import json_format
from temporalio.api.common.v1 import Payloads
from temporalio.converter import PayloadCodec

from services.codec.settings import CodecSettings
from services.common.codec import (
    EncryptionCodec,
    PayloadDecryptionError,
    key_ring,
    write_secret_once,
)

__all__ = ["CORS_HEADERS", "CodecTokenError", "TokenCheck", "codec_tokens", "create_app"]

log = structlog.get_logger(__name__)

# What the Temporal UI sends with each codec request.
CORS_HEADERS = ("Authorization", "Content-Type", "X-Namespace")


class CodecTokenError(ValueError):
    """No usable codec token is configured (the message never contains a token)."""


def codec_tokens(settings: CodecSettings) -> tuple[str, ...]:
    """The configured tokens; for the embedded stack, the generated one (made once)."""
    if settings.codec_tokens is not None:
        raw = settings.codec_tokens.get_secret_value()
    else:
        path = settings.token_file
        if not path.exists():
            if not settings.embedded_stack:
                raise CodecTokenError(
                    "set LIFEEVENTS_CODEC_TOKENS: tokens are generated only for the embedded stack"
                )
            write_secret_once(path, f"{secrets.token_urlsafe(32)}\n")
        raw = path.read_text(encoding="utf-8")
    tokens = tuple(t.strip() for line in raw.splitlines() for t in line.split(",") if t.strip())
    if not tokens:
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
    namespaces: frozenset[str]
    max_body: int


def _state(request: Request) -> _Codec:
    state: _Codec = request.app.state.codec
    return state


def authorise(
    request: Request,
    authorization: Annotated[str | None, Header()] = None,
    x_namespace: Annotated[str | None, Header()] = None,
) -> str | None:
    """The caller's namespace (if it named one), once its bearer token is known."""
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        log.warning("codec.refused", reason="no_bearer_token")
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "a bearer token is required",
            headers={"WWW-Authenticate": "Bearer"},
        )
    if not _state(request).tokens.allows(token.strip()):
        log.warning("codec.refused", reason="unknown_token")
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "the bearer token is not valid",
            headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
        )
    if x_namespace is not None and x_namespace not in _state(request).namespaces:
        log.warning("codec.refused", reason="namespace_not_allowed")
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
    return Response(json_format.MessageToJson(payloads), media_type="application/json")


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
    # Only the last path segment counts (the protocol), so any prefix reaches the same handler.
    for name, handler in (("encode", encode), ("decode", decode)):
        app.add_api_route(f"/{name}", handler, methods=["POST"])
        app.add_api_route(f"/{{prefix:path}}/{name}", handler, methods=["POST"])
    return app
