"""`lifeevents caseworker add|disable|enable`: accounts the console then signs in with.

The tests are synchronous, as the command is (it runs its own event loop)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from typer.testing import CliRunner

from deploy.cli import app
from services.common.database import make_engine
from services.portal.caseworkers import Caseworkers
from services.portal.security import portal_key
from services.portal.settings import PortalSettings

PASSWORD = "a long synthetic passphrase"


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {"LIFEEVENTS_VAR_DIR": str(tmp_path), "LIFEEVENTS_LOG_FORMAT": "json"}


def signs_in(var_dir: Path, username: str, password: str) -> str | None:
    """The display name of whom the console signs in with these, as the portal reads the
    accounts (its database and key under the var folder); None if refused."""

    async def check() -> str | None:
        settings = PortalSettings(var_dir=var_dir)
        engine = make_engine(settings.database_url("portal"))
        try:
            caseworkers = Caseworkers(engine, portal_key(settings))
            signed_in = await caseworkers.sign_in(username, password, "192.0.2.1")
        finally:
            await engine.dispose()
        return None if signed_in is None else f"{signed_in.display_name} {signed_in.id}"

    return asyncio.run(check())


def run(env: dict[str, str], *args: str, stdin: str = "") -> tuple[int, str]:
    """The exit code and what the command said (its log lines, JSON, left out)."""
    result = CliRunner().invoke(app, ["caseworker", *args], input=stdin, env=env)
    said = [line for line in result.output.splitlines(keepends=True) if not line.startswith("{")]
    return result.exit_code, "".join(said)


def test_an_account_added_from_standard_input_signs_in(tmp_path: Path, env: dict[str, str]) -> None:
    code, said = run(
        env,
        "add",
        "A.Caseworker",
        "--name",
        "Alex Caseworker",
        "--password-stdin",
        stdin=PASSWORD + "\n",
    )
    assert code == 0, said
    assert said.startswith("Added caseworker a.caseworker (cwk_")
    assert PASSWORD not in said
    who = signs_in(tmp_path, "a.caseworker", PASSWORD)
    assert who is not None
    name, caseworker_id = who.rsplit(" ", 1)
    assert name == "Alex Caseworker"
    assert said == f"Added caseworker a.caseworker ({caseworker_id}).\n"


def test_an_account_added_at_the_prompt_is_asked_twice(tmp_path: Path, env: dict[str, str]) -> None:
    code, said = run(
        env, "add", "bea", "--name", "Bea Caseworker", stdin=f"{PASSWORD}\n{PASSWORD}\n"
    )
    assert code == 0, said
    assert "Repeat for confirmation" in said
    assert PASSWORD not in said  # hidden as typed
    assert signs_in(tmp_path, "bea", PASSWORD) is not None


def test_refusals_say_why_and_add_nothing(tmp_path: Path, env: dict[str, str]) -> None:
    assert run(env, "add", "cal", "--name", "Cal", "--password-stdin", stdin=PASSWORD)[0] == 0
    assert run(env, "add", "CAL", "--name", "Cal Again", "--password-stdin", stdin=PASSWORD) == (
        1,
        "A caseworker with that username exists already.\n",
    )
    assert run(env, "add", "dee", "--name", "Dee", "--password-stdin", stdin="short\n") == (
        1,
        "The password must be at least 12 characters.\n",
    )
    assert signs_in(tmp_path, "dee", "short") is None
    assert signs_in(tmp_path, "cal", PASSWORD) is not None


def test_a_disabled_account_signs_in_no_more_until_enabled(
    tmp_path: Path, env: dict[str, str]
) -> None:
    assert run(env, "add", "eve", "--name", "Eve", "--password-stdin", stdin=PASSWORD)[0] == 0
    assert run(env, "disable", "eve") == (0, "Disabled.\n")
    assert signs_in(tmp_path, "eve", PASSWORD) is None
    assert run(env, "enable", "eve") == (0, "Enabled.\n")
    assert signs_in(tmp_path, "eve", PASSWORD) is not None
    assert run(env, "disable", "nobody") == (1, "No caseworker has that username.\n")
