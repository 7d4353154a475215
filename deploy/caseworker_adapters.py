"""The caseworker console's adapters over the other services (the composition root's part),
and `caseworker_console`, which puts the console together for the portal's `create_app`.

`IndexCandidates` is `services.portal.queue.CandidateLookup` over the resident index's store:
what the index holds about each candidate of a doubtful match (every name it was matched
under, as written; date of birth; current address; the identifiers it holds), and which of
those fields agree with the person the event names. Agreement follows the index's matching
rule (`services.residents.matching`): names compared folded (Unicode NFC, case folded,
spaces collapsed), a date of birth and each identifier equal, and an address the same as
the index's household rule has it (same UPRN, or same postcode and folded lines:
`services.residents.store`). A field agrees when the person gives it and one of the
resident's values equals it; a given name that merely *could be* the same person's ("Sam",
"Samuel") does not agree: that is the doubt the caseworker settles.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass

import httpx
from fastapi import APIRouter
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from contracts.residents import PersonDetails
from services.common.temporal import connect
from services.portal.caseworker_ledger import ConsentCaseworkerLedger, LedgerUnavailable
from services.portal.caseworker_pages import caseworker_routes
from services.portal.caseworkers import Caseworkers
from services.portal.ports import Candidate
from services.portal.queue import QueueUnavailable, TemporalQueue, address_text
from services.portal.security import portal_key
from services.portal.settings import PortalSettings
from services.residents.matching import NHS, NI, identifiers_of, name_key
from services.residents.store import ResidentStore, address_key, names

__all__ = ["CaseworkerConsole", "IndexCandidates", "caseworker_console"]


@dataclass(frozen=True)
class CaseworkerConsole:
    """What `create_app` takes from the console: its router, and the adapters' errors that
    mean "not available just now" (for `unavailable`: the 503 page)."""

    router: APIRouter
    unavailable: tuple[type[Exception], ...]
    queue: TemporalQueue
    caseworkers: Caseworkers


@asynccontextmanager
async def caseworker_console(
    settings: PortalSettings,
    engine: AsyncEngine,
    *,
    consent_api_url: str,
    consent_api_key: bytes,
    temporal_ui_url: str | None = None,
) -> AsyncIterator[CaseworkerConsole]:
    """The console over the portal's database (`engine`: its store's), Temporal as
    `settings` says (connected on first use, so the portal starts while Temporal is down),
    the resident index's store, and the consent API. The Temporal UI link goes to
    `temporal_ui_url`, by default the embedded stack's UI."""
    temporal = await connect(settings, lazy=True)
    ui = temporal_ui_url or f"http://localhost:{settings.temporal_ui_port}"
    caseworkers = Caseworkers(engine, portal_key(settings))
    await caseworkers.create_tables()
    async with (
        await ResidentStore.open(settings.database_url("residents")) as residents,
        httpx.AsyncClient(base_url=consent_api_url, timeout=10.0) as consent_api,
    ):
        queue = TemporalQueue(temporal, ui, settings.temporal_namespace, IndexCandidates(residents))
        router = caseworker_routes(
            caseworkers=caseworkers,
            queue=queue,
            ledger=ConsentCaseworkerLedger(consent_api, consent_api_key),
            residents=queue,
        )
        yield CaseworkerConsole(router, (QueueUnavailable, LedgerUnavailable), queue, caseworkers)


class IndexCandidates:
    """`CandidateLookup` over the resident index's store (read only)."""

    def __init__(self, store: ResidentStore) -> None:
        self._store = store

    async def candidates(self, person: PersonDetails, keys: Sequence[str]) -> list[Candidate]:
        given_key, family_key = name_key(person.name)
        given = identifiers_of(person)
        found: list[Candidate] = []
        async with self._store.reading() as conn:
            held = {c.key: c for c in await ResidentStore._candidates(conn, list(keys))}
            for key in keys:
                candidate = held.get(key)
                if candidate is None or any(c.resident == key for c in found):
                    continue
                if not await ResidentStore.exists(conn, key):  # gone since (undone)
                    continue
                written = (
                    await conn.execute(
                        select(names.c.given_names, names.c.family_name)
                        .where(names.c.resident == key)
                        .order_by(names.c.id)
                    )
                ).all()
                address = await self._store.address_of(conn, key)
                fields = {
                    "given_names": _joined(r.given_names for r in written),
                    "family_name": _joined(r.family_name for r in written),
                    "date_of_birth": (
                        candidate.date_of_birth.isoformat() if candidate.date_of_birth else ""
                    ),
                    "address": address_text(address) if address is not None else "",
                    "nhs_number": candidate.identifiers.get(NHS, ""),
                    "national_insurance_number": candidate.identifiers.get(NI, ""),
                }
                matched: set[str] = set()
                if person.name.given_names and given_key in {g for g, _ in candidate.names}:
                    matched.add("given_names")
                if person.name.family_name and family_key in {f for _, f in candidate.names}:
                    matched.add("family_name")
                if (
                    person.date_of_birth is not None
                    and person.date_of_birth == candidate.date_of_birth
                ):
                    matched.add("date_of_birth")
                for kind, field in ((NHS, "nhs_number"), (NI, "national_insurance_number")):
                    if kind in given and candidate.identifiers.get(kind) == given[kind]:
                        matched.add(field)
                if person.address is not None and address is not None:
                    same_uprn = (
                        person.address.uprn is not None and person.address.uprn == address.uprn
                    )
                    same_lines = person.address.postcode == address.postcode and address_key(
                        person.address
                    ) == address_key(address)
                    if same_uprn or same_lines:
                        matched.add("address")
                found.append(
                    Candidate(
                        resident=key,
                        fields={name: value for name, value in fields.items() if value},
                        matched=frozenset(matched),
                    )
                )
        return found


def _joined(values: Iterable[str | None]) -> str:
    """Distinct non-empty values, in the order first recorded: `Ada / A.`."""
    return " / ".join(dict.fromkeys(v for v in values if v))
