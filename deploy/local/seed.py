"""Demo data across services (synthetic people only), for a store the services use:

    python -m deploy.local.seed

seeds the example residents (`services.residents.seed`, safe to repeat), then gives the
deceased of `contracts/examples/death-registered.json` an entry in every council register
(`services.registers.seed`), so the death's register steps have something to act on. The
resident index makes the keys; only the composition root may read one service's answer into
another's store, so this lives here. Prints counts and labels, never names.
"""

from __future__ import annotations

import asyncio

from services.common.council import CouncilSettings
from services.common.logging import configure_logging
from services.registers.seed import seed_registers
from services.registers.store import RegistersStore
from services.residents.index import open_index
from services.residents.seed import seed_demo

__all__ = ["DECEASED_LABEL", "seed_demo_data"]

DECEASED_LABEL = "death-registered/deceased"


async def seed_demo_data(settings: CouncilSettings) -> dict[str, int]:
    """Seed every service's demo data; returns how many example people the index matched
    (or created) and how many register entries were added."""
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
    return added


def main() -> None:
    settings = CouncilSettings()
    configure_logging(settings.log_level, settings.log_format)
    for service, count in asyncio.run(seed_demo_data(settings)).items():
        print(f"{service}: {count}")


if __name__ == "__main__":
    main()
