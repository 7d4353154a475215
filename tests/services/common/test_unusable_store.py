"""A store that cannot be used (a file that is not a database) is said, not traced: which
store and what is wrong, by `Store.open` and `store_at` as `StoreUnusable`; by the
`lifeevents` command in one line on stderr, exit 2; by a service's process in one log line,
exit 2 — never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text

from services.common.database import StoreUnusable, make_engine, store_at
from services.consent.store import ConsentStore
from tests.conftest import REPO_ROOT, SCRIPTS

NOT_A_DATABASE = b"These bytes are not an SQLite database, " * 200


def garbage(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(NOT_A_DATABASE)
    return path


async def test_opening_a_file_that_is_not_a_database_names_it(tmp_path: Path) -> None:
    store = garbage(tmp_path / "consent" / "consent.db")
    with pytest.raises(StoreUnusable) as raised:
        await ConsentStore.open(f"sqlite+aiosqlite:///{store}")
    assert raised.value.where == str(store)
    assert raised.value.problem == "file is not a database"
    assert str(raised.value) == f"the store at {store} cannot be used: file is not a database"


async def test_a_server_store_is_named_without_its_password(tmp_path: Path) -> None:
    url = "sqlite+aiosqlite:///" + str(garbage(tmp_path / "x.db"))
    engine = make_engine(url)
    try:
        with (
            pytest.raises(StoreUnusable) as raised,
            store_at("postgresql+asyncpg://council:s3cret@db.example:5432/consent"),
        ):
            async with engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
    finally:
        await engine.dispose()
    assert raised.value.where == "postgresql+asyncpg://council:***@db.example:5432/consent"
    assert "s3cret" not in str(raised.value)


def environment(var_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIFEEVENTS_")}
    return {**env, "LIFEEVENTS_VAR_DIR": str(var_dir), "LIFEEVENTS_LOG_FORMAT": "json"}


def test_a_command_on_an_unusable_store_says_so_in_a_line_and_exits_2(tmp_path: Path) -> None:
    store = garbage(tmp_path / "consent" / "consent.db")
    verified = subprocess.run(
        [str(SCRIPTS / "lifeevents"), "ledger", "verify"],
        env=environment(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=REPO_ROOT,
    )
    assert verified.returncode == 2
    assert verified.stderr.strip() == (
        f"lifeevents: the store at {store} cannot be used: file is not a database"
    )
    assert "Traceback" not in verified.stdout + verified.stderr


def test_a_service_on_an_unusable_store_says_so_in_a_log_line_and_exits_2(
    tmp_path: Path,
) -> None:
    store = garbage(tmp_path / "consent" / "consent.db")
    started = subprocess.run(
        [sys.executable, "-m", "services.consent"],
        env=environment(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=REPO_ROOT,
    )
    assert started.returncode == 2
    assert '"event": "consent.store_unusable"' in started.stderr
    assert f'"store": "{store}"' in started.stderr
    assert '"problem": "file is not a database"' in started.stderr
    assert "Traceback" not in started.stdout + started.stderr
