"""Engineers' sign-in sessions on the codec server, held in a cookie the Temporal UI sends.

The cookie holds only a random session id; the server keeps its SHA-256 digest and expiry,
so a session ends for real when the engineer signs out (or the server restarts), and a copy
of the server's memory gives nobody a usable cookie.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from collections.abc import Callable

__all__ = ["COOKIE", "Sessions"]

COOKIE = "lifeevents_codec_session"

# A bound on memory if something signs in in a loop; far above any team of engineers.
MAX_SESSIONS = 10_000


def _digest(session_id: str) -> bytes:
    return hashlib.sha256(session_id.encode()).digest()


class Sessions:
    """Open sessions by digest → expiry (seconds on `clock`). Safe across threads."""

    def __init__(self, lifetime_seconds: float, clock: Callable[[], float] = time.time) -> None:
        self.lifetime_seconds = lifetime_seconds
        self._clock = clock
        self._expiry: dict[bytes, float] = {}
        self._lock = threading.Lock()

    def open(self) -> tuple[str, float]:
        """A new session id for the cookie, and when it expires."""
        session_id = secrets.token_urlsafe(32)
        now = self._clock()
        expires = now + self.lifetime_seconds
        with self._lock:
            if len(self._expiry) >= MAX_SESSIONS:
                self._expiry = {d: e for d, e in self._expiry.items() if e > now}
            if len(self._expiry) >= MAX_SESSIONS:
                oldest = min(self._expiry, key=self._expiry.__getitem__)
                del self._expiry[oldest]
            self._expiry[_digest(session_id)] = expires
        return session_id, expires

    def expiry(self, session_id: str | None) -> float | None:
        """When the session expires, or None if it is unknown, closed or over."""
        if not session_id:
            return None
        digest = _digest(session_id)
        with self._lock:
            expires = self._expiry.get(digest)
            if expires is None:
                return None
            if expires <= self._clock():
                del self._expiry[digest]
                return None
            return expires

    def close(self, session_id: str | None) -> None:
        if session_id:
            with self._lock:
                self._expiry.pop(_digest(session_id), None)
