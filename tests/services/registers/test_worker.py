"""The council registers through Temporal: each activity served by a worker under the name the
catalogue calls it by, and `python -m services.registers` serving them from its own store,
its output naming no one. Both against the time-skipping server."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from contracts.actions import ServiceAction
from contracts.temporal import Activity, TaskQueue
from services.common.codec import data_converter, new_key_spec
from services.common.settings import Settings
from services.common.sharetokens import public_key_pem
from services.registers.activities import RegistersActivities
from services.registers.seed import seed_registers
from services.registers.store import ParkingPermit, RegistersStore
from tests.support import ServiceProcess, run_workflow, subprocess_env
from tests.support.council import (
    GATE_KEY,
    CallService,
    action_of,
    address,
    keys,
    sqlite_store,
    through_temporal,
)

DECEASED = "res_deceased0000000000"
SURVIVOR = "res_survivor0000000000"
HOME = address("12 Hypothetical Road", "AB4 6LN", uprn="999000000012")


@dataclass(frozen=True)
class Register:
    """What a token for one register's step is for, as the catalogue and policy say."""

    purpose: str
    recipient: str = "council-registers"


def death(purpose: str, *survivors: str) -> ServiceAction:
    deceased = {
        "identity": {"name": {"given_names": "Imaginary Albert", "family_name": "Testworth"}},
        "death": {"date_of_death": "2025-08-07", "last_address": HOME},
    }
    survivor = {
        "identity": {"name": {"given_names": "Madeup Mary", "family_name": "Testworth"}},
        "household": {"age": 83},
    }
    return action_of(
        Register(purpose),  # type: ignore[arg-type]
        [(DECEASED, deceased), *[(s, survivor) for s in survivors]],
        deceased={DECEASED},
    )


# (activity, its purpose in the catalogue, survivors shared, the code on the seeded entries)
STEPS: list[tuple[Activity, str, tuple[str, ...], str]] = [
    (Activity.REGISTERS_BLUE_BADGE, "blue-badge-administration", (), "badge_cancelled"),
    (Activity.REGISTERS_LIBRARY_CARD, "library-membership", (), "membership_closed"),
    (
        Activity.REGISTERS_PARKING_PERMIT,
        "parking-permit-administration",
        (SURVIVOR,),
        "permit_transferred",
    ),
    (
        Activity.REGISTERS_ASSISTED_COLLECTION,
        "waste-collection",
        (SURVIVOR,),
        "collection_under_review",
    ),
]


@pytest.mark.parametrize(
    ("name", "purpose", "survivors", "code"), STEPS, ids=[s[0].value for s in STEPS]
)
async def test_each_activity_through_a_temporal_worker(
    time_skipping_env: WorkflowEnvironment,
    tmp_path: Path,
    name: Activity,
    purpose: str,
    survivors: tuple[str, ...],
    code: str,
) -> None:
    async with sqlite_store(RegistersStore, tmp_path) as store:
        await seed_registers(store, [DECEASED])
        service = RegistersActivities(store, keys())
        outcome = await through_temporal(
            time_skipping_env, service.all, name, death(purpose, *survivors)
        )
        assert outcome.outcome == "done"
        assert outcome.code == code
        if name is Activity.REGISTERS_PARKING_PERMIT:
            [permit] = [e for e in await store.all_entries() if isinstance(e, ParkingPermit)]
            assert permit.holder == SURVIVOR
            assert outcome.references == {
                "permit": permit.reference,
                "transferred_on": "2025-08-07",
            }


async def test_the_process_serves_from_its_own_store_and_stops_on_sigterm(
    time_skipping_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    target = time_skipping_env.client.service_client.config.target_host
    payload_keys = new_key_spec()
    env = subprocess_env()
    env.update(
        LIFEEVENTS_VAR_DIR=str(tmp_path / "var"),
        LIFEEVENTS_TEMPORAL_ADDRESS=target,
        LIFEEVENTS_PAYLOAD_KEYS=payload_keys,
        LIFEEVENTS_SHARE_TOKEN_PUBLIC_KEY=public_key_pem(GATE_KEY.public_key()),
        LIFEEVENTS_LOG_FORMAT="json",
    )
    database = tmp_path / "var" / "registers" / "registers.db"
    # The store the process will open, seeded first (tables are made if missing).
    async with await RegistersStore.open(f"sqlite+aiosqlite:///{database}") as store:
        await seed_registers(store, [DECEASED])
    async with ServiceProcess("services.registers", env) as process:
        client = await Client.connect(
            target, data_converter=data_converter(Settings(payload_keys=payload_keys))
        )
        argument: dict[str, Any] = death("library-membership").model_dump(mode="json")
        outcome = await run_workflow(
            client,
            CallService,
            CallService.run,
            Activity.REGISTERS_LIBRARY_CARD,
            TaskQueue.REGISTERS,
            argument,
        )
        assert outcome.code == "membership_closed"
        assert outcome.references["charges_waived"] == "£2.40"
        code, text = await process.stop()
    assert code == 0
    for event in ("registers.started", "council.action", "registers.stopped"):
        assert event in text
    for secret in ("Imaginary", "Testworth", "Hypothetical", "AB4 6LN", "999000000012"):
        assert secret not in text
