"""Synthetic entries on the electoral register for tests and the demo, keyed by resident
key.

`seed_register(store, people, at)` registers each of `people` not yet on the register (in
any entry, current or removed) at `at`: seeding again adds nothing. Resident keys are made
by the resident index, so the demo seeds the household of
`contracts/examples/death-registered.json` through `python -m deploy.local.seed`, which
reads their keys from the index.
"""

from __future__ import annotations

from datetime import date

from contracts.addresses import UkAddress
from contracts.people import PersonName
from services.common.council import new_reference
from services.electoral.store import ElectoralStore

__all__ = ["REGISTERED_SINCE", "seed_register"]

REGISTERED_SINCE = date(1990, 9, 1)


async def seed_register(
    store: ElectoralStore, people: list[tuple[str, PersonName]], at: UkAddress
) -> int:
    """An entry at `at` for each (resident key, name) not on the register yet; returns how
    many were added."""
    known = {entry.resident for entry in await store.entries()}
    return await store.add_entries(
        [
            (new_reference("EL"), resident, name, at, REGISTERED_SINCE)
            for resident, name in dict(people).items()
            if resident not in known
        ]
    )
