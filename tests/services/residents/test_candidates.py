"""The candidates the store loads for a match (`ResidentStore.candidates_for`): only the
residents who can change the decision, and with them the same decision as over the whole
index, on SQLite and on PostgreSQL."""

from __future__ import annotations

import itertools
import random
from collections import Counter
from collections.abc import AsyncIterator
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import insert, inspect, text

from contracts.people import PersonName
from contracts.residents import PersonDetails
from services.residents.matching import Candidate, decide, identifiers_of, name_key
from services.residents.store import ResidentStore, names, residents
from tests.services.residents.support import NHS_A, NHS_B, NHS_C, NI_A, NI_B, person
from tests.support.postgres import fresh_postgres_url

BORN = date(1984, 5, 17)
NEXT_DAY = date(1984, 5, 18)
OTHER_BIRTH = date(1990, 1, 2)


@pytest.fixture(params=["sqlite", "postgres"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[ResidentStore]:
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'residents.db'}"
    else:
        url = await fresh_postgres_url(request.getfixturevalue("postgres_socket_dir"))
    opened = await ResidentStore.open(url)
    yield opened
    await opened.close()


async def candidates(store: ResidentStore, who: PersonDetails) -> list[Candidate]:
    async with store.reading() as conn:
        return await store.candidates_for(
            conn, identifiers_of(who), name_key(who.name), who.date_of_birth
        )


# --- the same decision as over everyone ----------------------------------------------------

# Namesakes that differ in given names (initials, short forms, middle names, accents, none),
# in dates of birth (twins share one; some are not known) and in identifiers.
GIVEN = (
    "Samuel", "Sam", "S.", "Ada Grace", "Grace", "Ada", "Bea", "Zoë", "Zoe", "Tamsin", "Orla",
    "Wren", None,
)  # fmt: skip
FAMILIES = ("Marrowby", "Orrery")
BIRTHS = (BORN, NEXT_DAY, OTHER_BIRTH, *(date(2001, 3, day) for day in range(1, 6)), None)
HELD = (("nhs", NHS_A), ("nhs", NHS_B), ("ni", NI_A), ("ni", NI_B))


async def fill_namesakes(store: ResidentStore, count: int) -> list[str]:
    """`count` residents drawn from the pools above (seeded), a fifth of them known under a
    second name too; four of them, drawn at random, hold the identifiers of `HELD`."""
    rng = random.Random(7)  # synthetic people, reproducible
    keys = [f"res_namesake{n:04d}" for n in range(count)]
    holders = rng.sample(keys, len(HELD))
    async with store.writing() as conn:
        for key in keys:
            await store.insert_resident(conn, key, rng.choice(BIRTHS))
            family = FAMILIES[0] if rng.random() < 0.8 else FAMILIES[1]
            await store.add_name(
                conn, key, PersonName(given_names=rng.choice(GIVEN), family_name=family)
            )
            if rng.random() < 0.2:  # known under a second name too (a marriage, a nickname)
                await store.add_name(
                    conn,
                    key,
                    PersonName(given_names=rng.choice(GIVEN), family_name=rng.choice(FAMILIES)),
                )
        for key, (kind, value) in zip(holders, HELD, strict=True):
            await store.add_identifier(conn, key, kind, value)
    return keys


def people() -> list[PersonDetails]:
    """Every combination of the pools, as a request could name them (case and spacing
    varied), with no identifier, a held one, one nobody holds, or two held by two."""
    families = ("Marrowby", " MARROWBY ", "Orrery", "Quenby")
    births = (*BIRTHS, date(1970, 1, 1))
    held: tuple[dict[str, str], ...] = (
        {"nhs": NHS_A},
        {"nhs": NHS_C},
        {"ni": NI_A},
        {"nhs": NHS_B, "ni": NI_B},
    )
    made = []
    combinations = itertools.product((*GIVEN, "SAMUEL "), families, births)
    for n, (given, family, born) in enumerate(combinations):
        made.append(person(given, family, born))
        # And with identifiers, in turn (all of them with each name would be slow).
        ids = held[n % len(held)]
        made.append(person(given, family, born, nhs=ids.get("nhs"), ni=ids.get("ni")))
    return made


async def test_the_decision_is_the_one_over_every_resident(store: ResidentStore) -> None:
    keys = await fill_namesakes(store, 120)
    async with store.reading() as conn:
        everyone = await store._candidates(conn, keys)
    rng = random.Random(11)
    rules: Counter[str] = Counter()
    for who in people():
        narrowed = await candidates(store, who)
        # Side by side: none, or half the index (some of them this person's partial matches).
        for beside in (frozenset(), frozenset(rng.sample(keys, len(keys) // 2))):
            expected = decide(who, everyone, beside)
            assert decide(who, narrowed, beside) == expected, (who, beside)
            rules[expected.rule] += 1
    # Every clause of the rule was reached, several times: the sweep tests each of them.
    assert set(rules) == {
        "nhs_number",
        "ni_number",
        "conflicting_identifiers",
        "name_and_date_of_birth",
        "several_candidates",
        "name_without_date_of_birth",
        "partial_name_match",
        "no_candidate",
    }
    assert min(rules.values()) >= 5, rules


# --- only the few who matter, however common the family name ---------------------------------


async def test_a_common_family_name_loads_only_the_residents_who_can_change_the_decision(
    store: ResidentStore,
) -> None:
    async with store.writing() as conn:
        planted = {}
        for role, given, family, born in (
            ("same", "Ada", "Testworth", BORN),
            ("birth_unknown", "Ada", "Testworth", None),
            ("twin", "Bea", "Testworth", BORN),
            ("holder", "Quilla", "Orrery", OTHER_BIRTH),
            ("born_that_day", "Ada", "Orrery", BORN),
            ("born_another_day", "Ada", "Testworth", OTHER_BIRTH),
        ):
            planted[role] = f"res_planted_{role}"
            await store.insert_resident(conn, planted[role], born)
            await store.add_name(
                conn, planted[role], PersonName(given_names=given, family_name=family)
            )
        await store.add_identifier(conn, planted["holder"], "nhs", NHS_A)
        # Thousands of namesakes, each born on a day of their own, none that day.
        namesakes = [f"res_namesake{n:05d}" for n in range(3_000)]
        await conn.execute(
            insert(residents),
            [
                {"key": k, "date_of_birth": BORN + timedelta(days=1 + n)}
                for n, k in enumerate(namesakes)
            ],
        )
        await conn.execute(
            insert(names),
            [
                {
                    "resident": k,
                    "given_names": f"Given{n}",
                    "family_name": "Testworth",
                    "given_key": f"given{n}",
                    "family_key": "testworth",
                }
                for n, k in enumerate(namesakes)
            ],
        )

    with_birth = await candidates(store, person("ADA", "testworth", BORN, nhs=NHS_A))
    assert [c.key for c in with_birth] == sorted(
        planted[r] for r in ("same", "birth_unknown", "twin", "holder")
    )
    without_birth = await candidates(store, person("Ada", "Testworth"))
    assert [c.key for c in without_birth] == sorted(
        planted[r] for r in ("same", "birth_unknown", "born_another_day")
    )
    # Each candidate comes whole: every name and identifier it has.
    [holder] = [c for c in with_birth if c.key == planted["holder"]]
    assert (holder.identifiers, holder.names) == ({"nhs": NHS_A}, frozenset({("quilla", "orrery")}))


async def test_a_store_made_before_the_matching_indexes_gets_them_when_opened(
    store: ResidentStore,
) -> None:
    """As `create_all` made it before there were migrations: the family-name index, not
    matching's two, and no version table. Opened, it is stamped at the initial revision and
    migration 0002 makes the two and drops the one it replaced."""
    wanted = {"ix_residents_date_of_birth", "ix_resident_names_full"}
    async with store.engine.begin() as conn:
        for index in sorted(wanted):
            await conn.execute(text(f"DROP INDEX {index}"))
        await conn.execute(
            text("CREATE INDEX ix_resident_names_family ON resident_names (family_key)")
        )
        await conn.execute(text("DROP TABLE alembic_version_residents"))
    reopened = await ResidentStore.open(store.engine.url.render_as_string(hide_password=False))
    try:
        async with reopened.engine.connect() as conn:
            made = await conn.run_sync(
                lambda sync: {
                    ix["name"]
                    for table in ("residents", "resident_names")
                    for ix in inspect(sync).get_indexes(table)
                }
            )
        assert await reopened.revision() == "0002"
    finally:
        await reopened.close()
    assert wanted <= made
    assert "ix_resident_names_family" not in made
