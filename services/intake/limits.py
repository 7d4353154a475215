"""Request size limits (an ASGI middleware) and a rate limit per source system (token bucket).

The size limit is enforced twice: on a declared Content-Length before anything is read, and by
counting the bytes of the body as it streams in, so a chunked request without a length is cut
off at the limit too. Nothing over the limit is ever buffered.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Mapping

from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["BodySizeLimit", "RateLimiter", "error_body"]


def error_body(error: str, message: str) -> bytes:
    """The JSON error document every intake error uses (codes and fixed texts only)."""
    return json.dumps({"error": error, "message": message}).encode()


class _BodyTooLarge(Exception):
    pass


class BodySizeLimit:
    """Answer 413 to any request whose body is larger than the limit for its path."""

    def __init__(
        self, app: ASGIApp, *, default_limit: int, limits: Mapping[str, int] | None = None
    ) -> None:
        self.app = app
        self.default_limit = default_limit
        self.limits = dict(limits or {})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limits.get(scope["path"], self.default_limit)
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await _reject(send, limit)
            return

        received = 0
        response_started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise _BodyTooLarge
            return message

        async def watching_send(message: Message) -> None:
            nonlocal response_started
            if message["type"] == "http.response.start":
                response_started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, watching_send)
        except _BodyTooLarge:
            if response_started:  # the app answered before reading it all; nothing to add
                return
            await _reject(send, limit)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _reject(send: Send, limit: int) -> None:
    body = error_body("payload_too_large", f"the request body is larger than {limit} bytes")
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                # The rest of the body is not read: the connection cannot be reused.
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class RateLimiter:
    """A token bucket per key (the source system): `rate` tokens a second, at most `burst`.

    In memory, per process: with several intake processes, each allows the configured rate.
    """

    def __init__(
        self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.rate = rate
        self.burst = burst
        self.clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}

    def take(self, key: str, cost: int = 1) -> int:
        """0 if `cost` tokens were taken; otherwise the whole seconds to wait (Retry-After)."""
        now = self.clock()
        tokens, last = self._buckets.get(key, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - last) * self.rate)
        # A batch larger than the bucket could never pass: it waits for a full bucket instead.
        cost = min(cost, self.burst)
        if tokens >= cost:
            self._buckets[key] = (tokens - cost, now)
            return 0
        self._buckets[key] = (tokens, now)
        return max(1, math.ceil((cost - tokens) / self.rate))
