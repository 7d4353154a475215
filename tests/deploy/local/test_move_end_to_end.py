"""A household moves, twice, on the real stack with every service running under `lifeevents run`.

The move on Kafka reaches council tax, electoral services and benefits through the consent
gate, the resident is notified and the timeline completes; the same event again changes
nothing; the Temporal database holds no personal data in plain text; and the `temporal` CLI
finds moves by search attribute and reads a history only through the codec server.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import subprocess
import sys
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from contracts import CloudEvent, from_structured
from contracts.temporal import workflow_id_for
from services.common.settings import StoreOwner
from services.common.temporal import cli_env
from services.consent.auth import ApiAuth, Role
from services.consent.keys import api_auth_key
from services.consent.settings import ConsentSettings
from tests.deploy.local.running import (
    BIN,
    REPO_ROOT,
    finished,
    lifeevents_running,
    publish,
    settings_of,
    store_rows,
)

HOUSEHOLD = json.loads(
    (REPO_ROOT / "contracts/examples/address-changed-household.json").read_text()
)
ADULT = HOUSEHOLD["data"]["movers"][0]  # synthetic: Pat Placeholder, born 1980-01-31
PERSONAL = ("Placeholder", "1980-01-31", "AB2 4FG", "Fictitious Avenue", "AB5 6DE", "Invented Row")


SAM = {"name": {"given_names": "Sam", "family_name": "Placeholder"}, "date_of_birth": "1983-04-05"}


def move(
    old: dict[str, Any],
    new: dict[str, Any],
    move_date: str,
    movers: list[dict[str, Any]] | None = None,
) -> CloudEvent[Any]:
    return from_structured(
        {
            **HOUSEHOLD,
            "id": str(uuid.uuid4()),
            "data": {
                **HOUSEHOLD["data"],
                "movers": movers or [ADULT],
                "old_address": old,
                "new_address": new,
                "move_date": move_date,
            },
        }
    )


async def temporal_cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """The `temporal` CLI, connected as the services of `env` are (address, namespace, TLS);
    awaited, so that whatever the test serves on its event loop keeps serving."""
    cli = await asyncio.create_subprocess_exec(
        str(BIN / "temporal"),
        *args,
        env={**os.environ, **cli_env(settings_of(env))},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(cli.communicate(), 60)
    return subprocess.CompletedProcess(args, cli.returncode or 0, out.decode(), err.decode())


def payload_text(shown: str) -> str:
    """Every payload's data in a `temporal workflow show -o json` history, as text."""
    texts: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("data"), str) and "metadata" in node:
                texts.append(base64.b64decode(node["data"]).decode(errors="replace"))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(json.loads(shown))
    return "\n".join(texts)


@pytest.mark.stack
async def test_a_move_reaches_every_service_once_and_leaves_no_personal_data_in_temporal(
    cli_env: Callable[..., dict[str, str]], tmp_path: Path
) -> None:
    await a_household_moves(cli_env(LIFEEVENTS_LOG_FORMAT="json"), tmp_path)


async def count(env: dict[str, str], owner: StoreOwner, table: str) -> int:
    [(rows,)] = await store_rows(env, owner, f"SELECT count(*) FROM {table}")  # noqa: S608
    return int(rows)


async def a_household_moves(
    env: dict[str, str], tmp_path: Path, temporal_db: Path | None = None
) -> None:
    """The whole move, under `lifeevents run` with `env`: its stores wherever `env` puts them
    (SQLite files by default; test_move_in_production_shape.py puts them on PostgreSQL) and
    Temporal wherever it is, its database in `temporal_db` (the embedded one's by default)."""
    var = Path(env["LIFEEVENTS_VAR_DIR"])
    bootstrap = env["LIFEEVENTS_KAFKA_BOOTSTRAP_SERVERS"]
    output = tmp_path / "run.out"
    async with lifeevents_running(env, output) as client:
        first_home = HOUSEHOLD["data"]["new_address"]
        second_home = {"lines": ["7 Invented Row"], "town": "Exampletown", "postcode": "AB5 6DE"}

        first = move(HOUSEHOLD["data"]["old_address"], first_home, "2025-10-18")
        await publish(bootstrap, first)
        seen = await finished(client, first)
        assert {e.step: (e.status.value, e.outcome or e.reason) for e in seen.entries} == {
            "council-tax": ("done", "account_closed_and_opened"),
            "electoral-register": ("done", seen.entries[1].outcome),
            "school-admissions": ("skipped", "no_school_age_child"),
            "benefits": ("done", "no_claim"),
        }
        assert seen.stage == "complete"

        # The resident is on housing benefit from now on: the next move is a change of
        # circumstances for the benefits service too.
        [(resident,)] = await store_rows(env, "residents", "SELECT key FROM residents")
        seeded = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "services.benefits.seed", resident, env=env, cwd=REPO_ROOT
        )
        assert await seeded.wait() == 0

        second = move(first_home, second_home, "2025-11-20")
        await publish(bootstrap, second)
        seen = await finished(client, second)
        assert [e.status.value for e in seen.entries] == ["done", "done", "skipped", "done"]
        assert seen.entries[3].outcome != "no_claim"

        counts = {
            "accounts": await count(env, "counciltax", "ctax_accounts"),
            "invitations": await count(env, "electoral", "electoral_invitations"),
            "changes": await count(env, "benefits", "benefit_changes"),
            "inbox": await count(env, "notifications", "notification_inbox"),
        }
        assert counts["changes"] >= 1
        assert counts["inbox"] == 6  # three steps done, twice, told to the one resident

        # The same event again: nothing new anywhere.
        await publish(bootstrap, second)
        await asyncio.sleep(10)
        assert counts == {
            "accounts": await count(env, "counciltax", "ctax_accounts"),
            "invitations": await count(env, "electoral", "electoral_invitations"),
            "changes": await count(env, "benefits", "benefit_changes"),
            "inbox": await count(env, "notifications", "notification_inbox"),
        }
        moves = await client.count_workflows("LifeEventType = 'lifeevents.address.changed.v1'")
        assert moves.count == 2

        # The resident objects to their data going to benefits (a public-task purpose with no
        # overriding grounds): the next move skips that step with the reason, on the timeline
        # and on the resident's own ledger, and does the rest.
        consent_api = f"http://127.0.0.1:{env['LIFEEVENTS_CONSENT_HTTP_PORT']}"
        # As the portal would for a signed-in resident: a token with their key, nobody else's.
        signing_key = api_auth_key(ConsentSettings(var_dir=var))
        token = ApiAuth(signing_key).mint(resident, Role.RESIDENT)
        async with httpx.AsyncClient(
            base_url=consent_api, headers={"Authorization": f"Bearer {token}"}
        ) as consent:
            objected = await consent.post(
                f"/residents/{resident}/objections",
                json={"resident": resident, "purpose": "housing-benefit-review"},
            )
            assert objected.status_code in {200, 201}, objected.text
            third = move(second_home, first_home, "2025-12-01")
            await publish(bootstrap, third)
            seen = await finished(client, third)
            assert [(e.status.value, e.reason) for e in seen.entries] == [
                ("done", ""),
                ("done", ""),
                ("skipped", "no_school_age_child"),
                ("skipped", "objection"),
            ]
            ledger = (await consent.get(f"/residents/{resident}/ledger")).json()
        denials = [
            e for e in ledger["entries"] if e["recipient"] == "benefits" and e["outcome"] == "deny"
        ]
        assert [d["reason"] for d in denials] == ["objection"]

        # Sam moves in with Pat, and on together: one decision each. Pat's objection stops
        # Pat's data going to benefits, and only Pat's; Sam's share goes ahead.
        claims_before = await count(env, "benefits", "benefit_changes")
        fourth = move(first_home, second_home, "2025-12-15", movers=[SAM, ADULT])
        await publish(bootstrap, fourth)
        seen = await finished(client, fourth)
        benefits = seen.entries[3]
        assert (benefits.step, benefits.status.value) == ("benefits", "done")
        [(sam,)] = await store_rows(
            env, "residents", "SELECT key FROM residents WHERE key != :pat", pat=resident
        )
        assert [(p.resident, p.status.value, p.reason) for p in benefits.people] == [
            (sam, "done", ""),
            (resident, "skipped", "objection"),
        ]
        # Pat's claim was not touched: nothing of Pat's reached benefits.
        assert await count(env, "benefits", "benefit_changes") == claims_before
        ledgers = {}
        for who in (resident, sam):
            own = ApiAuth(signing_key).mint(who, Role.RESIDENT)
            async with httpx.AsyncClient(
                base_url=consent_api, headers={"Authorization": f"Bearer {own}"}
            ) as consent:
                ledgers[who] = (await consent.get(f"/residents/{who}/ledger")).json()
        assert ledgers[sam]["resident"] == sam
        sams = {(e["recipient"], e["kind"], e["outcome"]) for e in ledgers[sam]["entries"]}
        assert ("benefits", "decision", "allow") in sams
        assert ("benefits", "share", "completed") in sams
        assert not {e["ref"] for e in ledgers[sam]["entries"]} & {
            e["ref"] for e in ledgers[resident]["entries"]
        }
        pats = [e for e in ledgers[resident]["entries"] if e["recipient"] == "benefits"]
        assert [e["reason"] for e in pats if e["outcome"] == "deny"] == ["objection"] * 2
        moves_seen = 4

        # No name, date of birth or address in plain text in Temporal's database or WAL.
        stored = b"".join(p.read_bytes() for p in (temporal_db or var / "temporal").glob("*.db*"))
        assert stored
        for personal in PERSONAL:
            assert personal.encode() not in stored, personal

        # A real client nobody here wrote: list by search attribute, read through the codec.
        listed = await temporal_cli(
            env,
            "workflow",
            "list",
            "--query",
            "LifeEventType = 'lifeevents.address.changed.v1'",
            "-o",
            "json",
        )
        assert listed.returncode == 0, listed.stderr
        ids = {w["execution"]["workflowId"] for w in json.loads(listed.stdout)}
        assert ids == {workflow_id_for(e.source, e.id) for e in (first, second, third, fourth)}
        assert len(ids) == moves_seen
        tokens = env.get("LIFEEVENTS_CODEC_TOKENS") or (var / "secrets/codec-tokens").read_text()
        codec_token = tokens.replace(",", " ").split()[0]
        codec = f"http://127.0.0.1:{env['LIFEEVENTS_CODEC_PORT']}"
        show = (
            "workflow",
            "show",
            "-w",
            workflow_id_for(second.source, second.id),
            "-o",
            "json",
        )
        decoded = await temporal_cli(
            env, *show, "--codec-endpoint", codec, "--codec-auth", f"Bearer {codec_token}"
        )
        assert decoded.returncode == 0, decoded.stderr
        assert "Placeholder" in payload_text(decoded.stdout)
        assert "Placeholder" not in payload_text((await temporal_cli(env, *show)).stdout)
