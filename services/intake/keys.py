"""API keys for source systems: issued once, stored as a SHA-256 hash, checked in constant time.

A key looks like `lek_<key id>_<secret>`: the key id (not secret) finds the row and names the
key in logs and in `lifeevents keys list`; the secret is 32 random bytes. A plain SHA-256 is
enough for keys of that entropy (no password stretching needed): nobody can guess a preimage.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from contracts import EVENT_TYPES
from services.intake.store import ApiKeyRow, IntakeStore, now, utc

__all__ = ["ApiKey", "ApiKeys", "IssuedKey", "hash_key"]

KEY_PREFIX = "lek"
SECRET_BYTES = 32
# Same rule as the CloudEvents `source` attribute in contracts: 1-256 printable ASCII characters.
_SOURCE = re.compile(r"^[\x21-\x7e]{1,256}$")
_KEY_ID = re.compile(r"^[0-9a-f]{12}$")
_MAX_PRESENTED = 256


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


@dataclass(frozen=True)
class ApiKey:
    """What a key allows (never the key or its hash)."""

    key_id: str
    source: str
    event_types: frozenset[str]
    created_at: datetime
    revoked_at: datetime | None

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None

    @classmethod
    def from_row(cls, row: ApiKeyRow) -> ApiKey:
        return cls(
            key_id=row.key_id,
            source=row.source,
            event_types=frozenset(row.event_types),
            created_at=utc(row.created_at),
            revoked_at=utc(row.revoked_at) if row.revoked_at else None,
        )


@dataclass(frozen=True)
class IssuedKey:
    key: ApiKey
    secret: str  # the whole bearer token; shown once, never stored


def _key_id(presented: str) -> str | None:
    prefix, _, rest = presented.partition("_")
    key_id, _, secret = rest.partition("_")
    if prefix != KEY_PREFIX or not secret or not _KEY_ID.match(key_id):
        return None
    return key_id


class ApiKeys:
    def __init__(self, store: IntakeStore) -> None:
        self.store = store

    async def issue(self, source: str, event_types: Iterable[str]) -> IssuedKey:
        types = sorted(set(event_types))
        if not _SOURCE.match(source):
            raise ValueError("source must be 1-256 printable ASCII characters, e.g. /housing/x")
        if not types:
            raise ValueError("a key must allow at least one event type")
        unknown = [t for t in types if t not in EVENT_TYPES]
        if unknown:
            known = ", ".join(sorted(EVENT_TYPES))
            raise ValueError(f"unknown event type(s): {', '.join(unknown)} (known: {known})")
        key_id = secrets.token_hex(6)
        secret = f"{KEY_PREFIX}_{key_id}_{secrets.token_urlsafe(SECRET_BYTES)}"
        row = ApiKeyRow(
            key_id=key_id,
            key_hash=hash_key(secret),
            source=source,
            event_types=types,
            created_at=now(),
            revoked_at=None,
        )
        await self.store.add_key(row)
        return IssuedKey(ApiKey.from_row(row), secret)

    async def revoke(self, key_id: str) -> bool:
        return await self.store.revoke_key(key_id)

    async def list(self) -> list[ApiKey]:
        return [ApiKey.from_row(row) for row in await self.store.list_keys()]

    async def authenticate(self, presented: str) -> ApiKey | None:
        """The live key `presented` is, or None (unknown, malformed or revoked)."""
        if len(presented) > _MAX_PRESENTED:
            return None
        key_id = _key_id(presented)
        if key_id is None:
            return None
        row = await self.store.get_key(key_id)
        if row is None or row.revoked_at is not None:
            return None
        if not hmac.compare_digest(row.key_hash, hash_key(presented)):
            return None
        return ApiKey.from_row(row)
