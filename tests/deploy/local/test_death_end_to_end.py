"""Deaths on the real stack, every service running under `lifeevents run`.

1. The demo household (seeded by `python -m deploy.local.seed`): a death leaves a spouse of
   83 living alone. A caseworker is asked to be in touch first and nothing is sent until
   they are; then council tax passes to the spouse (who accepts the single person
   discount), benefits end, the electoral entry goes, each register is cancelled or
   transferred, the four organisations the informant chose are told on their own topics
   (each record valid against the published schema, holding only what that organisation
   needs), the executor gets one summary, and the ledger shows the death and each share.
2. A resident who moved in alone dies while the move still waits on their answer about a
   school place: the move stops asking them; council tax passes to the estate (Class F);
   only the one organisation the informant chose is told. The same event again changes
   nothing. A later move reported for them is refused by the services, and says so.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from aiokafka import AIOKafkaConsumer
from temporalio.client import Client

from contracts import CloudEvent, from_structured
from contracts.timeline import Confirmation, MatchDecision, StepStatus, Timeline
from tests.deploy.local.running import (
    BIN,
    REPO_ROOT,
    finished,
    handle_for,
    lifeevents_running,
    publish,
    rows,
    until,
)

EXAMPLES = REPO_ROOT / "contracts" / "examples"
DEATH = json.loads((EXAMPLES / "death-registered.json").read_text())
MOVE = json.loads((EXAMPLES / "address-changed-household.json").read_text())
NOTICE_SCHEMA = json.loads(
    (REPO_ROOT / "contracts/schemas/published/lifeevents.partner.death-notice.v1.json").read_text()
)
# What each organisation needs, and so all it may be told (besides the notice's own fields).
NEEDS = {
    "dwp": {"name", "date_of_birth", "date_of_death", "last_address", "national_insurance_number"},
    "hmrc": {"name", "date_of_birth", "date_of_death", "national_insurance_number"},
    "hm_passport_office": {"name", "date_of_birth", "date_of_death"},
    "dvla": {"name", "date_of_birth", "date_of_death", "last_address"},
}
NOTICE = {"reference", "organisation", "basis"}

ALEX = {
    "name": {"given_names": "Alex", "family_name": "Imaginaryson"},
    "date_of_birth": "1979-06-02",
}
KIT = {"name": {"given_names": "Kit", "family_name": "Imaginaryson"}, "date_of_birth": "2016-03-09"}
ALEX_HOME = {"lines": ["3 Pretend Close"], "town": "Exampletown", "postcode": "AB7 1PD"}
ALEX_BEFORE = {"lines": ["9 Elsewhere Street"], "town": "Otherton", "postcode": "YO9 8WX"}


def event(template: dict[str, Any], **data: Any) -> CloudEvent[Any]:
    return from_structured(
        {**template, "id": str(uuid.uuid4()), "data": {**template["data"], **data}}
    )


def outcomes(seen: Timeline) -> dict[str, str]:
    return {e.step: f"{e.status.value}:{e.outcome or e.reason}" for e in seen.entries}


async def partner_records(bootstrap: str) -> dict[str, list[dict[str, Any]]]:
    """Every record on each organisation's topic: its key, headers and value."""
    found: dict[str, list[dict[str, Any]]] = {}
    for organisation in NEEDS:
        consumer = AIOKafkaConsumer(
            f"lifeevents.partner.{organisation}.v1",
            bootstrap_servers=bootstrap,
            auto_offset_reset="earliest",
            enable_auto_commit=False,
        )
        await consumer.start()
        try:
            batches = await consumer.getmany(timeout_ms=3000)
            found[organisation] = [
                {
                    "key": record.key.decode() if record.key else None,
                    "headers": {k: v.decode() for k, v in record.headers},
                    "value": json.loads(record.value),
                }
                for records in batches.values()
                for record in records
            ]
        finally:
            await consumer.stop()
    return found


def one(db: Path, query: str, *args: Any) -> tuple[Any, ...]:
    with sqlite3.connect(db) as connection:
        found = connection.execute(query, args).fetchall()
    assert len(found) == 1, found
    return tuple(found[0])


async def seed(env: dict[str, str]) -> None:
    seeding = await asyncio.create_subprocess_exec(
        str(BIN / "python"), "-m", "deploy.local.seed", env=env, cwd=REPO_ROOT
    )
    assert await seeding.wait() == 0


@pytest.mark.stack
async def test_deaths_on_the_real_stack(
    cli_env: Callable[..., dict[str, str]], tmp_path: Path
) -> None:
    env = cli_env(LIFEEVENTS_LOG_FORMAT="json")
    var = Path(env["LIFEEVENTS_VAR_DIR"])
    bootstrap = env["LIFEEVENTS_KAFKA_BOOTSTRAP_SERVERS"]
    await seed(env)
    async with lifeevents_running(env, tmp_path / "run.out") as client:
        await _a_death_leaving_a_spouse_of_83(client, var, bootstrap)
        await _a_death_of_someone_who_lived_alone(client, var, bootstrap)


async def _a_death_leaving_a_spouse_of_83(client: Client, var: Path, bootstrap: str) -> None:
    death = event(DEATH)
    await publish(bootstrap, death)
    waiting = await until(client, death, lambda t: t.needs_person)
    [task] = waiting.caseworker_tasks
    assert task.startswith("contact:res_")
    spouse = task.removeprefix("contact:")
    # Nothing reaches the spouse before a person has been in touch.
    assert waiting.stage == "needs_person"
    assert rows(var / "notifications/notifications.db", "notification_inbox") == 0
    assert {e.status for e in waiting.entries} <= {StepStatus.WAITING, StepStatus.SKIPPED}
    handle = handle_for(client, death)
    await handle.execute_update("resolve_task", task)

    await until(client, death, lambda t: t.stage == "waiting_for_resident")
    await handle.execute_update("confirm", Confirmation(step="council-tax-discount", accept=True))
    seen = await finished(client, death)
    assert seen.stage == "complete"
    assert outcomes(seen) == {
        "council-tax": "done:survivor_liable",
        "council-tax-discount": "done:discount_applied",
        "benefits": "done:claims_ended",
        "electoral-register": "done:entry_removed",
        "blue-badge": "done:badge_cancelled",
        "library-card": "done:membership_closed",
        "parking-permit": "done:permit_transferred",
        "assisted-collection": "done:collection_under_review",
        "tell-dwp": "done:told",
        "tell-hmrc": "done:told",
        "tell-hm-passport-office": "done:told",
        "tell-dvla": "done:told",
        "summary": f"done:{seen.entries[-1].outcome}",
    }
    assert seen.entries[-1].outcome.startswith("notified_by_")
    council_tax = next(e for e in seen.entries if e.step == "council-tax")
    assert (council_tax.references["account"], council_tax.references["liability_end"]) == (
        "CT-DEMO000012",
        "2025-08-07",
    )

    # The stores, as the services left them.
    residents = var / "residents/residents.db"
    (deceased,) = one(residents, "SELECT resident FROM resident_flags WHERE flag = 'deceased'")
    ctax = var / "counciltax/counciltax.db"
    assert one(ctax, "SELECT resident FROM ctax_liable WHERE account = 'CT-DEMO000012'") == (
        spouse,
    )
    assert one(
        ctax, "SELECT adults, discount_percent FROM ctax_accounts WHERE reference = 'CT-DEMO000012'"
    ) == (1, 25)
    benefits = var / "benefits/benefits.db"
    assert rows(benefits, "benefit_claim_ends", "WHERE ended_on = '2025-08-10'") == 2
    registers = var / "registers/registers.db"
    assert one(registers, "SELECT holder, status, transferred_from FROM reg_parking_permits") == (
        spouse,
        "active",
        deceased,
    )

    # Nobody wrote to the deceased; the spouse heard of their own accounts, and was asked
    # once about the discount that waits for their answer; one summary.
    notifications = var / "notifications/notifications.db"
    assert rows(notifications, "notification_inbox", "WHERE resident = ?", deceased) == 0
    assert rows(notifications, "notification_inbox", "WHERE template = 'death.summary'") == 1
    assert rows(notifications, "notification_inbox", "WHERE resident = ?", spouse) == 4
    assert (
        rows(
            notifications,
            "notification_inbox",
            "WHERE resident = ? AND template = 'waiting.question' AND step = ?",
            spouse,
            "council-tax-discount:asked",
        )
        == 1
    )

    # Each organisation told once, on its own topic, exactly what it needs.
    told = await partner_records(bootstrap)
    for organisation, needs in NEEDS.items():
        [record] = told[organisation]
        jsonschema.validate(record["value"], NOTICE_SCHEMA)
        assert set(record["value"]) == NOTICE | needs, organisation
        assert record["key"] == record["value"]["reference"]
        assert record["value"]["basis"] == "informant_agreement"
        assert "Testworth" not in json.dumps([record["key"], record["headers"]])

    # The deceased's ledger: the death, the informant's agreement, each organisation's share.
    consent = var / "consent/consent.db"
    with sqlite3.connect(consent) as connection:
        entries = connection.execute(
            "SELECT kind, recipient, outcome, reason FROM ledger WHERE resident = ?", (deceased,)
        ).fetchall()
    assert ("death", "*", "recorded", "death_registered") in entries
    for organisation in NEEDS:
        assert ("decision", organisation, "allow", "consent_given") in entries
        assert ("share", organisation, "completed") in {e[:3] for e in entries}


async def _a_death_of_someone_who_lived_alone(client: Client, var: Path, bootstrap: str) -> None:
    # Alex moves into the area with Kit, of school age: the move waits on Alex's answer.
    arrival = event(
        MOVE,
        movers=[ALEX, KIT],
        direction="into",
        old_address=ALEX_BEFORE,
        new_address=ALEX_HOME,
        move_date="2025-09-01",
    )
    await publish(bootstrap, arrival)
    # (The steps that wait on nobody run beside the wait: until they are done too.)
    arrived = await until(
        client,
        arrival,
        lambda t: (
            t.stage == "waiting_for_resident"
            and StepStatus.WAITING not in {e.status for e in t.entries}
        ),
    )
    alex, kit = (p.resident for p in arrived.entries[0].people)

    # Alex dies; Kit is away (the informant lists nobody at home) and only DWP is to be told.
    death = event(
        DEATH,
        deceased={
            **ALEX,
            "date_of_death": "2025-10-02",
            "last_address": ALEX_HOME,
        },
        household_members=[],
        organisations_to_tell=["dwp"],
        registration={**DEATH["data"]["registration"], "registered_on": "2025-10-06"},
    )
    told_before = await partner_records(bootstrap)
    await publish(bootstrap, death)
    # The move no longer asks Alex; a caseworker has the school place in hand.
    move_seen = await until(client, arrival, lambda t: t.needs_person)
    assert {e.step: e.reason for e in move_seen.entries}["school-admissions"] == (
        "resident_deceased"
    )
    assert move_seen.caseworker_tasks == ["confirm:school-admissions"]

    # The executor, known by name alone, is someone the index already holds: a caseworker
    # says it is the same solicitor. The death was recorded before anyone had to wait.
    handle = handle_for(client, death)
    seen = await until(client, death, lambda t: t.needs_person)
    assert seen.caseworker_tasks == ["match:1"]
    assert rows(var / "notifications/notifications.db", "notification_deceased") == 2
    (solicitor,) = one(
        var / "residents/residents.db",
        "SELECT resident FROM resident_names WHERE family_name = 'Solicitorson'",
    )
    await handle.execute_update(
        "decide_match", MatchDecision(mover=1, decision="link", resident=solicitor)
    )
    # Kit, a child, is left with no adult at home: a person is in touch first.
    seen = await until(client, death, lambda t: t.caseworker_tasks[:1] == [f"contact:{kit}"])
    await handle.execute_update("resolve_task", seen.caseworker_tasks[0])
    seen = await finished(client, death)
    results = outcomes(seen)
    assert results["council-tax"] == "done:account_passed_to_estate"
    assert results["tell-dwp"] == "done:told"
    for organisation in ("tell-hmrc", "tell-hm-passport-office", "tell-dvla"):
        assert results[organisation] == "skipped:not_chosen_by_informant"
    ctax = var / "counciltax/counciltax.db"
    assert rows(ctax, "ctax_exemptions", "WHERE exemption_class = 'F'") == 1
    assert one(
        var / "residents/residents.db", "SELECT flag FROM resident_flags WHERE resident = ?", alex
    ) == ("deceased",)
    told = await partner_records(bootstrap)
    assert {o: len(told[o]) - len(told_before[o]) for o in NEEDS} == {
        "dwp": 1,
        "hmrc": 0,
        "hm_passport_office": 0,
        "dvla": 0,
    }

    # The same event again: nothing new anywhere.
    counts = {
        "inbox": rows(var / "notifications/notifications.db", "notification_inbox"),
        "accounts": rows(ctax, "ctax_accounts"),
        "ledger": rows(var / "consent/consent.db", "ledger"),
    }
    await publish(bootstrap, death)
    await asyncio.sleep(10)
    assert counts == {
        "inbox": rows(var / "notifications/notifications.db", "notification_inbox"),
        "accounts": rows(ctax, "ctax_accounts"),
        "ledger": rows(var / "consent/consent.db", "ledger"),
    }
    assert [len(v) for v in (await partner_records(bootstrap)).values()] == [
        len(v) for v in told.values()
    ]

    # A move reported for Alex after the death: every service refuses to open anything new.
    late = event(
        MOVE,
        movers=[ALEX],
        direction="within",
        old_address=ALEX_HOME,
        new_address={"lines": ["5 Pretend Close"], "town": "Exampletown", "postcode": "AB7 1PD"},
        move_date="2025-11-01",
    )
    await publish(bootstrap, late)
    late_seen = await finished(client, late)
    for entry in late_seen.entries:
        if entry.status is not StepStatus.SKIPPED or entry.reason != "no_school_age_child":
            assert (entry.status, entry.reason) == (StepStatus.SKIPPED, "resident_deceased"), entry
