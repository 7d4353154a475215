"""The same store code on PostgreSQL (asyncpg): matching, the writer lock under concurrency,
moves, births, the demo seed and the household a death leaves."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import date

from contracts.residents import MoveRecord, SupportFlag
from services.residents.index import open_index
from services.residents.seed import seed_demo
from tests.services.residents.support import NHS_A, NHS_B, address, person
from tests.services.residents.test_births import birth, child, key_of, parents
from tests.services.residents.test_death_household import (
    DECEASED,
    EXPECTED,
    death,
    the_household,
)

BORN = date(1984, 5, 17)


async def test_matching_rules_and_moves_on_postgres(postgres_url: str) -> None:
    index = await open_index(postgres_url)
    try:
        [created] = await index.match_people(
            [person("Ἀθηνᾶ", "Ξενοφῶντος", BORN, nhs=NHS_A, address=address(1))]
        )
        assert created.outcome == "created"
        results = await index.match_people(
            [
                person("ἀθηνᾶ", "ΞΕΝΟΦΩ͂ΝΤΟΣ", BORN),
                person("Ἀθηνᾶ", "Ξενοφῶντος", BORN, nhs=NHS_B),
                person("Ἀθηνᾶ", "Ξενοφῶντος"),
                person("Other", "Ξενοφῶντος", BORN),  # a twin, beside her
            ]
        )
        assert [(r.outcome, r.rule) for r in results] == [
            ("matched", "name_and_date_of_birth"),
            ("doubtful", "conflicting_identifiers"),
            ("doubtful", "name_without_date_of_birth"),
            ("created", "no_candidate"),
        ]
        [initial] = await index.match_people([person("Ἀ.", "ξενοφῶντος", BORN)])
        assert (initial.outcome, initial.rule) == ("doubtful", "partial_name_match")
        assert created.resident is not None
        household = await index.record_move(
            MoveRecord(
                residents=(created.resident,),
                new_address=address(2, uprn="999000000002"),
                move_date=date(2026, 3, 1),
                direction="within",
                workflow_id="wf-pg",
                step="move",
            )
        )
        assert household.residents == (created.resident,)
        seeded = await seed_demo(index)
        assert Counter(r.outcome for r in seeded.values()) == {"created": 12}
    finally:
        await index.store.close()


async def test_concurrent_matches_create_one_resident_on_postgres(postgres_url: str) -> None:
    indexes = [await open_index(postgres_url) for _ in range(3)]
    try:
        someone = person("Quilla", "Marrowby", BORN)
        results = await asyncio.gather(
            *(ix.match_people([someone]) for ix in indexes for _ in range(4))
        )
        assert Counter(r.outcome for [r] in results) == {"created": 1, "matched": 11}
        assert len({r.resident for [r] in results}) == 1
    finally:
        for ix in indexes:
            await ix.store.close()


async def test_household_after_death_on_postgres(postgres_url: str) -> None:
    index = await open_index(postgres_url)
    try:
        await the_household(index)
        assert await index.household_after_death(death()) == EXPECTED
        await index.flag_support(
            SupportFlag(resident=DECEASED, reason="bereaved", workflow_id="W0", step="flag")
        )
        household = await index.household_after_death(death())
        assert household.workflows == ("W1", "W0")  # oldest first, not alphabetical
    finally:
        await index.store.close()


async def test_births_and_reminders_on_postgres(postgres_url: str) -> None:
    index = await open_index(postgres_url)
    try:
        mother, father = await parents(index)
        wren = key_of(await child(index, "W-wren", given="Wren"))
        sorrel = key_of(await child(index, "W-sorrel", given="Sorrel"))
        await index.record_birth(birth(sorrel, (mother, father), "W-sorrel"))
        first = await index.record_birth(birth(wren, (mother, father), "W-wren"))
        assert first.recorded_by == "W-wren"
        assert set(first.residents) == {mother, father, wren, sorrel}
        # The same birth of Wren reported again: the first workflow holds the reminders.
        again = await index.record_birth(birth(wren, (mother, father), "W-again"))
        assert again.recorded_by == "W-wren"
        assert await index.reminders_for([wren, mother, sorrel]) == ["W-sorrel", "W-wren"]
    finally:
        await index.store.close()
