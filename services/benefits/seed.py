"""Synthetic claims for tests and the demo, keyed by resident key.

    python -m services.benefits.seed                 # the demo claims below
    python -m services.benefits.seed res_… res_…     # one housing benefit claim each

Resident keys are made by the resident index, so to see a change of circumstances in the
demo, seed a claim for the key of a mover (`lifeevents` shows keys, never names).
`seed_death_example(store, deceased)` gives the deceased of
`contracts/examples/death-registered.json` a housing benefit and a council tax reduction
claim, and `seed_birth_example(store, parent)` the first parent of
`contracts/examples/birth-registered.json` a council tax reduction claim (fixed references,
so seeding again adds nothing); `python -m deploy.local.seed` does so with the keys the
resident index gave them.
"""

from __future__ import annotations

import asyncio
import sys
from datetime import date

from services.benefits.store import BenefitStore, Claim, ClaimKind
from services.common.council import CouncilSettings, new_reference

__all__ = [
    "BIRTH_EXAMPLE_CLAIM",
    "DEATH_EXAMPLE_CLAIMS",
    "DEMO_CLAIMS",
    "main",
    "seed_birth_example",
    "seed_claims",
    "seed_death_example",
]

DEMO_CLAIMS: tuple[Claim, ...] = (
    Claim("HB-DEMO000001", "res_demoClaimant000000001", "housing_benefit", date(2023, 4, 3)),
    Claim("CTR-DEMO00001", "res_demoClaimant000000001", "council_tax_reduction", date(2023, 4, 3)),
    Claim("CTR-DEMO00002", "res_demoClaimant000000002", "council_tax_reduction", date(2024, 9, 30)),
)


# (reference, kind) of the claims the deceased of the death example held.
DEATH_EXAMPLE_CLAIMS: tuple[tuple[str, ClaimKind], ...] = (
    ("HB-DEMO000012", "housing_benefit"),
    ("CTR-DEMO000012", "council_tax_reduction"),
)

# The claim of the birth example's first parent: a new child changes the award.
BIRTH_EXAMPLE_CLAIM = "CTR-DEMO000021"


async def seed_death_example(store: BenefitStore, deceased: str) -> int:
    """The death example's claims, held by `deceased`; returns how many were added."""
    return await store.add_claims(
        [
            Claim(reference, deceased, kind, date(2019, 4, 1))
            for reference, kind in DEATH_EXAMPLE_CLAIMS
        ]
    )


async def seed_birth_example(store: BenefitStore, parent: str) -> int:
    """The birth example's household's claim, held by `parent`; returns how many were added."""
    claim = Claim(BIRTH_EXAMPLE_CLAIM, parent, "council_tax_reduction", date(2022, 6, 6))
    return await store.add_claims([claim])


async def seed_claims(store: BenefitStore, residents: list[str] | None = None) -> int:
    """The demo claims, or one housing benefit claim for each of `residents`."""
    claims = (
        [Claim(new_reference("HB"), r, "housing_benefit", date(2024, 1, 8)) for r in residents]
        if residents
        else list(DEMO_CLAIMS)
    )
    return await store.add_claims(claims)


async def _seed(residents: list[str]) -> int:
    store = await BenefitStore.open(CouncilSettings().database_url("benefits"))
    try:
        return await seed_claims(store, residents)
    finally:
        await store.close()


def main() -> None:
    added = asyncio.run(_seed(sys.argv[1:]))
    print(f"benefits: {added} claims added")


if __name__ == "__main__":
    main()
