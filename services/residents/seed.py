"""Demo residents: the synthetic people of `contracts/examples`, put through the index.

    python -m services.residents.seed      # into the configured store (LIFEEVENTS_...)

What it does, per example event (in file-name order):

- `address-changed-*`: each mover is matched at the old address, then `record_move` moves
  them to the new one (or away, for `out_of`);
- `birth-registered*`: each parent is matched at their address, the child at the first
  parent's address (the place of birth is not a home);
- `death-registered`: the deceased and the household members at the last address, and the
  informant at theirs; then the deceased is marked deceased. Next of kin repeat the
  informant, and executors are professionals, so neither is seeded.

Seeding an empty store creates 12 residents: households of three at UPRN 999000000001
(the Fictionalson family) and at 2 Placeholder Road, YO9 8WX (the Unicode-named family),
Pat and Robin Placeholder moved to UPRN 999000000044, a deceased resident whose spouse is
the household left at 12 Hypothetical Road, and one resident who moved out of the area to an
address not known. Seeding again creates nobody: everyone with a date of birth or an
identifier matches, and the four people the examples name without either match doubtfully,
as the rule says (the report shows it). Moves and flags are keyed `seed/<event id>`, so they
are not applied twice either.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import contracts
from contracts import (
    AddressChangedV1,
    BirthRegisteredV1,
    CloudEvent,
    DeathRegisteredV1,
    Payload,
    from_structured,
)
from contracts.residents import DeathRecord, MatchResult, MoveRecord, PersonDetails
from services.common.logging import configure_logging
from services.common.settings import Settings
from services.residents.index import ResidentIndex, open_index

__all__ = ["EXAMPLES_DIR", "seed_demo"]

EXAMPLES_DIR = Path(contracts.__file__).parent / "examples"


def _people(data: Payload) -> Iterator[tuple[str, PersonDetails]]:
    """(role label, details) for each person the seed records from one payload."""
    if isinstance(data, AddressChangedV1):
        for number, mover in enumerate(data.movers):
            yield f"movers[{number}]", PersonDetails.of(mover, data.old_address)
    elif isinstance(data, BirthRegisteredV1):
        for number, parent in enumerate(data.parents):
            yield f"parents[{number}]", PersonDetails.of(parent)
        home = data.parents[0].address if data.parents else None
        yield "child", PersonDetails.of(data.child, home)
    elif isinstance(data, DeathRegisteredV1):
        deceased = data.deceased
        yield "deceased", PersonDetails.of(deceased, deceased.last_address)
        for number, member in enumerate(data.household_members or ()):
            yield f"household_members[{number}]", PersonDetails.of(member, deceased.last_address)
        yield "informant", PersonDetails.of(data.informant)


def _examples(examples_dir: Path) -> list[tuple[str, CloudEvent[Payload]]]:
    """(file stem, event) for each example, in file-name order (a few small local files)."""
    return [
        (path.stem, from_structured(path.read_bytes()))
        for path in sorted(examples_dir.glob("*.json"))
    ]


async def seed_demo(
    index: ResidentIndex, examples_dir: Path = EXAMPLES_DIR
) -> dict[str, MatchResult]:
    """Seed the example people; returns each one's match, labelled `<file stem>/<role>`
    (e.g. `death-registered/deceased`). Labels name roles, never people."""
    report: dict[str, MatchResult] = {}
    for stem, event in _examples(examples_dir):
        workflow_id = f"seed/{event.id}"
        labelled = list(_people(event.data))
        results = await index.match_people([details for _, details in labelled])
        for (role, _), result in zip(labelled, results, strict=True):
            report[f"{stem}/{role}"] = result
        data = event.data
        if isinstance(data, AddressChangedV1):
            movers = tuple(r.resident for r in results if r.resident is not None)
            if movers:
                await index.record_move(
                    MoveRecord(
                        residents=movers,
                        new_address=data.new_address,
                        move_date=data.move_date,
                        direction=data.direction,
                        workflow_id=workflow_id,
                        step="record_move",
                    )
                )
        elif isinstance(data, DeathRegisteredV1) and results[0].resident is not None:
            await index.mark_deceased(
                DeathRecord(
                    resident=results[0].resident,
                    date_of_death=data.deceased.date_of_death,
                    workflow_id=workflow_id,
                    step="mark_deceased",
                )
            )
    return report


async def _main() -> None:
    settings = Settings()
    configure_logging(settings.log_level, settings.log_format)
    index = await open_index(settings.database_url("residents"))
    try:
        report = await seed_demo(index)
    finally:
        await index.store.close()
    for label, result in report.items():
        print(f"{label:<45} {result.outcome:<9} {result.rule:<28} {result.resident or '-'}")


if __name__ == "__main__":
    asyncio.run(_main())
