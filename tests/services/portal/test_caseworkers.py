"""Caseworker accounts and claims: argon2id hashes (rehashed when the parameters change), a
sign-in that answers alike whatever is wrong (an unknown username checks a dummy hash),
locks after five failures per username and per client, and one claim per task."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Literal

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from services.common.database import make_engine
from services.portal.caseworkers import (
    AccountExists,
    Caseworkers,
    ClaimedByAnother,
    InvalidAccount,
    SignInLocked,
    accounts,
)

KEY = b"k" * 32
PASSWORD = "correct horse battery staple"
WORKFLOW = "lifeevent-0123456789abcdef0123456789abcdef"
# Quick to hash: the tests about sign-in are not about the cost of a hash.
QUICK = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


@dataclass
class Clock:
    now: datetime = field(default_factory=lambda: datetime(2026, 3, 2, 9, 0, tzinfo=UTC))

    def __call__(self) -> datetime:
        return self.now


class CountingHasher(PasswordHasher):
    """A quick hasher that counts the hashes it checks, and against which."""

    def __init__(self) -> None:
        super().__init__(time_cost=1, memory_cost=1024, parallelism=1)
        self.checked: list[str] = []

    def verify(self, hash: str | bytes, password: str | bytes) -> Literal[True]:
        self.checked.append(str(hash))
        return super().verify(hash, password)


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'portal.db'}")
    yield engine
    await engine.dispose()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def caseworkers(engine: AsyncEngine, clock: Clock) -> Caseworkers:
    made = Caseworkers(engine, KEY, hasher=QUICK, clock=clock)
    await made.create_tables()
    return made


async def stored_hash(engine: AsyncEngine, username: str) -> str:
    async with engine.connect() as conn:
        found = await conn.scalar(
            select(accounts.c.password_hash).where(accounts.c.username == username)
        )
    return str(found)


# --- accounts and passwords ------------------------------------------------------------


async def test_the_password_is_kept_as_an_argon2id_hash(engine: AsyncEngine) -> None:
    standard = Caseworkers(engine, KEY)  # the library's parameters: RFC 9106, low memory
    await standard.create_tables()
    added = await standard.add("  A.Caseworker ", "Alex Caseworker", PASSWORD)
    assert added.username == "a.caseworker"
    assert added.id.startswith("cwk_")
    assert len(added.id) == 36
    hashed = await stored_hash(engine, "a.caseworker")
    assert hashed.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert PASSWORD not in hashed
    assert await standard.sign_in("A.CASEWORKER", PASSWORD, "192.0.2.1") == added
    assert await standard.sign_in("a.caseworker", PASSWORD + "!", "192.0.2.1") is None


async def test_a_hash_made_with_other_parameters_is_replaced_at_the_next_good_sign_in(
    engine: AsyncEngine, caseworkers: Caseworkers
) -> None:
    await caseworkers.add("bea", "Bea Caseworker", PASSWORD)
    assert (await stored_hash(engine, "bea")).startswith("$argon2id$v=19$m=1024,t=1,p=1$")
    stronger = Caseworkers(engine, KEY, hasher=PasswordHasher(time_cost=2, memory_cost=2048))
    assert await stronger.sign_in("bea", "wrong password here", "192.0.2.1") is None
    assert (await stored_hash(engine, "bea")).startswith("$argon2id$v=19$m=1024,t=1,p=1$")
    assert await stronger.sign_in("bea", PASSWORD, "192.0.2.1") is not None
    assert (await stored_hash(engine, "bea")).startswith("$argon2id$v=19$m=2048,t=2,p=4$")
    # and the old parameters' hasher still reads it
    assert await caseworkers.sign_in("bea", PASSWORD, "192.0.2.1") is not None


async def test_accounts_are_checked_when_made(caseworkers: Caseworkers) -> None:
    await caseworkers.add("cal", "Cal Caseworker", PASSWORD)
    with pytest.raises(AccountExists):
        await caseworkers.add("CAL", "Another Cal", PASSWORD)
    with pytest.raises(InvalidAccount, match="password_too_short"):
        await caseworkers.add("dee", "Dee Caseworker", "short")
    with pytest.raises(InvalidAccount, match="username"):
        await caseworkers.add("dee@example", "Dee Caseworker", PASSWORD)
    with pytest.raises(InvalidAccount, match="display_name"):
        await caseworkers.add("dee", "   ", PASSWORD)


async def test_an_unknown_username_checks_a_dummy_hash_and_answers_alike(
    engine: AsyncEngine, clock: Clock
) -> None:
    hasher = CountingHasher()
    caseworkers = Caseworkers(engine, KEY, hasher=hasher, clock=clock)
    await caseworkers.create_tables()
    await caseworkers.add("eve", "Eve Caseworker", PASSWORD)
    real = await stored_hash(engine, "eve")

    assert await caseworkers.sign_in("nobody", PASSWORD, "192.0.2.1") is None
    assert await caseworkers.sign_in("eve", "not her password", "192.0.2.1") is None
    assert await caseworkers.sign_in("eve", "x" * 2000, "192.0.2.1") is None

    # One check each: the unknown username's against a hash that is not Eve's, and the
    # too-long password's too.
    assert len(hasher.checked) == 3
    assert hasher.checked[0] != real
    assert hasher.checked[0].startswith("$argon2id$")
    assert hasher.checked[1] == real
    assert hasher.checked[2] == hasher.checked[0]


async def test_an_inactive_account_is_refused_after_its_password_is_checked(
    engine: AsyncEngine, clock: Clock
) -> None:
    hasher = CountingHasher()
    caseworkers = Caseworkers(engine, KEY, hasher=hasher, clock=clock)
    await caseworkers.create_tables()
    await caseworkers.add("fay", "Fay Caseworker", PASSWORD)
    assert await caseworkers.set_active("FAY", False)
    assert await caseworkers.sign_in("fay", PASSWORD, "192.0.2.1") is None
    assert hasher.checked == [await stored_hash(engine, "fay")]
    assert await caseworkers.set_active("fay", True)
    assert await caseworkers.sign_in("fay", PASSWORD, "192.0.2.1") is not None
    assert not await caseworkers.set_active("nobody", True)


async def test_nothing_personal_is_logged(caseworkers: Caseworkers, output: io.StringIO) -> None:
    await caseworkers.add("gus.private", "Gus Privatename", PASSWORD)
    await caseworkers.sign_in("gus.private", PASSWORD, "198.51.100.7")
    await caseworkers.sign_in("gus.private", "typed-in-the-wrong-box", "198.51.100.7")
    logged = output.getvalue()
    assert "caseworker.signed_in" in logged
    assert "caseworker.signin_refused" in logged
    for secret in ("gus", "Privatename", PASSWORD, "typed-in-the-wrong-box", "198.51.100.7"):
        assert secret not in logged


# --- locking ---------------------------------------------------------------------------


async def test_five_failures_lock_the_username_for_fifteen_minutes(
    caseworkers: Caseworkers, clock: Clock
) -> None:
    await caseworkers.add("hal", "Hal Caseworker", PASSWORD)
    for n in range(5):
        assert await caseworkers.sign_in("hal", f"wrong {n}", f"192.0.2.{n}") is None
    clock.now += timedelta(minutes=1)
    with pytest.raises(SignInLocked) as locked:
        await caseworkers.sign_in("hal", PASSWORD, "203.0.113.9")  # the right one, elsewhere
    assert locked.value.retry_after == 14 * 60
    clock.now += timedelta(minutes=13, seconds=59)
    with pytest.raises(SignInLocked):
        await caseworkers.sign_in("HAL", PASSWORD, "203.0.113.9")
    clock.now += timedelta(seconds=1)
    assert await caseworkers.sign_in("hal", PASSWORD, "203.0.113.9") is not None


async def test_five_failures_from_one_client_lock_that_client_only(
    caseworkers: Caseworkers, clock: Clock
) -> None:
    await caseworkers.add("ivy", "Ivy Caseworker", PASSWORD)
    for n in range(5):  # five usernames, one client
        assert await caseworkers.sign_in(f"guess{n}", PASSWORD, "192.0.2.66") is None
    with pytest.raises(SignInLocked) as locked:
        await caseworkers.sign_in("ivy", PASSWORD, "192.0.2.66")
    assert locked.value.retry_after == 15 * 60
    assert await caseworkers.sign_in("ivy", PASSWORD, "192.0.2.67") is not None
    # A good sign-in from another client does not unlock this one.
    with pytest.raises(SignInLocked):
        await caseworkers.sign_in("ivy", PASSWORD, "192.0.2.66")


async def test_failures_count_within_the_window_and_a_good_sign_in_clears_them(
    caseworkers: Caseworkers, clock: Clock
) -> None:
    await caseworkers.add("jo", "Jo Caseworker", PASSWORD)
    for n in range(4):
        assert await caseworkers.sign_in("jo", "wrong", f"192.0.2.{n}") is None
    assert await caseworkers.sign_in("jo", PASSWORD, "192.0.2.10") is not None
    for n in range(4):
        assert await caseworkers.sign_in("jo", "wrong", f"192.0.2.{20 + n}") is None
    clock.now += timedelta(minutes=15)  # the window of those four has passed
    for n in range(4):
        assert await caseworkers.sign_in("jo", "wrong", f"192.0.2.{30 + n}") is None
    assert await caseworkers.sign_in("jo", PASSWORD, "192.0.2.40") is not None


# --- claims ----------------------------------------------------------------------------


async def test_a_task_is_claimed_by_one_caseworker_until_released(
    caseworkers: Caseworkers, clock: Clock
) -> None:
    kim = await caseworkers.add("kim", "Kim Caseworker", PASSWORD)
    lee = await caseworkers.add("lee", "Lee Caseworker", PASSWORD)

    first = await caseworkers.claim(kim.id, WORKFLOW, "match:0")
    assert (first.caseworker, first.display_name, first.claimed_at) == (
        kim.id,
        "Kim Caseworker",
        datetime(2026, 3, 2, 9, 0, tzinfo=UTC),
    )
    clock.now += timedelta(minutes=5)
    with pytest.raises(ClaimedByAnother) as refused:
        await caseworkers.claim(lee.id, WORKFLOW, "match:0")
    assert refused.value.claim == first
    assert await caseworkers.claim(kim.id, WORKFLOW, "match:0") == first  # hers already
    assert not await caseworkers.release(lee.id, WORKFLOW, "match:0")
    # Another task of the same workflow is free.
    assert (await caseworkers.claim(lee.id, WORKFLOW, "match:1")).caseworker == lee.id

    assert await caseworkers.release(kim.id, WORKFLOW, "match:0")
    assert await caseworkers.claim_of(WORKFLOW, "match:0") is None
    taken = await caseworkers.claim(lee.id, WORKFLOW, "match:0")
    assert taken.claimed_at == datetime(2026, 3, 2, 9, 5, tzinfo=UTC)
    assert set(await caseworkers.claims_on([(WORKFLOW, "match:0"), (WORKFLOW, "match:9")])) == {
        (WORKFLOW, "match:0")
    }

    await caseworkers.settle(WORKFLOW, "match:0")
    assert await caseworkers.claim_of(WORKFLOW, "match:0") is None
    assert await caseworkers.get(kim.id) == kim
    assert await caseworkers.get("cwk_" + "0" * 32) is None
