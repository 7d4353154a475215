"""Build the consent service's parts from settings: store, policy, keys, gate, API."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from fastapi import FastAPI

from services.common.sharetokens import ShareTokenIssuer
from services.consent.api import build_api
from services.consent.auth import ApiAuth
from services.consent.gate import ConsentGate
from services.consent.keys import api_auth_key, share_token_key
from services.consent.policy import load_policy
from services.consent.publisher import OutboxRelay, Send
from services.consent.settings import ConsentSettings
from services.consent.store import ConsentStore

__all__ = ["ConsentService", "open_service"]


@dataclass
class ConsentService:
    store: ConsentStore
    gate: ConsentGate
    auth: ApiAuth
    relay: OutboxRelay | None

    def api(self) -> FastAPI:
        return build_api(self.gate, self.auth)

    async def close(self) -> None:
        await self.store.close()


async def open_service(settings: ConsentSettings, send: Send | None = None) -> ConsentService:
    """Open the store (creating tables), read the policy and keys, and wire the gate.
    With `send`, consent changes are published to Kafka through the outbox relay."""
    policy = load_policy(settings.consent_policy_path)
    issuer = ShareTokenIssuer(
        share_token_key(settings), ttl=timedelta(seconds=settings.consent_share_token_ttl_seconds)
    )
    auth = ApiAuth(api_auth_key(settings))
    store = await ConsentStore.open(settings.database_url("consent"))
    relay = OutboxRelay(store, send) if send is not None else None
    gate = ConsentGate(
        store,
        policy,
        issuer,
        topic=settings.consent_topic,
        on_change=relay.flush if relay is not None else None,
    )
    return ConsentService(store, gate, auth, relay)
