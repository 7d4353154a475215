"""`python -m deploy.local.seed`: the example residents, then an entry in every council
register for the deceased of the death example, under the key the resident index gave them,
and their household's council tax account, electoral entries and benefit claims, on which
the death steps have real outcomes; seeding again adds nothing."""

from __future__ import annotations

from pathlib import Path

from deploy.local.seed import seed_demo_data
from services.benefits.activities import BenefitActivities
from services.benefits.store import BenefitStore
from services.common.council import CouncilSettings
from services.counciltax.activities import CouncilTaxActivities
from services.counciltax.store import CouncilTaxStore
from services.electoral.activities import ElectoralActivities
from services.electoral.store import ElectoralStore
from services.registers.store import (
    AssistedCollection,
    BlueBadge,
    LibraryCard,
    ParkingPermit,
    RegistersStore,
)
from services.residents.index import open_index
from services.residents.seed import seed_demo
from tests.support.council import action_of, keys


async def test_the_deceased_of_the_death_example_is_in_every_register(tmp_path: Path) -> None:
    settings = CouncilSettings(var_dir=tmp_path)
    assert await seed_demo_data(settings) == {
        "residents_matched": 12,
        "register_entries_added": 4,
        "council_tax_accounts_added": 1,
        "electoral_entries_added": 2,
        "benefit_claims_added": 3,  # the deceased's two, the birth example's mother's one
    }
    assert set((await seed_demo_data(settings)).values()) == {12, 0}

    index = await open_index(settings.database_url("residents"))
    try:
        deceased = (await seed_demo(index))["death-registered/deceased"].resident
    finally:
        await index.store.close()
    assert deceased is not None
    async with await RegistersStore.open(settings.database_url("registers")) as store:
        entries = await store.all_entries()
    assert [type(e) for e in entries] == [BlueBadge, LibraryCard, ParkingPermit, AssistedCollection]
    assert {e.holder if isinstance(e, ParkingPermit) else e.resident for e in entries} == {deceased}
    # The last address of the example, 12 Hypothetical Road, by its UPRN.
    assert {
        e.property_key for e in entries if isinstance(e, ParkingPermit | AssistedCollection)
    } == {"uprn:999000000012"}


async def test_the_death_examples_household_gets_real_outcomes_from_the_death_steps(
    tmp_path: Path,
) -> None:
    settings = CouncilSettings(var_dir=tmp_path)
    await seed_demo_data(settings)
    index = await open_index(settings.database_url("residents"))
    try:
        report = await seed_demo(index)
    finally:
        await index.store.close()
    deceased = report["death-registered/deceased"].resident
    spouse = report["death-registered/household_members[0]"].resident
    assert deceased is not None
    assert spouse is not None
    last = {
        "lines": ["12 Hypothetical Road"],
        "town": "Exampletown",
        "postcode": "AB4 6LN",
        "uprn": "999000000012",
    }
    dead = {
        "identity": {
            "name": {"given_names": "Imaginary Albert", "family_name": "Testworth"},
            "date_of_birth": "1938-02-14",
        },
        "death": {"date_of_death": "2025-08-07", "last_address": last},
    }
    left = {
        "identity": {
            "name": {"given_names": "Madeup Mary", "family_name": "Testworth"},
            "date_of_birth": "1941-11-03",
        },
        "household": {"age": 83, "other_adults": 0},
    }

    async with await CouncilTaxStore.open(settings.database_url("counciltax")) as store:
        council_tax = CouncilTaxActivities(store, keys())
        liability = await council_tax.record_death(
            action_of(council_tax, [(deceased, dead), (spouse, left)], deceased={deceased})
        )
    async with await BenefitStore.open(settings.database_url("benefits")) as store:
        benefits = BenefitActivities(store, keys())
        claims = await benefits.record_death(
            action_of(benefits, [(deceased, dead), (spouse, left)], deceased={deceased})
        )
    async with await ElectoralStore.open(settings.database_url("electoral")) as store:
        electoral = ElectoralActivities(store, keys())
        register = await electoral.record_death(
            action_of(electoral, [(deceased, dead)], deceased={deceased})
        )

    assert (liability.code, liability.references["account"]) == ("survivor_liable", "CT-DEMO000012")
    assert (claims.code, claims.references["claims"], claims.references["ended_on"]) == (
        "claims_ended",
        "CTR-DEMO000012,HB-DEMO000012",
        "2025-08-10",
    )
    assert (register.code, register.references["removed_on"]) == ("entry_removed", "2025-08-07")
