"""The codec server as a real process, read through by the real `temporal` CLI.

The CLI is a client nobody here wrote: it shows a decoded history only if the server speaks
Temporal's codec protocol, and only with a valid token.
"""

from __future__ import annotations

import base64
import json
import signal
import socket
import subprocess
import sys
import sysconfig
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from temporalio.client import Client

from contracts import from_structured
from deploy.local.stack import StackConfig
from services.common.codec import data_converter, new_key_spec
from services.common.settings import Settings
from tests.support import subprocess_env

pytestmark = pytest.mark.stack

REPO_ROOT = Path(__file__).resolve().parents[3]
TEMPORAL = Path(sysconfig.get_path("scripts")) / "temporal"
TOKEN = f"ops-{uuid.uuid4().hex}"
KEYS = f"{new_key_spec()},{new_key_spec()}"
EXAMPLE = json.loads((REPO_ROOT / "contracts/examples/birth-registered.json").read_text())


def wait_for_port(port: int, process: subprocess.Popen[bytes], timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, "the codec server exited"
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise AssertionError(f"the codec server did not listen on {port}")


@pytest.fixture(scope="module")
def codec_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("codec-server") / "codec.log"


def log_events(log: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]


def refusals(log: Path) -> int:
    return sum(e["event"] == "codec.refused" for e in log_events(log))


@pytest.fixture(scope="module")
def codec_server(codec_log: Path, free_port: Callable[[], int]) -> Iterator[str]:
    port = free_port()
    var_dir = codec_log.parent
    env = subprocess_env()
    env.update(
        LIFEEVENTS_VAR_DIR=str(var_dir),
        LIFEEVENTS_CODEC_PORT=str(port),
        LIFEEVENTS_CODEC_TOKENS=TOKEN,
        LIFEEVENTS_PAYLOAD_KEYS=KEYS,
        LIFEEVENTS_LOG_FORMAT="json",
    )
    with codec_log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "services.codec"],
            env=env,
            cwd=REPO_ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_for_port(port, process)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.send_signal(signal.SIGTERM)
        code = process.wait(15)
        output = codec_log.read_text()
        # A requested stop is a clean exit, and nothing personal or secret was logged.
        assert code == 0, output
        assert "Traceback" not in output
        assert TOKEN not in output
        assert "Fictionalson" not in output


@pytest.fixture(scope="module")
async def moved(stack: StackConfig) -> AsyncIterator[str]:
    """The ID of a BirthWorkflow started with encrypted payloads. No worker runs it: its
    started event holds the encrypted input, which is all these tests read."""
    client = await Client.connect(
        stack.temporal_address,
        namespace=stack.temporal_namespace,
        data_converter=data_converter(Settings(payload_keys=SecretStr(KEYS))),
    )
    event = from_structured({**EXAMPLE, "id": str(uuid.uuid4()), "source": "/test/codec-cli"})
    handle = await client.start_workflow(
        "BirthWorkflow",
        event,
        id=f"codec-cli-{event.id}",
        task_queue=f"codec-cli-{uuid.uuid4().hex}",
    )
    try:
        yield handle.id
    finally:
        await handle.terminate(reason="test over")


def show(stack: StackConfig, workflow_id: str, *codec: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            str(TEMPORAL),
            "workflow",
            "show",
            "--workflow-id",
            workflow_id,
            "--address",
            stack.temporal_address,
            "--namespace",
            stack.temporal_namespace,
            "-o",
            "json",
            *codec,
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def payloads(node: Any) -> Iterator[tuple[dict[str, bytes], bytes]]:
    """Every payload in a history as the CLI prints it (protobuf JSON: bytes in base64)."""
    if isinstance(node, dict):
        if set(node) <= {"metadata", "data"} and "metadata" in node:
            metadata = {k: base64.b64decode(v) for k, v in node["metadata"].items()}
            yield metadata, base64.b64decode(node.get("data", ""))
            return
        for value in node.values():
            yield from payloads(value)
    elif isinstance(node, list):
        for value in node:
            yield from payloads(value)


def started_input(output: str) -> list[tuple[dict[str, bytes], bytes]]:
    first = json.loads(output)["events"][0]
    return list(payloads(first["workflowExecutionStartedEventAttributes"]["input"]))


def everything(output: str) -> bytes:
    """The CLI's output with every payload's bytes decoded from base64 as well."""
    history = json.loads(output)
    return output.encode() + b"".join(data for _, data in payloads(history))


def test_the_cli_shows_the_decoded_history_through_the_codec_server(
    stack: StackConfig, codec_server: str, codec_log: Path, moved: str
) -> None:
    shown = show(stack, moved, "--codec-endpoint", codec_server, "--codec-auth", f"Bearer {TOKEN}")
    assert shown.returncode == 0, shown.stderr
    ((metadata, data),) = started_input(shown.stdout)
    assert metadata["encoding"] == b"json/plain"
    event = json.loads(data)
    assert event["data"]["child"]["name"]["family_name"] == "Fictionalson"
    assert event["data"]["parents"][0]["date_of_birth"] == "1992-04-30"
    assert event["data"]["parents"][0]["address"]["postcode"] == "AB1 2DF"
    # The CLI named the namespace (X-Namespace), and the server checked it.
    decoded = [e for e in log_events(codec_log) if e["event"] == "codec.decoded"]
    assert decoded
    assert {e["namespace"] for e in decoded} == {stack.temporal_namespace}


def test_without_the_codec_server_the_cli_shows_ciphertext(stack: StackConfig, moved: str) -> None:
    shown = show(stack, moved)
    assert shown.returncode == 0, shown.stderr
    ((metadata, _),) = started_input(shown.stdout)
    assert metadata["encoding"] == b"binary/encrypted"
    assert metadata["encryption-key-id"] == KEYS.split(":")[0].encode()
    for personal in (b"Fictionalson", b"1992-04-30", b"AB1 2DF"):
        assert personal not in everything(shown.stdout)


@pytest.mark.parametrize(
    "auth", [[], ["--codec-auth", "Bearer not-the-token"]], ids=["none", "wrong"]
)
def test_without_a_valid_token_the_cli_gets_nothing_decoded(
    stack: StackConfig, codec_server: str, codec_log: Path, moved: str, auth: list[str]
) -> None:
    # The CLI retries a refused decode until its deadline, then gives up showing nothing.
    before = refusals(codec_log)
    shown = show(stack, moved, "--codec-endpoint", codec_server, "--command-timeout", "2s", *auth)
    assert shown.returncode != 0
    assert "Fictionalson" not in shown.stdout + shown.stderr
    assert refusals(codec_log) > before
