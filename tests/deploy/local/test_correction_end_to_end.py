"""Corrections on the real stack (`lifeevents run`).

1. A move's date corrected: the council tax account at the new address runs from the
   corrected date, and the index has the mover there since then; nothing of the first date
   is left in either store.
2. A child's date of birth corrected, one day earlier, across 1 September: the family,
   who accepted both offers, is not asked again, nor is the caseworker who said who the
   father is; the child is on the claim from the corrected date, with one library card,
   and the reminders move a school year earlier (every day written out by hand).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import Client

from contracts import CloudEvent, from_structured
from contracts.temporal import corrected_id, workflow_id_for
from contracts.timeline import Timeline
from services.benefits.seed import BIRTH_EXAMPLE_CLAIM
from tests.deploy.local.running import (
    REPO_ROOT,
    finished,
    lifeevents_running,
    publish,
    until_workflow,
)
from tests.deploy.local.test_birth_end_to_end import (
    BIRTH,
    DUE,
    OFFERS,
    accept_the_offers,
    birth,
    key_of,
    link_the_father,
    select,
)
from tests.deploy.local.test_death_end_to_end import seed

EXAMPLES = REPO_ROOT / "contracts" / "examples"
MOVE = json.loads((EXAMPLES / "address-changed-household.json").read_text())
CORRECTED = json.loads((EXAMPLES / "event-corrected.json").read_text())
OLD = {"lines": ["5 Sample Row"], "town": "Exampletown", "postcode": "AB3 5SR"}
NEW = {"lines": ["8 Notional Lane"], "town": "Exampletown", "postcode": "AB3 8NL"}
MOVER = {"name": {"given_names": "Sam", "family_name": "Umberfield"}, "date_of_birth": "1984-05-06"}
# Born 31 August 2025, a day before the example child: a school year earlier, every date.
A_DAY_EARLIER = {
    "two-year-old-funding": "2027-09-01",
    "three-year-old-entitlement": "2028-09-01",
    "reception-window-opens": "2028-09-01",
    "reception-window-closing": "2029-01-01",
}


def correction(original: CloudEvent[Any], reason: str, **data: Any) -> CloudEvent[Any]:
    return from_structured(
        {
            **CORRECTED,
            "id": str(uuid.uuid4()),
            "source": original.source,
            "subject": original.subject,
            "data": {
                "corrects": {"source": original.source, "id": original.id},
                "reason": reason,
                "corrected": {
                    "type": original.type,
                    "data": {**original.data.model_dump(mode="json", exclude_none=True), **data},
                },
            },
        }
    )


async def corrected_run(
    client: Client, original: CloudEvent[Any], check: Callable[[Timeline], bool]
) -> Timeline:
    """The timeline of the event's run on the corrected facts, once `check` holds."""
    run = corrected_id(workflow_id_for(original.source, original.id), 1)
    return await until_workflow(client, run, check)


def due(seen: Timeline) -> dict[str, str]:
    return {e.step: e.references["due"] for e in seen.entries if "due" in e.references}


@pytest.mark.stack
async def test_corrections_on_the_real_stack(
    cli_env: Callable[..., dict[str, str]], tmp_path: Path
) -> None:
    env = cli_env()
    var = Path(env["LIFEEVENTS_VAR_DIR"])
    bootstrap = env["LIFEEVENTS_KAFKA_BOOTSTRAP_SERVERS"]
    await seed(env)
    async with lifeevents_running(env, tmp_path / "run.out") as client:
        await _a_moves_date(client, var, bootstrap)
        await _a_childs_date_of_birth(client, var, bootstrap)


async def _a_moves_date(client: Client, var: Path, bootstrap: str) -> None:
    move = from_structured(
        {
            **MOVE,
            "id": str(uuid.uuid4()),
            "data": {
                **MOVE["data"],
                "movers": [MOVER],
                "old_address": OLD,
                "new_address": NEW,
                "move_date": "2025-10-06",
                "direction": "within",
            },
        }
    )
    await publish(bootstrap, move)
    assert (await finished(client, move)).stage == "complete"
    mover = key_of(var, MOVER)
    account = (
        "SELECT opened_on FROM ctax_accounts JOIN ctax_liable ON account = reference "
        "WHERE resident = ?"
    )
    assert select(var, "counciltax", account, mover) == [("2025-10-06",)]

    await publish(bootstrap, correction(move, "wrong_date", move_date="2025-10-01"))
    seen = await corrected_run(client, move, lambda t: t.stage == "complete")
    assert {e.step: e.status.value for e in seen.entries}["council-tax"] == "done"
    # One account, from the corrected date; the index has them there since then. They
    # were known only through the move, so they are matched anew, under a new key.
    assert select(var, "counciltax", account, mover) == []
    mover = key_of(var, MOVER)
    assert select(var, "counciltax", account, mover) == [("2025-10-01",)]
    assert select(
        var, "residents", "SELECT since FROM resident_residences WHERE resident = ?", mover
    ) == [("2025-10-01",)]
    # The first run had ended before the correction came: it says so, and no more.
    assert (await finished(client, move)).stage == "complete"


async def _a_childs_date_of_birth(client: Client, var: Path, bootstrap: str) -> None:
    # A sister of the example's child, not yet known to the index (the demo has the
    # example's child already: a correction of a date the index holds is a caseworker's).
    first = birth("Corra Example", "2025-09-01", "9990000107")
    father = key_of(var, BIRTH["data"]["parents"][1])
    await publish(bootstrap, first)
    await link_the_father(client, first, father)
    before = await accept_the_offers(client, first)
    assert due(before) == DUE["2025-09-01"]

    child = {**first.data.child.model_dump(mode="json", exclude_none=True)}
    await publish(
        bootstrap,
        correction(first, "wrong_date", child={**child, "date_of_birth": "2025-08-31"}),
    )
    # Nobody is asked again: not the family about the offers, nor a caseworker about the
    # father. The run on the corrected facts goes straight to waiting for the years.
    after = await corrected_run(client, first, lambda t: t.stage == "scheduled")
    assert after.caseworker_tasks == []
    assert due(after) == A_DAY_EARLIER
    offers = {e.step: e.status.value for e in after.entries if e.step in OFFERS}
    assert offers == {"library-card": "done", "benefits-review": "done"}
    # The child as the register now says: one resident, on the claim from the corrected
    # date, with one junior library card; nobody born on the first date.
    corrected_child = key_of(var, {**child, "date_of_birth": "2025-08-31"})
    assert select(
        var, "benefits", "SELECT claim, resident, effective_from FROM benefit_dependants"
    ) == [(BIRTH_EXAMPLE_CLAIM, corrected_child, "2025-08-31")]
    cards = "SELECT resident FROM reg_library_cards JOIN reg_junior_cards ON card = reference"
    assert select(var, "registers", cards) == [(corrected_child,)]
    born_first = "SELECT count(*) FROM residents JOIN resident_names ON resident = key "
    born_first += "WHERE given_names = 'Corra Example' AND date_of_birth = '2025-09-01'"
    assert select(var, "residents", born_first) == [(0,)]
