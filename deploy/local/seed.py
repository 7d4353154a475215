"""Demo data across services (synthetic people only), for a store the services use:

    python -m deploy.local.seed

seeds the example residents (`services.residents.seed`, safe to repeat), then gives the
deceased of `contracts/examples/death-registered.json` an entry in every council register
(`services.registers.seed`), so the death's register steps have something to act on; and
gives their household at 12 Hypothetical Road (the deceased and their spouse) a council tax
account with both liable (`services.counciltax.seed`), both an entry on the electoral
register (`services.electoral.seed`), and the deceased a housing benefit and a council tax
reduction claim (`services.benefits.seed`), so the council tax, benefits and electoral
steps of the death have real outcomes too (the spouse survives: the account passes to them
and the discount is offered). The birth example's mother gets a council tax reduction
claim, so a birth into that household is offered the review of its award. The resident
index makes the keys; only the composition root may read one service's answer into
another's store, so this lives here. Prints counts and labels, never names.
"""

from __future__ import annotations

import asyncio

from contracts import DeathRegisteredV1, from_structured
from contracts.people import PersonName
from contracts.residents import MatchResult
from services.benefits.seed import seed_birth_example, seed_death_example
from services.benefits.store import BenefitStore
from services.common.council import CouncilSettings
from services.common.logging import configure_logging
from services.counciltax.seed import seed_account
from services.counciltax.store import CouncilTaxStore
from services.electoral.seed import seed_register
from services.electoral.store import ElectoralStore
from services.registers.seed import DEATH_EXAMPLE, seed_registers
from services.registers.store import RegistersStore
from services.residents.index import open_index
from services.residents.seed import seed_demo

__all__ = ["BIRTH_PARENT_LABEL", "DECEASED_LABEL", "seed_demo_data"]

DECEASED_LABEL = "death-registered/deceased"
BIRTH_PARENT_LABEL = "birth-registered/parents[0]"


async def seed_demo_data(settings: CouncilSettings) -> dict[str, int]:
    """Seed every service's demo data; returns how many example people the index matched
    (or created) and how many register entries, council tax accounts, electoral entries and
    benefit claims were added."""
    index = await open_index(settings.database_url("residents"))
    try:
        report = await seed_demo(index)
    finally:
        await index.store.close()
    deceased = report[DECEASED_LABEL].resident
    added = {"residents_matched": len(report)}
    async with await RegistersStore.open(settings.database_url("registers")) as registers:
        added["register_entries_added"] = await seed_registers(
            registers, [deceased] if deceased else []
        )
    added |= await _seed_death_household(settings, report)
    mother = report[BIRTH_PARENT_LABEL].resident
    async with await BenefitStore.open(settings.database_url("benefits")) as benefits:
        added["benefit_claims_added"] += await seed_birth_example(benefits, mother) if mother else 0
    return added


async def _seed_death_household(
    settings: CouncilSettings, report: dict[str, MatchResult]
) -> dict[str, int]:
    """The death example's household in council tax, electoral services and benefits."""
    death = from_structured(DEATH_EXAMPLE.read_bytes()).data
    assert isinstance(death, DeathRegisteredV1)
    home = death.deceased.last_address
    named: list[tuple[str, PersonName]] = [(DECEASED_LABEL, death.deceased.name)] + [
        (f"death-registered/household_members[{n}]", member.name)
        for n, member in enumerate(death.household_members or ())
    ]
    household = [
        (key, name) for label, name in named if (key := report[label].resident) is not None
    ]
    deceased = report[DECEASED_LABEL].resident
    added: dict[str, int] = {}
    async with await CouncilTaxStore.open(settings.database_url("counciltax")) as council_tax:
        added["council_tax_accounts_added"] = (
            await seed_account(council_tax, household, home) if household else 0
        )
    async with await ElectoralStore.open(settings.database_url("electoral")) as electoral:
        added["electoral_entries_added"] = await seed_register(electoral, household, home)
    async with await BenefitStore.open(settings.database_url("benefits")) as benefits:
        added["benefit_claims_added"] = (
            await seed_death_example(benefits, deceased) if deceased else 0
        )
    return added


def main() -> None:
    settings = CouncilSettings()
    configure_logging(settings.log_level, settings.log_format)
    for service, count in asyncio.run(seed_demo_data(settings)).items():
        print(f"{service}: {count}")


if __name__ == "__main__":
    main()
