"""The portal's own store: sign-in codes, sessions and the counters that rate-limit sign-in.

SQLite by default, PostgreSQL (asyncpg) from the same code; opened like every store
(`await PortalStore.open(url)`, `services.common.database`). It holds no secret in the clear:
a code, a session token and a pending sign-in's cookie are kept only as their HMAC
(`services.portal.security`), and an e-mail address, a phone number or a client address only
as an HMAC too, so a copy of the database signs nobody in and names nobody. The resident
appears as their pseudonymous key (`res_…`), a caseworker as C2's subject.

The caseworker console keeps its tables in the same database (`services.portal.caseworkers`),
and they are in the portal's migrations with the store's own.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime

from sqlalchemy import (
    Column,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    delete,
    func,
    insert,
    or_,
    select,
    update,
)

from services.common.database import Store, UtcDateTime
from services.common.migrations import Migrations
from services.portal.caseworkers import metadata as caseworker_tables

__all__ = [
    "PendingSignIn",
    "PortalStore",
    "SessionRow",
    "attempts",
    "metadata",
    "sessions",
    "signins",
]


metadata = MetaData()

# One row per "send me a code": keyed on the HMAC of the random value in the pending
# sign-in's cookie. An unknown contact gets a row too (no resident, no code), so that the
# next page behaves the same whether or not the address is known.
signins = Table(
    "portal_signins",
    metadata,
    Column("signin_hash", String(64), primary_key=True),
    Column("contact_hash", String(64), nullable=False),
    Column("channel", String(8), nullable=False),
    Column("resident", String(72), nullable=True),
    Column("code_hash", String(64), nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("tries", Integer, nullable=False, default=0),
    Column("used_at", UtcDateTime, nullable=True),
    Index("ix_portal_signins_expires", "expires_at"),
)

sessions = Table(
    "portal_sessions",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("role", String(16), nullable=False),
    Column("subject", String(128), nullable=False),
    # The synchronizer token every form of the session carries (random, per session).
    Column("csrf_token", String(64), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("last_seen_at", UtcDateTime, nullable=False),
    Index("ix_portal_sessions_subject", "role", "subject"),
)

# Sliding-window counters: one row per counted thing (a code asked for, a wrong code), keyed
# on what is limited (`scope`) and the HMAC of whom (a contact, a client address).
attempts = Table(
    "portal_attempts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("scope", String(24), nullable=False),
    Column("key_hash", String(64), nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Index("ix_portal_attempts_lookup", "scope", "key_hash", "at"),
)


@dataclass(frozen=True)
class PendingSignIn:
    signin_hash: str
    contact_hash: str
    channel: str
    resident: str | None
    code_hash: str | None
    created_at: datetime
    expires_at: datetime
    tries: int
    used_at: datetime | None


@dataclass(frozen=True)
class SessionRow:
    token_hash: str
    role: str
    subject: str
    csrf_token: str
    created_at: datetime
    last_seen_at: datetime


class PortalStore(Store):
    metadata = metadata
    migrations = Migrations.beside(__file__, "portal", metadata, caseworker_tables)

    # -- sign-in codes ----------------------------------------------------------------------

    async def add_signin(self, pending: PendingSignIn) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(insert(signins).values(**asdict(pending)))

    async def signin(self, signin_hash: str) -> PendingSignIn | None:
        async with self.engine.connect() as conn:
            row = (
                await conn.execute(select(signins).where(signins.c.signin_hash == signin_hash))
            ).first()
        return None if row is None else PendingSignIn(**row._mapping)

    async def wrong_try(self, signin_hash: str) -> int:
        """Count one wrong code against the pending sign-in; the tries so far."""
        async with self.engine.begin() as conn:
            await conn.execute(
                update(signins)
                .where(signins.c.signin_hash == signin_hash)
                .values(tries=signins.c.tries + 1)
            )
            tries = await conn.scalar(
                select(signins.c.tries).where(signins.c.signin_hash == signin_hash)
            )
        return int(tries or 0)

    async def use_signin(self, signin_hash: str, now: datetime, max_tries: int) -> bool:
        """Spend the code: True for exactly one caller, while it is unused, unexpired and has
        tries left (two requests racing with the same code sign in once)."""
        async with self.engine.begin() as conn:
            result = await conn.execute(
                update(signins)
                .where(
                    signins.c.signin_hash == signin_hash,
                    signins.c.used_at.is_(None),
                    signins.c.expires_at > now,
                    signins.c.tries < max_tries,
                )
                .values(used_at=now)
            )
        return result.rowcount == 1

    # -- rate limits ------------------------------------------------------------------------

    async def take_attempt(
        self, scope: str, key_hash: str, *, limit: int, since: datetime, now: datetime
    ) -> bool:
        """Count one attempt, unless `limit` were counted since `since`: then False, and
        nothing is counted (a locked-out client does not push its own lock further out)."""
        async with self.engine.begin() as conn:
            counted = await conn.scalar(
                select(func.count())
                .select_from(attempts)
                .where(
                    attempts.c.scope == scope,
                    attempts.c.key_hash == key_hash,
                    attempts.c.at > since,
                )
            )
            if int(counted or 0) >= limit:
                return False
            await conn.execute(insert(attempts).values(scope=scope, key_hash=key_hash, at=now))
        return True

    async def attempts_since(self, scope: str, key_hash: str, since: datetime) -> int:
        async with self.engine.connect() as conn:
            counted = await conn.scalar(
                select(func.count())
                .select_from(attempts)
                .where(
                    attempts.c.scope == scope,
                    attempts.c.key_hash == key_hash,
                    attempts.c.at > since,
                )
            )
        return int(counted or 0)

    async def count_attempt(self, scope: str, key_hash: str, now: datetime) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(insert(attempts).values(scope=scope, key_hash=key_hash, at=now))

    # -- sessions ---------------------------------------------------------------------------

    async def add_session(self, row: SessionRow) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(insert(sessions).values(**asdict(row)))

    async def session(self, token_hash: str) -> SessionRow | None:
        async with self.engine.connect() as conn:
            row = (
                await conn.execute(select(sessions).where(sessions.c.token_hash == token_hash))
            ).first()
        return None if row is None else SessionRow(**row._mapping)

    async def touch_session(self, token_hash: str, now: datetime) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(
                update(sessions).where(sessions.c.token_hash == token_hash).values(last_seen_at=now)
            )

    async def delete_session(self, token_hash: str) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(delete(sessions).where(sessions.c.token_hash == token_hash))

    # -- housekeeping -----------------------------------------------------------------------

    async def purge(
        self,
        now: datetime,
        *,
        attempts_before: datetime,
        idle_before: datetime,
        created_before: datetime,
    ) -> None:
        """Forget what can no longer count: spent or expired codes, attempts older than
        every window, sessions past their idle or absolute expiry."""
        async with self.engine.begin() as conn:
            await conn.execute(
                delete(signins).where(
                    or_(signins.c.expires_at <= now, signins.c.used_at.is_not(None))
                )
            )
            await conn.execute(delete(attempts).where(attempts.c.at <= attempts_before))
            await conn.execute(
                delete(sessions).where(
                    or_(
                        sessions.c.last_seen_at <= idle_before,
                        sessions.c.created_at <= created_before,
                    )
                )
            )
