"""Withdrawals on the real stack (`lifeevents run`).

1. A completed bereavement, withdrawn as entered in error: every council service's records
   are back to what they were before the death was reported, the resident index no longer
   marks anyone deceased, the gate and the notification service write to him again, the
   family gets one apology each, and the ledger shows each action and its compensation.
   What could not be undone (the letters posted, the organisations told) is a caseworker's.
2. A withdrawal published before its event: the event, when it comes, starts nothing.
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
from contracts.timeline import Confirmation, Outcome
from tests.deploy.local.running import (
    REPO_ROOT,
    finished,
    handle_for,
    lifeevents_running,
    publish,
    rows,
    until,
)
from tests.deploy.local.test_death_end_to_end import seed

EXAMPLES = REPO_ROOT / "contracts" / "examples"
DEATH = json.loads((EXAMPLES / "death-registered.json").read_text())
MOVE = json.loads((EXAMPLES / "address-changed-household.json").read_text())
WITHDRAWN = json.loads((EXAMPLES / "event-withdrawn.json").read_text())

# The council services' own records, and the platform's records of a death.
STORES = {
    "counciltax/counciltax.db": None,
    "electoral/electoral.db": None,
    "benefits/benefits.db": None,
    "registers/registers.db": None,
    "schools/schools.db": None,
    "residents/residents.db": None,
    "consent/consent.db": ("deaths",),
    "notifications/notifications.db": ("notification_deceased",),
}
# What a store keeps about its own work rather than about residents: its record of steps
# done (kept, so a retry never redoes one), its journal, the index's writer lock.
BOOKKEEPING = ("_actions", "_journal", "resident_index_lock")


def dump(var: Path) -> dict[str, dict[str, list[tuple[Any, ...]]]]:
    """Every row of every table that holds what the services know, sorted."""
    found: dict[str, dict[str, list[tuple[Any, ...]]]] = {}
    for db, only in STORES.items():
        if not (var / db).exists():
            continue  # not made yet: the service has written nothing
        with sqlite3.connect(var / db) as connection:
            tables = only or [
                name
                for (name,) in connection.execute(
                    "SELECT name FROM sqlite_master WHERE type = 'table'"
                )
                if not name.endswith(BOOKKEEPING) and name != "resident_index_lock"
            ]
            found[db] = {
                table: sorted(
                    connection.execute(f"SELECT * FROM {table}").fetchall(),  # noqa: S608
                    key=repr,
                )
                for table in tables
            }
    return found


def withdrawal(original: CloudEvent[Any], reason: str = "entered_in_error") -> CloudEvent[Any]:
    return from_structured(
        {
            **WITHDRAWN,
            "id": str(uuid.uuid4()),
            "source": original.source,
            "data": {
                "withdraws": {"source": original.source, "id": original.id},
                "withdrawn_type": original.type,
                "reason": reason,
            },
        }
    )


def ledger(var: Path, kind: str) -> int:
    return rows(var / "consent/consent.db", "ledger", "WHERE kind = ?", kind)


@pytest.mark.stack
async def test_withdrawals_on_the_real_stack(
    cli_env: Callable[..., dict[str, str]], tmp_path: Path
) -> None:
    env = cli_env()
    var = Path(env["LIFEEVENTS_VAR_DIR"])
    bootstrap = env["LIFEEVENTS_KAFKA_BOOTSTRAP_SERVERS"]
    await seed(env)
    async with lifeevents_running(env, tmp_path / "run.out") as client:
        await _a_bereavement_entered_in_error(client, var, bootstrap)
        await _a_withdrawal_before_its_event(client, var, bootstrap)


async def _a_bereavement_entered_in_error(client: Client, var: Path, bootstrap: str) -> None:
    before = dump(var)
    death = from_structured({**DEATH, "id": str(uuid.uuid4())})
    await publish(bootstrap, death)
    waiting = await until(client, death, lambda t: t.needs_person)
    handle = handle_for(client, death)
    await handle.execute_update("resolve_task", waiting.caseworker_tasks[0])
    await until(client, death, lambda t: t.stage == "waiting_for_resident")
    await handle.execute_update("confirm", Confirmation(step="council-tax-discount", accept=True))
    assert (await finished(client, death)).stage == "complete"
    assert rows(var / "residents/residents.db", "resident_flags", "WHERE flag = 'deceased'") == 1
    shares_before = ledger(var, "share")
    done = dump(var)
    assert done != before  # the death changed the services' records: there is something to undo

    taken_back = withdrawal(death)
    await publish(bootstrap, taken_back)
    seen = await until(client, taken_back, lambda t: t.stage == "needs_person")
    # A caseworker follows up what cannot be taken back: letters posted, organisations told.
    assert "letters-posted" in seen.caseworker_tasks
    assert {t for t in seen.caseworker_tasks if t.startswith("undo-tell-")} == {
        "undo-tell-dwp",
        "undo-tell-hmrc",
        "undo-tell-hm-passport-office",
        "undo-tell-dvla",
    }
    withdrawing = handle_for(client, taken_back)
    for task in seen.caseworker_tasks:
        await withdrawing.execute_update("resolve_task", task)
    assert (await finished(client, taken_back)).stage == "complete"

    # Every service's records as they were before the death was reported.
    after = dump(var)
    for db, tables in after.items():
        assert tables == before.get(db, {t: [] for t in tables}), db
    # The ledger shows both: each action's share and each compensation, decided as such.
    compensations = ledger(var, "compensation")
    council_shares = sum(
        len(e.people) for e in (await finished(client, death)).entries if e.status.value == "done"
    )
    assert compensations >= council_shares - 4  # the four organisations are not untold
    assert ledger(var, "share") > shares_before
    # One apology each to those told anything, and to the man wrongly recorded as dead.
    notifications = var / "notifications/notifications.db"
    with sqlite3.connect(notifications) as connection:
        apologies = connection.execute(
            "SELECT resident, count(*) FROM notification_inbox "
            "WHERE template = 'withdrawn.apology' GROUP BY resident"
        ).fetchall()
    assert apologies, apologies
    assert {count for _, count in apologies} == {1}


async def _a_withdrawal_before_its_event(client: Client, var: Path, bootstrap: str) -> None:
    move = from_structured({**MOVE, "id": str(uuid.uuid4())})
    taken_back = withdrawal(move, reason="sent_twice")
    await publish(bootstrap, taken_back)
    assert (await finished(client, taken_back)).stage == "held"
    await publish(bootstrap, move)
    await asyncio.sleep(5)  # time enough for the orchestrator to try to start it
    placeholder = client.get_workflow_handle(
        workflow_id_for(move.source, move.id), result_type=Outcome
    )
    assert (await placeholder.result()).stage == "withdrawn"
    assert (await placeholder.describe()).workflow_type == "WithdrawnEvent"
    assert (
        rows(
            var / "counciltax/counciltax.db",
            "ctax_actions",
            "WHERE workflow_id = ?",
            workflow_id_for(move.source, move.id),
        )
        == 0
    )
