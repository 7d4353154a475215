"""The whole end-to-end move as a council runs it in production: against a Kafka and a
Temporal that `lifeevents` did not start, Temporal reached only over mTLS in a namespace of
the council's own, and every store on PostgreSQL, one database each, made ready by
`lifeevents db upgrade` beforehand while the services are told not to migrate
(LIFEEVENTS_DB_MIGRATE_ON_START=false), so that they would refuse a store that is not.

The Temporal dev server has no TLS of its own: a TLS front that demands a client certificate
of the council's CA stands before it (`tests.support.tls_front`), and the services are given
only the front's address."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from deploy.db import migrations_of
from deploy.local.certs import LocalCa
from deploy.local.stack import StackConfig
from services.common.settings import STORE_OWNERS
from tests.deploy.local.running import REPO_ROOT
from tests.deploy.local.test_move_end_to_end import a_household_moves
from tests.support.postgres import fresh_postgres_url
from tests.support.tls_front import tls_front

NAMESPACE = "council-e06000099"  # one namespace per council, not the dev server's `default`

# In every URL, for the output to be checked for: the session's PostgreSQL trusts local
# connections and never asks for it.
PASSWORD = "not-shown-anywhere"


@pytest.mark.stack
async def test_the_whole_move_on_postgresql_and_temporal_over_mtls(
    their_stack: StackConfig,
    cli_env: Callable[..., dict[str, str]],
    run_cli: Callable[..., subprocess.CompletedProcess[str]],
    free_port: Callable[[], int],
    tmp_path: Path,
    postgres_socket_dir: str,
) -> None:
    databases = {}
    for owner in STORE_OWNERS:
        url = await fresh_postgres_url(postgres_socket_dir)
        databases[f"LIFEEVENTS_{owner.upper()}_DATABASE_URL"] = url.replace(
            "postgres@", f"postgres:{PASSWORD}@"
        )
    ca = LocalCa(tmp_path / "council-ca")
    client = ca.issue("lifeevents", client=True)
    upstream = (their_stack.temporal_host, their_stack.temporal_port)
    async with tls_front(upstream, ca.issue("temporal"), ca.cert, free_port()) as front:
        env = cli_env(
            LIFEEVENTS_LOG_FORMAT="json",
            LIFEEVENTS_EMBEDDED_STACK="false",
            LIFEEVENTS_KAFKA_BOOTSTRAP_SERVERS=their_stack.kafka_bootstrap_servers,
            LIFEEVENTS_TEMPORAL_ADDRESS=front.address,
            LIFEEVENTS_TEMPORAL_NAMESPACE=NAMESPACE,
            LIFEEVENTS_TEMPORAL_TLS_CA_FILE=str(ca.cert),
            LIFEEVENTS_TEMPORAL_TLS_CERT_FILE=str(client.cert),
            LIFEEVENTS_TEMPORAL_TLS_KEY_FILE=str(client.key),
            LIFEEVENTS_CODEC_TOKENS=_new_codec_token(),
            LIFEEVENTS_DB_MIGRATE_ON_START="false",
            **databases,
        )

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

        await a_household_moves(env, tmp_path, their_stack.var_dir / "temporal")

    # Every process that reached Temporal came through the front with the council's client
    # certificate: the services had no other way to it.
    assert set(front.clients) == {"lifeevents"}
    assert front.clients["lifeevents"] >= 2
    output = (tmp_path / "run.out").read_text(errors="replace")
    assert re.search(
        rf"^temporal +{front.address} +external +answers +namespace {NAMESPACE}$", output, re.M
    )
    # Every store was PostgreSQL's: no service fell back to a SQLite file of its own.
    var = Path(env["LIFEEVENTS_VAR_DIR"])
    assert [owner for owner in STORE_OWNERS if (var / owner / f"{owner}.db").exists()] == []
    assert PASSWORD not in output


def _new_codec_token() -> str:
    made = subprocess.run(
        [sys.executable, "-m", "services.codec", "new-token"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        cwd=REPO_ROOT,
    )
    return made.stdout.strip()
