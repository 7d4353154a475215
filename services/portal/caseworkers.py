"""Caseworker accounts, their sign-in, and who has claimed which task.

An account is a username (lower case, as typed at sign-in), a display name, an argon2id hash
of the password (`argon2-cffi`'s `PasswordHasher`, RFC 9106's low-memory profile unless
given another) and an active flag, under a pseudonymous ID (`cwk_` + 32 hex digits): the
ID is what leaves the portal (the consent ledger names a caseworker by it), the username and
name stay here. A hash made with other parameters than the hasher's is replaced at the next
good sign-in (`check_needs_rehash`).

Sign-in answers the same way, in about the same time, whatever is wrong: an unknown
username is checked against a dummy hash, an inactive account's password is checked before
it is refused. Failures are counted per username and per client address, each kept only as
an HMAC under the portal's key (a username field often holds a password typed in the wrong
box): five failures within the window lock that username, or that client, for fifteen
minutes (`SignInLocked`, answered 429), whatever password comes next. A good sign-in clears
its username's count, never its client's (one account of one's own must not reset the count
of a client trying others').

A claim says which caseworker is dealing with a task (`workflow_id`, `task`) and since when.
One claim per task: another caseworker's claim is refused (`ClaimedByAnother`) until it is
released; the primary key decides between two claims at the same moment.

The tables are the portal's own, in its database, on a `MetaData` of this module's: the
console can be run (and tested) before or beside the rest of the portal's store.

Nothing here logs a username, a name or a password; log lines name the caseworker by ID.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import re
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import structlog
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import (
    Boolean,
    Column,
    ForeignKey,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    delete,
    insert,
    select,
    tuple_,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from services.common.database import UtcDateTime

__all__ = [
    "LOCK_AFTER",
    "LOCK_FOR",
    "MIN_PASSWORD_LENGTH",
    "AccountExists",
    "Caseworker",
    "Caseworkers",
    "Claim",
    "ClaimedByAnother",
    "InvalidAccount",
    "SignInLocked",
    "metadata",
    "normal_username",
]

log = structlog.get_logger(__name__)

LOCK_AFTER = 5
"""Failed sign-ins (per username, per client) within `LOCK_FOR` that lock it."""
LOCK_FOR = timedelta(minutes=15)
MIN_PASSWORD_LENGTH = 12  # length over composition rules (NCSC); argon2 takes any length
MAX_PASSWORD_LENGTH = 1024  # hashing costs the same whatever the length; this bounds reading it
_USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
_ID_PREFIX = "cwk_"

Clock = Callable[[], datetime]


def _utc_now() -> datetime:
    return datetime.now(UTC)


metadata = MetaData()

accounts = Table(
    "caseworker_accounts",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("username", String(64), nullable=False, unique=True),
    Column("display_name", String(100), nullable=False),
    Column("password_hash", Text, nullable=False),
    Column("active", Boolean, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)

claims = Table(
    "caseworker_claims",
    metadata,
    Column("workflow_id", String(255), nullable=False),
    Column("task", String(200), nullable=False),
    Column("caseworker", String(40), ForeignKey("caseworker_accounts.id"), nullable=False),
    Column("claimed_at", UtcDateTime, nullable=False),
    PrimaryKeyConstraint("workflow_id", "task", name="pk_caseworker_claims"),
)

# Failed sign-ins, per HMAC of a username or of a client address (`scope` says which): how
# many since the first of the current window, and until when the key is locked.
signin_failures = Table(
    "caseworker_signin_failures",
    metadata,
    Column("scope", String(16), nullable=False),
    Column("key_hash", String(64), nullable=False),
    Column("failures", Integer, nullable=False),
    Column("first_at", UtcDateTime, nullable=False),
    Column("locked_until", UtcDateTime, nullable=True),
    PrimaryKeyConstraint("scope", "key_hash", name="pk_caseworker_signin_failures"),
)


class InvalidAccount(ValueError):
    """An account that cannot be made as asked: the reason is a code (`username`,
    `display_name`, `password_too_short`, `password_too_long`), never the value."""


class AccountExists(Exception):
    """An account with that username exists already."""


class SignInLocked(Exception):
    """Too many failed sign-ins for this username or from this client: try again after
    `retry_after` seconds."""

    def __init__(self, retry_after: int) -> None:
        super().__init__("signin_locked")
        self.retry_after = retry_after


@dataclass(frozen=True)
class Caseworker:
    id: str  # `cwk_…`, the pseudonymous ID the ledger names them by
    username: str
    display_name: str
    active: bool


@dataclass(frozen=True)
class Claim:
    workflow_id: str
    task: str
    caseworker: str  # the claimant's ID
    display_name: str
    claimed_at: datetime


class ClaimedByAnother(Exception):
    """The task is claimed by another caseworker (`claim`): released first, then claimed."""

    def __init__(self, claim: Claim) -> None:
        super().__init__("claimed_by_another")
        self.claim = claim


def normal_username(username: str) -> str:
    """A username as it is kept and looked up: trimmed, lower case."""
    return username.strip().lower()


class Caseworkers:
    """Accounts, sign-in and claims on the portal's database (`engine`). `key` (at least 32
    bytes: the portal's secret key) keys the HMACs failed sign-ins are counted under."""

    def __init__(
        self,
        engine: AsyncEngine,
        key: bytes,
        *,
        hasher: PasswordHasher | None = None,
        clock: Clock = _utc_now,
        lock_after: int = LOCK_AFTER,
        lock_for: timedelta = LOCK_FOR,
    ) -> None:
        if len(key) < 32:
            raise ValueError("the key must be at least 32 bytes")
        self.engine = engine
        self._key = key
        self.hasher = hasher or PasswordHasher()
        self._clock = clock
        self._lock_after = lock_after
        self._lock_for = lock_for
        # What an unknown username's password is checked against: the same work as a real
        # one, so that the time taken does not say whether the username exists.
        self._dummy_hash = self.hasher.hash(secrets.token_urlsafe(24))

    async def create_tables(self) -> None:
        """The portal's database made ready, the console's tables with the rest: through the
        portal store's migrations, never on their own (a database holding only these tables
        would look to the migrations like a portal store made before there were any)."""
        # Imported here: the portal store imports this module's tables for its migrations.
        from services.portal.store import PortalStore

        url = self.engine.url.render_as_string(hide_password=False)
        await (await PortalStore.open(url)).close()

    # -- accounts ---------------------------------------------------------------------------

    async def add(self, username: str, display_name: str, password: str) -> Caseworker:
        """A new active account; `AccountExists` if the username is taken."""
        name = normal_username(username)
        if not _USERNAME.fullmatch(name):
            raise InvalidAccount("username")
        shown = " ".join(display_name.split())
        if not 1 <= len(shown) <= 100:
            raise InvalidAccount("display_name")
        _check_password(password)
        caseworker = Caseworker(
            id=_ID_PREFIX + secrets.token_hex(16), username=name, display_name=shown, active=True
        )
        hashed = await asyncio.to_thread(self.hasher.hash, password)
        try:
            async with self.engine.begin() as conn:
                await conn.execute(
                    insert(accounts).values(
                        id=caseworker.id,
                        username=name,
                        display_name=shown,
                        password_hash=hashed,
                        active=True,
                        created_at=self._clock(),
                    )
                )
        except IntegrityError:
            raise AccountExists("account_exists") from None
        log.info("caseworker.account_added", caseworker=caseworker.id)
        return caseworker

    async def set_active(self, username: str, active: bool) -> bool:
        """Let an account sign in again, or stop it; False when there is no such account."""
        async with self.engine.begin() as conn:
            result = await conn.execute(
                update(accounts)
                .where(accounts.c.username == normal_username(username))
                .values(active=active)
            )
        return result.rowcount == 1

    async def get(self, caseworker_id: str) -> Caseworker | None:
        async with self.engine.connect() as conn:
            row = (
                await conn.execute(
                    select(
                        accounts.c.id,
                        accounts.c.username,
                        accounts.c.display_name,
                        accounts.c.active,
                    ).where(accounts.c.id == caseworker_id)
                )
            ).first()
        return (
            None if row is None else Caseworker(row.id, row.username, row.display_name, row.active)
        )

    # -- sign-in ----------------------------------------------------------------------------

    async def sign_in(self, username: str, password: str, client: str) -> Caseworker | None:
        """The active caseworker whose username and password these are, or None (unknown,
        wrong, inactive: all alike). `SignInLocked` while the username or the client is
        locked, without checking the password."""
        now = self._clock()
        name = normal_username(username)
        keys = (
            ("username", self._digest("username", name)),
            ("client", self._digest("client", client)),
        )
        locked_until = await self._locked_until(keys, now)
        if locked_until is not None:
            raise SignInLocked(max(1, int((locked_until - now).total_seconds())))
        async with self.engine.connect() as conn:
            row = (
                await conn.execute(
                    select(
                        accounts.c.id,
                        accounts.c.username,
                        accounts.c.display_name,
                        accounts.c.password_hash,
                        accounts.c.active,
                    ).where(accounts.c.username == name)
                )
            ).first()
        # Too long to be anyone's: checked against the dummy all the same, and refused.
        fits = len(password) <= MAX_PASSWORD_LENGTH
        stored = row.password_hash if row is not None and fits else self._dummy_hash
        good = await asyncio.to_thread(self._verify, stored, password[:MAX_PASSWORD_LENGTH])
        if row is None or not row.active or not fits or not good:
            await self._failed(keys, now)
            log.info("caseworker.signin_refused")
            return None
        await self._forget(keys[0])
        if self.hasher.check_needs_rehash(row.password_hash):
            rehashed = await asyncio.to_thread(self.hasher.hash, password)
            async with self.engine.begin() as conn:
                await conn.execute(
                    update(accounts).where(accounts.c.id == row.id).values(password_hash=rehashed)
                )
            log.info("caseworker.password_rehashed", caseworker=row.id)
        log.info("caseworker.signed_in", caseworker=row.id)
        return Caseworker(row.id, row.username, row.display_name, row.active)

    def _verify(self, stored: str, password: str) -> bool:
        try:
            return self.hasher.verify(stored, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def _digest(self, scope: str, value: str) -> str:
        return hmac.new(
            self._key, f"caseworker-{scope}\x00{value}".encode(), hashlib.sha256
        ).hexdigest()

    async def _locked_until(
        self, keys: Sequence[tuple[str, str]], now: datetime
    ) -> datetime | None:
        async with self.engine.connect() as conn:
            rows = await conn.execute(
                select(signin_failures.c.locked_until).where(
                    tuple_(signin_failures.c.scope, signin_failures.c.key_hash).in_(keys),
                    signin_failures.c.locked_until > now,
                )
            )
            until = [r.locked_until for r in rows]
        return max(until) if until else None

    async def _failed(self, keys: Sequence[tuple[str, str]], now: datetime) -> None:
        """One more failure for each key; the one that reaches the limit within the window
        is locked for `lock_for` (and counts afresh after)."""
        async with self.engine.begin() as conn:
            for scope, key_hash in keys:
                where = (signin_failures.c.scope == scope) & (
                    signin_failures.c.key_hash == key_hash
                )
                row = (await conn.execute(select(signin_failures).where(where))).first()
                if row is None:
                    await conn.execute(
                        insert(signin_failures).values(
                            scope=scope,
                            key_hash=key_hash,
                            failures=1,
                            first_at=now,
                            locked_until=None,
                        )
                    )
                    failures = 1
                else:
                    fresh = now - row.first_at >= self._lock_for
                    failures = 1 if fresh else row.failures + 1
                    await conn.execute(
                        update(signin_failures)
                        .where(where)
                        .values(failures=failures, first_at=now if fresh else row.first_at)
                    )
                if failures >= self._lock_after:
                    await conn.execute(
                        update(signin_failures)
                        .where(where)
                        .values(failures=0, first_at=now, locked_until=now + self._lock_for)
                    )
                    log.warning("caseworker.signin_locked", scope=scope)

    async def _forget(self, key: tuple[str, str]) -> None:
        scope, key_hash = key
        async with self.engine.begin() as conn:
            await conn.execute(
                delete(signin_failures).where(
                    signin_failures.c.scope == scope, signin_failures.c.key_hash == key_hash
                )
            )

    # -- claims -----------------------------------------------------------------------------

    async def claim(self, caseworker_id: str, workflow_id: str, task: str) -> Claim:
        """The caseworker's claim on the task: made now, or theirs already.
        `ClaimedByAnother` when another caseworker holds it."""
        held: Claim | None = None
        for _ in range(2):  # a second go if it was released between the insert and the read
            try:
                async with self.engine.begin() as conn:
                    await conn.execute(
                        insert(claims).values(
                            workflow_id=workflow_id,
                            task=task,
                            caseworker=caseworker_id,
                            claimed_at=self._clock(),
                        )
                    )
            except IntegrityError:
                pass  # claimed already: by whom, below
            held = await self.claim_of(workflow_id, task)
            if held is not None:
                break
        if held is None:
            raise ClaimedByAnother(Claim(workflow_id, task, "", "", self._clock()))
        if held.caseworker != caseworker_id:
            raise ClaimedByAnother(held)
        log.info("caseworker.claimed", caseworker=caseworker_id, workflow_id=workflow_id, task=task)
        return held

    async def release(self, caseworker_id: str, workflow_id: str, task: str) -> bool:
        """Let the task go, if this caseworker holds it; whether they did."""
        async with self.engine.begin() as conn:
            result = await conn.execute(
                delete(claims).where(
                    claims.c.workflow_id == workflow_id,
                    claims.c.task == task,
                    claims.c.caseworker == caseworker_id,
                )
            )
        if result.rowcount == 1:
            log.info(
                "caseworker.released", caseworker=caseworker_id, workflow_id=workflow_id, task=task
            )
        return result.rowcount == 1

    async def claim_of(self, workflow_id: str, task: str) -> Claim | None:
        found = await self.claims_on([(workflow_id, task)])
        return found.get((workflow_id, task))

    async def claims_on(self, tasks: Sequence[tuple[str, str]]) -> dict[tuple[str, str], Claim]:
        """The claims on these (workflow_id, task) pairs, with each claimant's name."""
        if not tasks:
            return {}
        async with self.engine.connect() as conn:
            rows = await conn.execute(
                select(
                    claims.c.workflow_id,
                    claims.c.task,
                    claims.c.caseworker,
                    accounts.c.display_name,
                    claims.c.claimed_at,
                )
                .join(accounts, accounts.c.id == claims.c.caseworker)
                .where(tuple_(claims.c.workflow_id, claims.c.task).in_(list(tasks)))
            )
            return {
                (r.workflow_id, r.task): Claim(
                    r.workflow_id, r.task, r.caseworker, r.display_name, r.claimed_at
                )
                for r in rows
            }

    async def settle(self, workflow_id: str, task: str) -> None:
        """The task is done (decided, resolved): its claim goes, whoever held it."""
        async with self.engine.begin() as conn:
            await conn.execute(
                delete(claims).where(claims.c.workflow_id == workflow_id, claims.c.task == task)
            )


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidAccount("password_too_short")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise InvalidAccount("password_too_long")
