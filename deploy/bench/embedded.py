"""`lifeevents run --no-demo` in a temporary folder on free ports, as the benchmark's system
under test: its Temporal client, its intake API with a key per source system, and the pid of
every process it runs (Kafka, Temporal, the supervisor, each service)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
from pydantic import SecretStr
from temporalio.client import Client

from deploy.bench.events import SOURCE_TYPES
from deploy.local.services import SERVICES
from services.common.codec import data_converter, new_key_spec
from services.common.settings import Settings
from services.intake.keys import ApiKeys
from services.intake.store import IntakeStore

__all__ = ["REPO_ROOT", "Embedded", "embedded"]

REPO_ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
_STARTED = re.compile(r"^(?P<name>[\w-]+) +\| started \(pid (?P<pid>\d+)\)", re.M)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("localhost", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class Embedded:
    var: Path
    env: dict[str, str]
    output: Path
    run_pid: int
    client: Client
    intake_keys: dict[str, str]  # source -> bearer token

    @property
    def bootstrap(self) -> str:
        return self.env["LIFEEVENTS_KAFKA_BOOTSTRAP_SERVERS"]

    @property
    def intake_url(self) -> str:
        return f"http://127.0.0.1:{self.env['LIFEEVENTS_INTAKE_PORT']}"

    def processes(self) -> dict[str, int]:
        """Every process of the run by name, as it is now (a restarted service's new pid)."""
        found = {"lifeevents run": self.run_pid}
        for component in ("kafka", "temporal"):
            with contextlib.suppress(OSError, ValueError):
                found[component] = int((self.var / "run" / f"{component}.pid").read_text())
        for match in _STARTED.finditer(self.output.read_text(errors="replace")):
            found[match["name"]] = int(match["pid"])
        return found


def _env(var: Path) -> dict[str, str]:
    consent = free_port()
    # Nothing of the caller's own configuration, nor a developer's .env, reaches the run.
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIFEEVENTS_")}
    env.update(
        LIFEEVENTS_ENV_FILE="",
        LIFEEVENTS_VAR_DIR=str(var),
        LIFEEVENTS_KAFKA_BOOTSTRAP_SERVERS=f"localhost:{free_port()}",
        LIFEEVENTS_KAFKA_CONTROLLER_PORT=str(free_port()),
        LIFEEVENTS_TEMPORAL_ADDRESS=f"localhost:{free_port()}",
        LIFEEVENTS_TEMPORAL_UI_PORT=str(free_port()),
        LIFEEVENTS_INTAKE_PORT=str(free_port()),
        LIFEEVENTS_CODEC_PORT=str(free_port()),
        LIFEEVENTS_CONSENT_HTTP_PORT=str(consent),
        LIFEEVENTS_SHARE_TOKEN_KEY_URL=f"http://127.0.0.1:{consent}/share-token-key",
        LIFEEVENTS_PAYLOAD_KEYS=new_key_spec(),
        LIFEEVENTS_LOG_LEVEL="WARNING",
        LIFEEVENTS_LOG_FORMAT="json",
        # The benchmark measures the pipeline, not the intake's per-source limiter.
        LIFEEVENTS_INTAKE_RATE_PER_SECOND="100000",
        LIFEEVENTS_INTAKE_RATE_BURST="100000",
    )
    # Ports of their own, so that a `make run` on this machine never clashes with the run.
    for name in ("PORTAL", "MAIL_CATCHER_SMTP", "MAIL_CATCHER_HTTP"):
        env[f"LIFEEVENTS_{name}_PORT"] = str(free_port())
    env["LIFEEVENTS_PORTAL_PUBLIC_URL"] = f"http://localhost:{env['LIFEEVENTS_PORTAL_PORT']}"
    return env


@contextlib.asynccontextmanager
async def embedded(folder: Path) -> AsyncIterator[Embedded]:
    """The whole system, started in `folder` and stopped (SIGINT, as Ctrl-C) on the way out."""
    var = folder / "var"
    (var / "kafka").mkdir(parents=True)
    # The jars `make setup` fetched, rather than fetching them again for every run.
    (var / "kafka" / "lib").symlink_to(REPO_ROOT / "var" / "kafka" / "lib")
    env = _env(var)
    output = folder / "run.out"
    with output.open("wb") as out:
        run = await asyncio.create_subprocess_exec(
            str(BIN / "lifeevents"),
            "run",
            "--no-demo",
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=REPO_ROOT,
            start_new_session=True,  # a Ctrl-C at the terminal reaches the benchmark only
        )
    try:
        await _until_started(output, env)
        client = await Client.connect(
            env["LIFEEVENTS_TEMPORAL_ADDRESS"],
            data_converter=data_converter(
                Settings(payload_keys=SecretStr(env["LIFEEVENTS_PAYLOAD_KEYS"]))
            ),
        )
        keys = await _intake_keys(var)
        yield Embedded(var, env, output, run.pid, client, keys)
    finally:
        run.send_signal(signal.SIGINT)
        try:
            await asyncio.wait_for(run.wait(), 120)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(run.pid, signal.SIGKILL)


async def _until_started(output: Path, env: dict[str, str]) -> None:
    """Every service started, and the intake answering with Kafka connected."""
    health = f"http://127.0.0.1:{env['LIFEEVENTS_INTAKE_PORT']}/healthz"
    async with httpx.AsyncClient(timeout=2) as http:
        for _ in range(600):
            if _services_started(output) >= {s.name for s in SERVICES}:
                with contextlib.suppress(httpx.HTTPError):
                    if (await http.get(health)).json().get("kafka") == "connected":
                        return
            await asyncio.sleep(0.5)
    raise SystemExit(f"lifeevents run did not start every service:\n{_tail(output)}")


def _tail(output: Path) -> str:
    return output.read_text(errors="replace")[-4000:]


def _services_started(output: Path) -> set[str]:
    return {m["name"] for m in _STARTED.finditer(output.read_text(errors="replace"))}


async def _intake_keys(var: Path) -> dict[str, str]:
    """A key for each source system the generator sends as, in the run's intake store."""
    url = f"sqlite+aiosqlite:///{var / 'intake' / 'intake.db'}"
    async with await IntakeStore.open(url) as store:
        keys = ApiKeys(store)
        return {
            source: (await keys.issue(source, types)).secret
            for source, types in SOURCE_TYPES.items()
        }
