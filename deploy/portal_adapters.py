"""The portal's adapters over other services' stores: the resident index, the inbox and
the resident's letter preferences.

`services.portal` imports no other service (import-linter holds it to that); it asks for
what it needs through `services.portal.ports`. Here, in the composition root, three of those
ports are served from the stores of the services that own the data:

- `IndexDirectory` (`ports.ResidentDirectory`) over the resident index's store, through the
  index's own code (`services.residents.index.ResidentIndex`): the contact plan is the very
  method the `residents.contact_for` activity calls, and a preference change the method the
  `residents.set_preferences` activity calls, so neither rule is written twice;
- `NotificationInbox` (`ports.Inbox`) over the notification service's store (its `inbox`
  read, nothing else);
- `NotificationLetterPreferences` (`ports.LetterPreferences`) over the same store: its
  `large_print` read and `set_large_print` write, the very record its letter printer reads,
  so a choice made in the portal is the one the next letter is printed with.

In production these would be the services' own read APIs (the index and the notification
service answering the portal over HTTP, each behind its own authorisation), and the portal
would hold no credentials for their databases. Opening their stores from the portal
process is acceptable for now because the use is read-mostly (two writes, each a
resident's own choice: their channel preferences, through the index's writer lock, which
serialises writers across processes as it does within one; and large print, one short
transaction whose first statement writes, so SQLite makes it wait for the notification
worker's writer rather than fail), and it goes through the services' own store and index
classes, so the schema and the rules live in one place, and a change to either breaks
these adapters' tests rather than the portal in use. The embedded default keeps one SQLite
file per service under `var/` (WAL, so readers run beside the writer); `Settings`
`database_url(service)` names each, so PostgreSQL works the same.

Nothing here logs personal data: no e-mail address, phone number or resident key.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass

import structlog
from pydantic import TypeAdapter, ValidationError

from contracts import EmailAddress, PhoneNumber
from contracts.notifications import InboxMessage
from contracts.residents import ContactPlan, PreferenceUpdate
from services.common.settings import Settings
from services.notifications.store import NotificationStore
from services.residents.index import ResidentIndex, ResidentIndexError
from services.residents.store import ResidentStore

__all__ = [
    "IndexDirectory",
    "NotificationInbox",
    "NotificationLetterPreferences",
    "PortalStores",
    "portal_stores",
]

log = structlog.get_logger(__name__)

_email: TypeAdapter[str] = TypeAdapter(EmailAddress)
_phone: TypeAdapter[str] = TypeAdapter(PhoneNumber)


class IndexDirectory:
    """`ports.ResidentDirectory` over the resident index."""

    def __init__(self, index: ResidentIndex, inbox: NotificationInbox | None = None) -> None:
        self._index = index
        self._store = index.store
        self._inbox = inbox

    async def resident_with_email(self, email: str) -> str | None:
        """The one living resident whose e-mail address is this one, normalised as the index
        stores it (`contracts.EmailAddress`), else None. Several living holders (a shared
        address) is None too: the portal cannot tell which of them is signing in. One who
        has died is not a holder, so a survivor who shared an address with them still
        signs in."""
        wanted = _normalised(_email, email)
        if wanted is None:
            return None
        async with self._store.reading() as conn:
            holders = await self._store.living_with_email(conn, wanted)
        return _the_one(holders, "email")

    async def resident_with_phone(self, phone: str) -> str | None:
        """As `resident_with_email`, by phone number (normalised to E.164 as stored)."""
        wanted = _normalised(_phone, phone)
        if wanted is None:
            return None
        async with self._store.reading() as conn:
            holders = await self._store.living_with_phone(conn, wanted)
        return _the_one(holders, "phone")

    async def contact_plan(self, resident: str) -> ContactPlan:
        """What `residents.contact_for` answers. `LookupError` for a key the index does not
        hold."""
        try:
            return await self._index.contact_for(resident)
        except ResidentIndexError as refused:
            raise LookupError(refused.code) from None

    async def set_preferences(self, update: PreferenceUpdate) -> None:
        """As `residents.set_preferences` does. `LookupError` for a key the index does not
        hold."""
        try:
            await self._index.set_preferences(update)
        except ResidentIndexError as refused:
            raise LookupError(refused.code) from None

    async def life_events_of(self, resident: str) -> Sequence[str]:
        """The workflows that recorded a step about the resident in the index (matched them,
        moved them, recorded their birth or death, …), newest first: by when each first
        did; then those that wrote to them and recorded nothing about them in the index (a
        birth's parents, a death's survivors, told and asked, while the index records the
        child and the deceased), newest message first. Whether each is a life event of
        theirs is `ports.LifeEvents`' to check."""
        async with self._store.reading() as conn:
            # No workflow is called "": nothing is excluded.
            oldest_first = await self._store.workflows_about(conn, resident, excluding="")
        found = oldest_first[::-1]
        if self._inbox is not None:
            written = (m.workflow_id for m in await self._inbox.messages(resident))
            found.extend(w for w in dict.fromkeys(written) if w not in found)
        return found


class NotificationInbox:
    """`ports.Inbox` over the notification service's store."""

    def __init__(self, store: NotificationStore) -> None:
        self._store = store

    async def messages(self, resident: str) -> Sequence[InboxMessage]:
        """Newest first, whatever order the store reads them in."""
        found = await self._store.inbox(resident)
        return sorted(found, key=lambda m: (m.created_at, m.reference), reverse=True)


class NotificationLetterPreferences:
    """`ports.LetterPreferences` over the notification service's store."""

    def __init__(self, store: NotificationStore) -> None:
        self._store = store

    async def large_print(self, resident: str) -> bool:
        """False for a resident who never chose, as the printer takes it."""
        return await self._store.large_print(resident)

    async def set_large_print(self, resident: str, on: bool) -> None:
        await self._store.set_large_print(resident, on)


@dataclass(frozen=True)
class PortalStores:
    directory: IndexDirectory
    inbox: NotificationInbox
    letter_preferences: NotificationLetterPreferences


@asynccontextmanager
async def portal_stores(settings: Settings) -> AsyncIterator[PortalStores]:
    """The adapters on the services' stores as `settings` names them, open while the block
    runs (missing tables are created, as each service would on its first start)."""
    async with (
        await ResidentStore.open(settings.database_url("residents")) as residents,
        await NotificationStore.open(settings.database_url("notifications")) as notifications,
    ):
        inbox = NotificationInbox(notifications)
        yield PortalStores(
            directory=IndexDirectory(ResidentIndex(residents), inbox),
            inbox=inbox,
            letter_preferences=NotificationLetterPreferences(notifications),
        )


def _normalised(adapter: TypeAdapter[str], value: str) -> str | None:
    """`value` as the contracts normalise it, or None when it is not one at all."""
    try:
        return adapter.validate_python(value.strip())
    except (ValidationError, ValueError):
        return None


def _the_one(holders: Sequence[str], kind: str) -> str | None:
    if len(holders) > 1:
        # A contact detail shared by living residents: nobody signs in with it. A count
        # and a kind, never the detail.
        log.info("portal.contact_shared", kind=kind, holders=len(holders))
        return None
    return holders[0] if holders else None
