"""Synthetic register entries for tests and the demo, keyed by resident key.

    python -m services.registers.seed res_… [res_…]

gives each resident key not yet in any register one entry in every register: a blue badge,
a library card owing £2.40, and a resident parking permit and an assisted bin collection at
the last address of the deceased of `contracts/examples/death-registered.json` (by its
property key; the register holds no address).

Resident keys are made by the resident index, so the demo seeds the key of that deceased:
`python -m services.residents.seed` prints it (label `death-registered/deceased`), and
`python -m deploy.local.seed` seeds both in one go.
"""

from __future__ import annotations

import asyncio
import sys
from datetime import date
from pathlib import Path

import contracts
from contracts import DeathRegisteredV1, UkAddress, from_structured
from services.common.council import CouncilSettings, new_reference, property_key
from services.registers.store import (
    AssistedCollection,
    BlueBadge,
    Entry,
    LibraryCard,
    ParkingPermit,
    RegistersStore,
)

__all__ = [
    "BADGE_EXPIRES",
    "DEATH_EXAMPLE",
    "LIBRARY_CHARGES_PENCE",
    "death_example_address",
    "entries_for",
    "main",
    "seed_registers",
]

DEATH_EXAMPLE = Path(contracts.__file__).parent / "examples" / "death-registered.json"
BADGE_EXPIRES = date(2027, 3, 31)
LIBRARY_CHARGES_PENCE = 240


def death_example_address() -> UkAddress:
    """The last address of the deceased of the death example (synthetic)."""
    event = from_structured(DEATH_EXAMPLE.read_bytes())
    assert isinstance(event.data, DeathRegisteredV1)
    return event.data.deceased.last_address


def entries_for(resident: str, at: UkAddress) -> list[Entry]:
    """One entry in every register for `resident`, the dwelling ones at `at`."""
    where = property_key(at)
    return [
        BlueBadge(new_reference("BB"), resident, expires_on=BADGE_EXPIRES),
        LibraryCard(new_reference("LIB"), resident, charges_pence=LIBRARY_CHARGES_PENCE),
        ParkingPermit(new_reference("PP"), resident, where),
        AssistedCollection(new_reference("AC"), resident, where),
    ]


async def seed_registers(
    store: RegistersStore, residents: list[str], at: UkAddress | None = None
) -> int:
    """`entries_for` each of `residents` not yet in any register (so seeding again adds
    nothing), at `at`, by default the death example's last address; returns how many
    entries were added."""
    known = await store.known(residents)
    where = at if at is not None else death_example_address()
    new = [
        entry for r in dict.fromkeys(residents) if r not in known for entry in entries_for(r, where)
    ]
    return await store.add(new)


async def _seed(residents: list[str]) -> int:
    store = await RegistersStore.open(CouncilSettings().database_url("registers"))
    try:
        return await seed_registers(store, residents)
    finally:
        await store.close()


def main() -> None:
    if len(sys.argv) < 2:
        print("usage: python -m services.registers.seed res_… [res_…]", file=sys.stderr)
        raise SystemExit(2)
    added = asyncio.run(_seed(sys.argv[1:]))
    print(f"registers: {added} entries added")


if __name__ == "__main__":
    main()
