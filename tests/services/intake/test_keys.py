"""API keys: random, shown once, stored only as a hash, revocable; and the `keys` CLI."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from subprocess import CompletedProcess

import pytest
from typer.testing import CliRunner

from services.intake.cli import keys_app
from services.intake.keys import ApiKeys, hash_key
from services.intake.settings import IntakeSettings
from services.intake.store import IntakeStore
from tests.services.intake.support import BIRTH, MOVE, SOURCE


@pytest.fixture
async def keys(tmp_path: Path) -> AsyncIterator[ApiKeys]:
    async with await IntakeStore.open(f"sqlite+aiosqlite:///{tmp_path / 'intake.db'}") as store:
        yield ApiKeys(store)


async def test_a_key_is_random_long_and_stored_only_as_its_hash(
    keys: ApiKeys, tmp_path: Path
) -> None:
    first = await keys.issue(SOURCE, [MOVE])
    second = await keys.issue(SOURCE, [MOVE])
    assert first.secret != second.secret
    secret_part = first.secret.split("_", 2)[2]
    assert len(secret_part) >= 43  # 32 random bytes, base64url
    await keys.store.close()
    with sqlite3.connect(tmp_path / "intake.db") as db:
        dump = "\n".join(db.iterdump())
    assert first.secret not in dump
    assert secret_part not in dump
    assert hash_key(first.secret) in dump


async def test_authenticate_finds_the_key_and_what_it_allows(keys: ApiKeys) -> None:
    issued = await keys.issue(SOURCE, [MOVE, BIRTH])
    found = await keys.authenticate(issued.secret)
    assert found is not None
    assert (found.key_id, found.source) == (issued.key.key_id, SOURCE)
    assert found.event_types == {MOVE, BIRTH}
    for wrong in ("", issued.secret + "x", issued.secret[:-1], "lek_zz_zz", "x" * 10_000):
        assert await keys.authenticate(wrong) is None


async def test_a_revoked_key_no_longer_authenticates(keys: ApiKeys) -> None:
    issued = await keys.issue(SOURCE, [MOVE])
    assert await keys.revoke(issued.key.key_id)
    assert await keys.authenticate(issued.secret) is None
    assert not await keys.revoke(issued.key.key_id)  # already revoked
    assert not await keys.revoke("000000000000")  # no such key
    (listed,) = await keys.list()
    assert listed.revoked


@pytest.mark.parametrize(
    ("source", "types", "complaint"),
    [
        (SOURCE, [], "at least one event type"),
        (SOURCE, ["lifeevents.unknown.v1"], "unknown event type"),
        ("", [MOVE], "source"),
        ("/with space", [MOVE], "source"),
    ],
)
async def test_issue_refuses_what_no_event_could_use(
    keys: ApiKeys, source: str, types: list[str], complaint: str
) -> None:
    with pytest.raises(ValueError, match=complaint):
        await keys.issue(source, types)


def test_the_cli_issues_once_lists_without_secrets_and_revokes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LIFEEVENTS_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.delenv("LIFEEVENTS_INTAKE_DATABASE_URL", raising=False)
    runner = CliRunner()

    issued = runner.invoke(keys_app, ["issue", "--source", SOURCE, "--type", MOVE, "--type", BIRTH])
    assert issued.exit_code == 0, issued.output
    secret = issued.stdout.strip()  # the key alone on stdout, for scripts
    assert secret.startswith("lek_")
    assert "shown only now" in issued.stderr
    key_id = secret.split("_")[1]
    assert (tmp_path / "var" / "intake" / "intake.db").exists()
    assert IntakeSettings().database_url("intake").endswith("var/intake/intake.db")

    listed = runner.invoke(keys_app, ["list"])
    assert listed.exit_code == 0
    assert key_id in listed.output
    assert "live" in listed.output
    assert f"types={MOVE},{BIRTH}" in listed.output  # sorted
    assert secret not in listed.output
    assert secret.split("_", 2)[2] not in listed.output
    assert hash_key(secret) not in listed.output

    revoked = runner.invoke(keys_app, ["revoke", key_id])
    assert revoked.exit_code == 0
    assert "revoked" in runner.invoke(keys_app, ["list"]).output
    again = runner.invoke(keys_app, ["revoke", key_id])
    assert again.exit_code == 1

    wrong = runner.invoke(keys_app, ["issue", "--source", SOURCE, "--type", "nope.v1"])
    assert wrong.exit_code == 2
    assert "unknown event type" in wrong.output


def test_lifeevents_keys_is_wired_into_the_cli(
    cli_env: Callable[..., dict[str, str]],
    run_cli: Callable[..., CompletedProcess[str]],
) -> None:
    env = cli_env()
    issued = run_cli("keys", "issue", "--source", SOURCE, "--type", MOVE, env=env, timeout=60)
    assert issued.returncode == 0, issued.stderr
    listed = run_cli("keys", "list", env=env, timeout=60)
    assert listed.returncode == 0, listed.stderr
    assert issued.stdout.strip().split("_")[1] in listed.stdout
    assert issued.stdout.strip() not in listed.stdout
