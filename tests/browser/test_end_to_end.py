"""The portal and the console on the real stack, in the real Chromium: `lifeevents run` with
every service (Kafka, Temporal, the mail catcher, the portal), life events published on
Kafka, and a resident and a caseworker who use only what a person would: the pages, and for
the resident the sign-in code the catcher received by e-mail.

- A resident signs in with the e-mailed code, answers the question their move waits on, and
  sees the timeline move on; gives and withdraws a consent and finds it under "who used my
  data".
- A caseworker claims a doubtful match (two residents either of whom could be the mover),
  links it to one, and the move completes.
"""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import uuid
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import httpx
from playwright.async_api import Browser, Page, expect

from contracts import from_structured
from contracts.people import PersonName
from contracts.residents import PersonDetails
from contracts.temporal import workflow_id_for
from contracts.timeline import Outcome
from services.residents.index import ResidentIndex
from services.residents.store import ResidentStore
from tests.browser.checks import screenshot
from tests.conftest import SCRIPTS
from tests.deploy.local.running import REPO_ROOT, lifeevents_running, publish, until

EXAMPLES = REPO_ROOT / "contracts" / "examples"
MOVE = json.loads((EXAMPLES / "address-changed-household.json").read_text())
PAT_EMAIL = "pat.placeholder@example.org"  # the example's adult mover (synthetic)
CASEWORKER, PASSWORD = "casey.example", "a long synthetic passphrase 42"
ADA = {"name": {"given_names": "Ada", "family_name": "Testworth"}, "date_of_birth": "1980-01-02"}


def statuses(timeline: Any) -> dict[str, str]:
    return {e.step: e.status.value for e in timeline.entries}


async def two_who_could_be_ada(var_dir: Path) -> None:
    """Ada Testworth, birth date unknown, at the address Ada moves from; and A. Testworth,
    born on Ada's birthday: the index can tell neither from Ada alone. Seeded before any
    service opens the index."""
    old = MOVE["data"]["old_address"]
    url = f"sqlite+aiosqlite:///{var_dir / 'residents' / 'residents.db'}"
    (var_dir / "residents").mkdir(parents=True, exist_ok=True)
    async with await ResidentStore.open(url) as store:
        index = ResidentIndex(store)
        for person in (
            PersonDetails(name=PersonName(given_names="Ada", family_name="Testworth"), address=old),
            PersonDetails(
                name=PersonName(given_names="A.", family_name="Testworth"),
                date_of_birth=date(1980, 1, 2),
                nhs_number="9990000034",
            ),
        ):
            [found] = await index.match_people([person])
            assert found.outcome == "created"


def add_caseworker(env: dict[str, str]) -> None:
    command = ["caseworker", "add", CASEWORKER, "--name", "Casey", "--password-stdin"]
    added = subprocess.run(
        [str(SCRIPTS / "lifeevents"), *command],
        input=PASSWORD + "\n",
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=REPO_ROOT,
    )
    assert added.returncode == 0, added.stderr


async def the_code_sent_to(catcher: str, email: str) -> str:
    """The six digits of the newest sign-in code the catcher received for `email`."""
    async with httpx.AsyncClient(base_url=catcher) as http:
        for _ in range(120):
            messages = (await http.get("/messages")).json()
            for message in messages:  # newest first
                if email in message["to"] and "sign-in code" in message["subject"]:
                    found = re.search(r"\b(\d{6})\b", message["body"])
                    assert found is not None
                    return found.group(1)
            await asyncio.sleep(0.5)
    raise AssertionError("no sign-in code arrived at the catcher")


async def sign_in_as_resident(page: Page, portal: str, catcher: str, email: str) -> None:
    await page.goto(f"{portal}/sign-in")
    await page.get_by_label("Email address or mobile phone number").fill(email)
    await page.get_by_role("button", name="Send me a code").click()
    await expect(page.get_by_role("heading", name="Enter your code")).to_be_visible()
    await page.get_by_label("Code").fill(await the_code_sent_to(catcher, email))
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("heading", name="Your messages")).to_be_visible()


async def test_a_resident_and_a_caseworker_use_the_real_stack(
    cli_env: Callable[..., dict[str, str]], tmp_path: Path, browser: Browser
) -> None:
    env = cli_env()
    await two_who_could_be_ada(Path(env["LIFEEVENTS_VAR_DIR"]))
    add_caseworker(env)
    portal = env["LIFEEVENTS_PORTAL_PUBLIC_URL"]
    catcher = f"http://127.0.0.1:{env['LIFEEVENTS_MAIL_CATCHER_HTTP_PORT']}"
    move = from_structured({**MOVE, "id": str(uuid.uuid4())})
    doubtful = from_structured(
        {**MOVE, "id": str(uuid.uuid4()), "data": {**MOVE["data"], "movers": [ADA]}}
    )
    async with lifeevents_running(env, tmp_path / "run.log") as client:
        bootstrap = env["LIFEEVENTS_KAFKA_BOOTSTRAP_SERVERS"]
        await publish(bootstrap, move)
        await publish(bootstrap, doubtful)
        await until(
            client, move, lambda t: statuses(t).get("school-admissions") == "waiting_for_resident"
        )

        # -- the resident ---------------------------------------------------------------
        resident = await browser.new_page()
        await sign_in_as_resident(resident, portal, catcher, PAT_EMAIL)
        waiting = resident.get_by_role("link", name=re.compile("catchment school"))
        await expect(waiting).to_be_visible()
        await screenshot(resident, "resident-home")
        await waiting.click()
        await screenshot(resident, "resident-question")
        await resident.get_by_label("Yes").check()
        await resident.get_by_role("button", name="Send answer").click()
        await expect(resident.get_by_role("heading", name="Thank you")).to_be_visible()
        await expect(resident.get_by_text("Thank you, we have your answer.")).to_be_visible()
        answered = await until(
            client, move, lambda t: statuses(t)["school-admissions"] != "waiting_for_resident"
        )
        await resident.goto(f"{portal}/events/{workflow_id_for(move.source, move.id)}")
        shown = resident.locator("main")
        await expect(shown).not_to_contain_text("Waiting for your answer")
        assert statuses(answered)["school-admissions"] in {"done", "skipped"}
        await screenshot(resident, "resident-timeline")

        await resident.goto(f"{portal}/consents")
        await resident.get_by_role("button", name="Give consent: Library membership offers").click()
        await expect(resident.get_by_text("You have given your consent.")).to_be_visible()
        await resident.get_by_role("button", name=re.compile("Withdraw consent")).first.click()
        await expect(resident.get_by_text("You have withdrawn your consent.")).to_be_visible()
        await screenshot(resident, "resident-consents")
        await resident.goto(f"{portal}/data-use")
        await expect(resident.get_by_text("Consent withdrawn").first).to_be_visible()
        await screenshot(resident, "resident-data-use")

        # -- the caseworker -------------------------------------------------------------
        caseworker = await browser.new_page()
        await caseworker.goto(f"{portal}/caseworker/sign-in")
        await caseworker.get_by_label("Username").fill(CASEWORKER)
        await caseworker.get_by_label("Password").fill(PASSWORD)
        await caseworker.get_by_role("button", name="Sign in").click()
        await expect(caseworker.get_by_role("heading", name="Caseworker queue")).to_be_visible()
        doubtful_id = workflow_id_for(doubtful.source, doubtful.id)
        task = caseworker.locator(f"a[href*='{doubtful_id}']").first
        for _ in range(60):  # visibility catches up a moment after the workflow
            if await task.count():
                break
            await caseworker.reload()
        await screenshot(caseworker, "caseworker-queue")
        await task.click()
        await caseworker.get_by_role("button", name="Claim").click()
        await screenshot(caseworker, "caseworker-doubtful-match")
        await caseworker.get_by_role(
            "button", name=re.compile("Link to this resident")
        ).first.click()
        outcome = await client.get_workflow_handle(doubtful_id, result_type=Outcome).result()
        assert outcome.stage == "complete"
