"""Synthetic council tax accounts for tests and the demo, keyed by resident key.

`seed_account(store, people, at)` opens the demo account `CT-DEMO000012` at `at` (the last
address of the deceased of `contracts/examples/death-registered.json`, in the demo) with
each of `people` liable and counted as an adult, unless it is held already: seeding again
adds nothing. Resident keys are made by the resident index, so the demo seeds through
`python -m deploy.local.seed`, which reads them from the index.
"""

from __future__ import annotations

from contracts.addresses import UkAddress
from contracts.people import PersonName
from services.counciltax.store import CouncilTaxStore

__all__ = ["DEMO_ACCOUNT", "seed_account"]

DEMO_ACCOUNT = "CT-DEMO000012"


async def seed_account(
    store: CouncilTaxStore,
    people: list[tuple[str, PersonName]],
    at: UkAddress,
    reference: str = DEMO_ACCOUNT,
) -> int:
    """The open account `reference` at `at` with `people` (resident key, name) liable;
    returns 1 when added, 0 when it was there already."""
    added = await store.add_account(
        reference,
        at,
        adults=len(people),
        people=[(resident, name.model_dump_json()) for resident, name in people],
    )
    return int(added)
