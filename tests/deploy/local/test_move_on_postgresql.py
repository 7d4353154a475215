"""The whole end-to-end move with every store on PostgreSQL, as production runs them: one
database per store, made ready by `lifeevents db upgrade` beforehand, and the services told
not to migrate (LIFEEVENTS_DB_MIGRATE_ON_START=false) so that they refuse a store that is not.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from deploy.db import migrations_of
from services.common.settings import STORE_OWNERS
from tests.deploy.local.test_move_end_to_end import a_household_moves
from tests.support.postgres import fresh_postgres_url

# In every URL, for the output to be checked for: the session's PostgreSQL trusts local
# connections and never asks for it.
PASSWORD = "not-shown-anywhere"


@pytest.mark.stack
async def test_the_whole_move_with_every_store_on_postgresql_after_db_upgrade(
    cli_env: Callable[..., dict[str, str]],
    run_cli: Callable[..., subprocess.CompletedProcess[str]],
    tmp_path: Path,
    postgres_socket_dir: str,
) -> None:
    databases = {}
    for owner in STORE_OWNERS:
        url = await fresh_postgres_url(postgres_socket_dir)
        databases[f"LIFEEVENTS_{owner.upper()}_DATABASE_URL"] = url.replace(
            "postgres@", f"postgres:{PASSWORD}@"
        )
    env = cli_env(LIFEEVENTS_LOG_FORMAT="json", LIFEEVENTS_DB_MIGRATE_ON_START="false", **databases)

    before = run_cli("db", "current", env=env, timeout=60)
    assert before.returncode == 1, before.stderr
    assert before.stdout.count(" none ") == len(STORE_OWNERS)

    upgraded = run_cli("db", "upgrade", env=env, timeout=120)
    assert upgraded.returncode == 0, upgraded.stderr
    lines = upgraded.stdout.splitlines()
    assert [line.split()[:3] for line in lines] == [
        [owner, migrations_of(owner).head, "(head)"] for owner in STORE_OWNERS
    ]
    assert all("postgresql+asyncpg://postgres:***@/" in line for line in lines)
    assert PASSWORD not in upgraded.stdout + upgraded.stderr

    await a_household_moves(env, tmp_path)

    # Every store was PostgreSQL's: no service fell back to a SQLite file of its own.
    var = Path(env["LIFEEVENTS_VAR_DIR"])
    assert [owner for owner in STORE_OWNERS if (var / owner / f"{owner}.db").exists()] == []
    assert PASSWORD not in (tmp_path / "run.out").read_text(errors="replace")
