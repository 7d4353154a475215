"""Births on the real stack, every service running under `lifeevents run`.

1. A birth into the demo household whose mother receives council tax reduction (seeded by
   `python -m deploy.local.seed`). The father is registered without a date of birth, so
   the index's match of him is doubtful and a caseworker links him, each time. The family
   is offered a library card for the child and the review of their award, accepts both,
   and gets the early-years information unasked;
   the child is added to the claim, has a card with a responsible adult and is on the
   early-years list; every dated step waits for its day; the ledger shows each share.
2. Twins registered as two events: two children, siblings in the parents' household, each
   with their own workflow, offers and reminders.
3. The same three events again change nothing; the first birth reported again by another
   source is left to the workflow that has it.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import Client

from contracts import CloudEvent, from_structured
from contracts.temporal import workflow_id_for
from contracts.timeline import Confirmation, MatchDecision, StepStatus, Timeline
from services.benefits.seed import BIRTH_EXAMPLE_CLAIM
from tests.deploy.local.running import (
    BIN,
    REPO_ROOT,
    handle_for,
    lifeevents_running,
    publish,
    rows,
    until,
)

BIRTH = json.loads((REPO_ROOT / "contracts/examples/birth-registered.json").read_text())
OFFERS = ("library-card", "benefits-review")
# The days each dated step falls on, by the English rules, written out by hand: for the
# example's child, born 1 September 2025, and for twins born 20 November 2026.
DUE = {
    "2025-09-01": {
        "two-year-old-funding": "2028-01-01",
        "three-year-old-entitlement": "2029-01-01",
        "reception-window-opens": "2029-09-01",
        "reception-window-closing": "2030-01-01",
    },
    "2026-11-20": {
        "two-year-old-funding": "2029-01-01",
        "three-year-old-entitlement": "2030-01-01",
        "reception-window-opens": "2030-09-01",
        "reception-window-closing": "2031-01-01",
    },
}


def birth(given_names: str, born: str, nhs_number: str, **event: Any) -> CloudEvent[Any]:
    data = {
        **BIRTH["data"],
        "child": {
            **BIRTH["data"]["child"],
            "name": {**BIRTH["data"]["child"]["name"], "given_names": given_names},
            "date_of_birth": born,
            "nhs_number": nhs_number,
        },
        "registration": {**BIRTH["data"]["registration"], "registered_on": born},
    }
    return from_structured({**BIRTH, "id": str(uuid.uuid4()), "data": data, **event})


def outcomes(seen: Timeline) -> dict[str, str]:
    return {e.step: f"{e.status.value}:{e.outcome or e.reason}" for e in seen.entries}


def select(var: Path, service: str, query: str, *args: Any) -> list[tuple[Any, ...]]:
    with sqlite3.connect(var / service / f"{service}.db") as connection:
        return [tuple(row) for row in connection.execute(query, args).fetchall()]


async def seed(env: dict[str, str]) -> None:
    seeding = await asyncio.create_subprocess_exec(
        str(BIN / "python"), "-m", "deploy.local.seed", env=env, cwd=REPO_ROOT
    )
    assert await seeding.wait() == 0


def key_of(var: Path, person: dict[str, Any]) -> str:
    """The key the resident index holds someone under, found by their name and birth date."""
    [(key,)] = select(
        var,
        "residents",
        "SELECT key FROM residents JOIN resident_names ON resident = key "
        "WHERE given_names = ? AND family_name = ? AND date_of_birth IS ?",
        person["name"]["given_names"],
        person["name"]["family_name"],
        person.get("date_of_birth"),
    )
    return str(key)


async def link_the_father(client: Client, event: CloudEvent[Any], father: str) -> None:
    """The example's father has no date of birth: the index holds someone who may be him,
    and a caseworker says it is (he is the third person matched: child, mother, father)."""
    await until(client, event, lambda t: t.caseworker_tasks == ["match:2"])
    await handle_for(client, event).execute_update(
        "decide_match", MatchDecision(mover=2, decision="link", resident=father)
    )


async def accept_the_offers(client: Client, event: CloudEvent[Any]) -> Timeline:
    """Both offers accepted; the timeline once only the years remain."""
    await until(
        client,
        event,
        lambda t: all(statuses(t).get(o) == "waiting_for_resident" for o in OFFERS),
    )
    for offer in OFFERS:
        await handle_for(client, event).execute_update(
            "confirm", Confirmation(step=offer, accept=True)
        )
    return await until(client, event, lambda t: t.stage == "scheduled")


def statuses(seen: Timeline) -> dict[str, str]:
    return {e.step: e.status.value for e in seen.entries}


def involved(seen: Timeline, step: str) -> set[str]:
    entry = next(e for e in seen.entries if e.step == step)
    return {p.resident for p in entry.people if p.status is StepStatus.DONE}


@pytest.mark.stack
async def test_births_on_the_real_stack(
    cli_env: Callable[..., dict[str, str]], tmp_path: Path
) -> None:
    env = cli_env(LIFEEVENTS_LOG_FORMAT="json")
    var = Path(env["LIFEEVENTS_VAR_DIR"])
    bootstrap = env["LIFEEVENTS_KAFKA_BOOTSTRAP_SERVERS"]
    await seed(env)
    async with lifeevents_running(env, tmp_path / "run.out") as client:
        first = await _a_birth_into_a_household_on_council_tax_reduction(client, var, bootstrap)
        twins = await _twins_registered_as_two_events(client, var, bootstrap)
        await _the_same_births_again(client, var, bootstrap, first, twins)


async def _a_birth_into_a_household_on_council_tax_reduction(
    client: Client, var: Path, bootstrap: str
) -> CloudEvent[Any]:
    first = birth("Testina Example", "2025-09-01", BIRTH["data"]["child"]["nhs_number"])
    mother, father = (key_of(var, p) for p in BIRTH["data"]["parents"])
    await publish(bootstrap, first)
    await link_the_father(client, first, father)
    seen = await accept_the_offers(client, first)
    child = key_of(var, first.data.child.model_dump(mode="json"))
    assert involved(seen, "library-card") == {child, mother, father}
    dated = DUE["2025-09-01"]
    assert {step: o for step, o in outcomes(seen).items() if step not in dated} == {
        "library-card": "done:card_issued",
        "early-years": "done:registered",
        "benefits-review": "done:change_recorded",
        "school-places-elsewhere": "waiting:",
    }
    for step, day in dated.items():
        [entry] = [e for e in seen.entries if e.step == step]
        assert (entry.status, entry.references["due"]) == (StepStatus.WAITING, day)

    # The stores, as the services left them.
    assert select(
        var, "benefits", "SELECT claim, resident, effective_from FROM benefit_dependants"
    ) == [(BIRTH_EXAMPLE_CLAIM, child, "2025-09-01")]
    [(card, adult)] = select(
        var, "registers", "SELECT card, responsible_adult FROM reg_junior_cards"
    )
    assert adult in {mother, father}
    assert select(
        var, "registers", "SELECT resident FROM reg_library_cards WHERE reference = ?", card
    ) == [(child,)]
    assert select(var, "schools", "SELECT resident, date_of_birth FROM school_early_years") == [
        (child, "2025-09-01")
    ]
    # The parents are asked about each offer that waits for their answer, and told of each
    # offer; the child is never written to.
    told = select(var, "notifications", "SELECT resident, template, step FROM notification_inbox")
    assert sorted(told) == sorted(
        [
            *(
                (parent, f"birth.{step}", step)
                for parent in (mother, father)
                for step in ("library-card", "early-years", "benefits-review")
            ),
            *(
                (parent, "waiting.question", f"{step}:asked")
                for parent in (mother, father)
                for step in ("library-card", "benefits-review")
            ),
        ]
    )
    # The child's ledger: each share of their data, to the service that acted on it (the
    # benefits service twice: asked whether there is a claim, then to add the child to it).
    shared = select(
        var,
        "consent",
        "SELECT recipient, purpose, categories FROM ledger "
        "WHERE resident = ? AND kind = 'share' AND outcome = 'completed'",
        child,
    )
    assert sorted(shared) == [
        ("benefits", "housing-benefit-review", "birth,household,identity"),
        ("benefits", "housing-benefit-review", "birth,household,identity"),
        ("council-registers", "library-membership", "birth,identity"),
        ("school-admissions", "early-years-planning", "address,birth,identity"),
    ]
    return first


async def _twins_registered_as_two_events(
    client: Client, var: Path, bootstrap: str
) -> list[CloudEvent[Any]]:
    twins = [
        birth(name, "2026-11-20", nhs)
        for name, nhs in (("Ada Example", "9990000204"), ("Bea Example", "9990000212"))
    ]
    for event in twins:
        await publish(bootstrap, event)
    mother, father = (key_of(var, p) for p in BIRTH["data"]["parents"])
    keys = []
    for event in twins:
        await link_the_father(client, event, father)
        seen = await accept_the_offers(client, event)
        twin = key_of(var, event.data.child.model_dump(mode="json"))
        keys.append(twin)
        assert involved(seen, "benefits-review") == {twin, mother, father}
        for step, day in DUE["2026-11-20"].items():
            [entry] = [e for e in seen.entries if e.step == step]
            assert entry.references["due"] == day
    # Two children, however alike: siblings at the parents' address, each on the claim.
    assert len(set(keys)) == 2
    home = "SELECT resident FROM resident_residences WHERE uprn = ("
    home += "SELECT uprn FROM resident_residences WHERE resident = ?)"
    assert {*keys, mother, father} <= {r for (r,) in select(var, "residents", home, mother)}
    dependants = select(var, "benefits", "SELECT resident FROM benefit_dependants")
    assert {*keys} <= {r for (r,) in dependants}
    assert len(dependants) == 3
    return twins


async def _the_same_births_again(
    client: Client,
    var: Path,
    bootstrap: str,
    first: CloudEvent[Any],
    twins: list[CloudEvent[Any]],
) -> None:
    counts = _counts(var)
    runs = await _runs(client, first, *twins)
    for event in (first, *twins):
        await publish(bootstrap, event)
    # The first birth reported by another source: left to the workflow that has it.
    again = birth(
        "Testina Example",
        "2025-09-01",
        BIRTH["data"]["child"]["nhs_number"],
        source="/registrar/another-office",
    )
    await publish(bootstrap, again)
    father = key_of(var, BIRTH["data"]["parents"][1])
    await link_the_father(client, again, father)
    seen = await until(client, again, lambda t: t.stage == "complete")
    assert set(outcomes(seen).values()) == {"skipped:already_recorded"}
    assert {e.references["handled_by"] for e in seen.entries} == {
        workflow_id_for(first.source, first.id)
    }
    await asyncio.sleep(10)
    assert _counts(var) == counts
    assert await _runs(client, first, *twins) == runs  # no workflow started again


async def _runs(client: Client, *events: CloudEvent[Any]) -> set[str]:
    """Every run of the events' workflows (a birth's continues as new while it waits)."""
    ids = ", ".join(f"'{workflow_id_for(e.source, e.id)}'" for e in events)
    return {w.run_id async for w in client.list_workflows(f"WorkflowId IN ({ids})")}


def _counts(var: Path) -> dict[str, int]:
    return {
        "residents": rows(var / "residents/residents.db", "residents"),
        "dependants": rows(var / "benefits/benefits.db", "benefit_dependants"),
        "changes": rows(var / "benefits/benefits.db", "benefit_changes"),
        "cards": rows(var / "registers/registers.db", "reg_library_cards"),
        "early years": rows(var / "schools/schools.db", "school_early_years"),
        "inbox": rows(var / "notifications/notifications.db", "notification_inbox"),
        "ledger": rows(var / "consent/consent.db", "ledger"),
    }
