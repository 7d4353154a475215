"""One life event, however many systems report it, on the real stack (`lifeevents run`).

The same move reported by council tax and by housing, in both orders and at the same moment;
the same death reported by the register office and by the hospital; and a report that
contradicts the first (another new address). Each service acts exactly once, for the first
report (its records of steps are counted); the second report's timeline says which workflow
handled it, and the contradicting one is a caseworker's.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import Client

from contracts import CloudEvent, from_structured
from contracts.temporal import workflow_id_for
from contracts.timeline import Outcome, Timeline
from tests.deploy.local.running import REPO_ROOT, finished, lifeevents_running, publish, rows, until
from tests.deploy.local.test_death_end_to_end import seed

EXAMPLES = REPO_ROOT / "contracts" / "examples"
MOVE = json.loads((EXAMPLES / "address-changed-household.json").read_text())
DEATH = json.loads((EXAMPLES / "death-registered.json").read_text())
COUNCIL_TAX, HOUSING = "/council-tax/exampleshire", "/housing/exampleshire"
OLD = {"lines": ["5 Sample Row"], "town": "Exampletown", "postcode": "AB3 5SR"}
NEW = {"lines": ["8 Notional Lane"], "town": "Exampletown", "postcode": "AB3 8NL"}
OTHER_NEW = {"lines": ["2 Notional Lane"], "town": "Exampletown", "postcode": "AB3 8NL"}
# Each service's record of the steps it did, one row per step it acted on.
ACTIONS = {
    "counciltax/counciltax.db": "ctax_actions",
    "electoral/electoral.db": "electoral_actions",
    "benefits/benefits.db": "benefit_actions",
}


def move(source: str, family: str, new: dict[str, Any] = NEW, **data: Any) -> CloudEvent[Any]:
    mover = {"name": {"given_names": "Sam", "family_name": family}, "date_of_birth": "1984-05-06"}
    return from_structured(
        {
            **MOVE,
            "source": source,
            "id": str(uuid.uuid4()),
            "data": {
                **MOVE["data"],
                "movers": [mover],
                "old_address": OLD,
                "new_address": new,
                "move_date": "2025-10-06",
                "direction": "within",
                **data,
            },
        }
    )


def acted(var: Path, event: CloudEvent[Any]) -> dict[str, int]:
    """How many steps each service recorded for the event's workflow."""
    workflow_id = workflow_id_for(event.source, event.id)
    return {
        db.split("/")[0]: rows(var / db, table, "WHERE workflow_id = ?", workflow_id)
        for db, table in ACTIONS.items()
    }


async def outcome(client: Client, event: CloudEvent[Any]) -> Outcome:
    handle = client.get_workflow_handle(
        workflow_id_for(event.source, event.id), result_type=Outcome
    )
    return await asyncio.wait_for(handle.result(), 120)


def merged(seen: Timeline, first: CloudEvent[Any]) -> bool:
    handled_by = {e.references["handled_by"] for e in seen.entries if "handled_by" in e.references}
    return seen.stage == "merged" and handled_by == {workflow_id_for(first.source, first.id)}


ONCE = {"counciltax": 1, "electoral": 1, "benefits": 1}
NEVER = {"counciltax": 0, "electoral": 0, "benefits": 0}


@pytest.mark.stack
async def test_one_life_event_from_many_sources_on_the_real_stack(
    cli_env: Callable[..., dict[str, str]], tmp_path: Path
) -> None:
    env = cli_env()
    var = Path(env["LIFEEVENTS_VAR_DIR"])
    bootstrap = env["LIFEEVENTS_KAFKA_BOOTSTRAP_SERVERS"]
    await seed(env)
    async with lifeevents_running(env, tmp_path / "run.out") as client:
        # Council tax first, housing days later (the date it was told is three days out).
        first = move(COUNCIL_TAX, "Quillon")
        await publish(bootstrap, first)
        assert (await finished(client, first)).stage == "complete"
        second = move(HOUSING, "Quillon", move_date="2025-10-09")
        await publish(bootstrap, second)
        seen = await finished(client, second)
        assert merged(seen, first), seen
        assert (await outcome(client, second)).merged_into is not None
        assert (acted(var, first), acted(var, second)) == (ONCE, NEVER)

        # Housing first this time: whichever comes first is acted on.
        first = move(HOUSING, "Rowntree")
        await publish(bootstrap, first)
        await finished(client, first)
        second = move(COUNCIL_TAX, "Rowntree")
        await publish(bootstrap, second)
        assert merged(await finished(client, second), first)
        assert (acted(var, first), acted(var, second)) == (ONCE, NEVER)

        # Both at the same moment: exactly one of them acts.
        both = [move(COUNCIL_TAX, "Sallowby"), move(HOUSING, "Sallowby")]
        await asyncio.gather(*(publish(bootstrap, e) for e in both))
        stages = sorted([(await finished(client, e)).stage for e in both])
        assert stages == ["complete", "merged"]
        assert sorted([acted(var, e) for e in both], key=lambda a: a["counciltax"]) == [
            NEVER,
            ONCE,
        ]

        # Another new address within the week: a caseworker's, not an action.
        contradicting = move(HOUSING, "Quillon", new=OTHER_NEW)
        await publish(bootstrap, contradicting)
        waiting = await until(client, contradicting, lambda t: t.needs_person)
        assert waiting.caseworker_tasks[0].startswith("contradiction:lifeevent-")
        assert acted(var, contradicting) == NEVER

        # The same death from the register office and the hospital: recorded and acted on
        # once (the demo's deceased lived with a spouse of 83: a caseworker is in touch first).
        deaths = [
            from_structured({**DEATH, "id": str(uuid.uuid4()), "source": source})
            for source in ("/register-office/exampleshire", "/hospital/exampleshire")
        ]
        await asyncio.gather(*(publish(bootstrap, d) for d in deaths))
        seen_deaths = [
            await until(client, d, lambda t: t.stage in {"merged", "needs_person"}) for d in deaths
        ]
        assert sorted(t.stage for t in seen_deaths) == ["merged", "needs_person"]
        [acting] = [t for t in seen_deaths if t.stage == "needs_person"]
        assert acting.caseworker_tasks[0].startswith("contact:")
        residents = var / "residents/residents.db"
        assert rows(residents, "resident_flags", "WHERE flag = 'deceased'") == 1
        assert rows(var / "notifications/notifications.db", "notification_deceased") == 1
        assert rows(var / "consent/consent.db", "ledger", "WHERE kind = 'death'") == 1
