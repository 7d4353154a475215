"""`python -m deploy.local.seed`: the example residents, then an entry in every council
register for the deceased of the death example, under the key the resident index gave them;
seeding again adds nothing."""

from __future__ import annotations

from pathlib import Path

from deploy.local.seed import seed_demo_data
from services.common.council import CouncilSettings
from services.registers.store import (
    AssistedCollection,
    BlueBadge,
    LibraryCard,
    ParkingPermit,
    RegistersStore,
)
from services.residents.index import open_index
from services.residents.seed import seed_demo


async def test_the_deceased_of_the_death_example_is_in_every_register(tmp_path: Path) -> None:
    settings = CouncilSettings(var_dir=tmp_path)
    assert await seed_demo_data(settings) == {
        "residents_matched": 12,
        "register_entries_added": 4,
    }
    assert (await seed_demo_data(settings))["register_entries_added"] == 0

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
