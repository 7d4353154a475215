"""Build the consent service's parts from settings: store, policy, keys, gate, API."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from services.common.database import make_engine
from services.common.sharetokens import ShareTokenIssuer
from services.consent.api import build_api
from services.consent.auth import ApiAuth
from services.consent.gate import ConsentGate
from services.consent.keys import api_auth_key, share_token_key
from services.consent.policy import load_policy
from services.consent.publisher import OutboxRelay, Send
from services.consent.settings import ConsentSettings
from services.consent.store import ConsentStore

__all__ = ["ConsentService", "make_store_engine", "open_service"]


def make_store_engine(url: str, **kwargs: Any) -> AsyncEngine:
    """The shared engine factory, without the pool's rollback on check-in: every connection
    the store uses ends its transaction itself (commit, or rollback on close), so that
    second rollback would only cost a round trip per decision."""
    return make_engine(url, pool_reset_on_return=None, **kwargs)


@dataclass
class ConsentService:
    engine: AsyncEngine
    store: ConsentStore
    gate: ConsentGate
    auth: ApiAuth
    relay: OutboxRelay | None

    def api(self) -> FastAPI:
        return build_api(self.gate, self.auth)

    async def close(self) -> None:
        await self.engine.dispose()


async def open_service(settings: ConsentSettings, send: Send | None = None) -> ConsentService:
    """Open the store (creating tables), read the policy and keys, and wire the gate.
    With `send`, consent changes are published to Kafka through the outbox relay."""
    policy = load_policy(settings.consent_policy_path)
    engine = make_store_engine(settings.consent_database_url)
    store = ConsentStore(engine)
    await store.create()
    issuer = ShareTokenIssuer(
        share_token_key(settings), ttl=timedelta(seconds=settings.consent_share_token_ttl_seconds)
    )
    relay = OutboxRelay(store, send) if send is not None else None
    gate = ConsentGate(
        store,
        policy,
        issuer,
        topic=settings.consent_topic,
        on_change=relay.flush if relay is not None else None,
    )
    return ConsentService(engine, store, gate, ApiAuth(api_auth_key(settings)), relay)
