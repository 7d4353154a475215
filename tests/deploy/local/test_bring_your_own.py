"""The README's "Bring your own Kafka, Temporal or PostgreSQL", followed as a new user would:
a `.env` that names a Kafka and a Temporal this machine did not start, then what `make setup`
and `make run` run there: `lifeevents stack prepare` and `lifeevents run`."""

from __future__ import annotations

import asyncio
import re
import signal
import subprocess
import sys
import sysconfig
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError
from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client

from deploy.local.services import SERVICES
from deploy.local.stack import StackConfig
from services.common.probes import kafka_answers, temporal_answers

LIFEEVENTS = Path(sysconfig.get_path("scripts")) / "lifeevents"
NAMESPACE = "lifeevents"  # the README's, so not the dev server's `default`
WORKFLOW_QUEUE = "lifeevents-workflows"
ORCHESTRATOR_GROUP = "lifeevents-orchestrator"


def wait_for(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout:.0f} s: {what}")
        time.sleep(0.3)


async def consumer_groups(bootstrap: str) -> set[str]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        return {group[0] for group in await admin.list_consumer_groups()}
    except KafkaError as error:
        if error.retriable:  # e.g. the group coordinator is still loading
            return set()
        raise
    finally:
        await admin.close()


async def workflow_pollers(address: str) -> int:
    client = await Client.connect(address, namespace=NAMESPACE)
    described = await client.workflow_service.describe_task_queue(
        DescribeTaskQueueRequest(
            namespace=NAMESPACE,
            task_queue=TaskQueue(name=WORKFLOW_QUEUE),
            task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
        )
    )
    return len(described.pollers)


def processes_of(var_dir: Path) -> list[int]:
    """Live processes started with this var folder in their environment."""
    marker = f"LIFEEVENTS_VAR_DIR={var_dir}\0".encode()
    found = []
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and marker in (proc / "environ").read_bytes():
                state = (proc / "stat").read_text().rsplit(")", 1)[1].split()[0]
                if state not in {"Z", "X"}:
                    found.append(int(proc.name))
        except OSError:
            continue
    return found


@pytest.mark.stack
def test_the_readme_example_runs_against_a_stack_it_did_not_start(
    their_stack: StackConfig,
    cli_env: Callable[..., dict[str, str]],
    live_processes: Callable[[str], list[int]],
    tmp_path: Path,
) -> None:
    kafka, temporal = their_stack.kafka_bootstrap_servers, their_stack.temporal_address
    workdir = tmp_path / "council"
    workdir.mkdir()
    dotenv = workdir / ".env"
    dotenv.write_text(
        "LIFEEVENTS_EMBEDDED_STACK=false\n"
        f"LIFEEVENTS_KAFKA_BOOTSTRAP_SERVERS={kafka}\n"
        f"LIFEEVENTS_TEMPORAL_ADDRESS={temporal}\n"
        f"LIFEEVENTS_TEMPORAL_NAMESPACE={NAMESPACE}\n"
    )
    # Free ports for the services' own HTTP servers and a var folder in tmp, as every test
    # has; everything the README puts in `.env` comes from the `.env`, read as a user's is.
    env = cli_env()
    for name in (
        "LIFEEVENTS_ENV_FILE",
        "LIFEEVENTS_PAYLOAD_KEYS",
        "LIFEEVENTS_KAFKA_BOOTSTRAP_SERVERS",
        "LIFEEVENTS_TEMPORAL_ADDRESS",
    ):
        env.pop(name)
    var_dir = Path(env["LIFEEVENTS_VAR_DIR"])

    def lifeevents(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(LIFEEVENTS), *args],
            env=env,
            cwd=workdir,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    # make setup: nothing to prepare here, and it says why.
    prepared = lifeevents("stack", "prepare")
    assert prepared.returncode == 0, prepared.stdout + prepared.stderr
    assert "nothing to prepare" in prepared.stdout
    assert kafka in prepared.stdout
    assert temporal in prepared.stdout

    # Without the payload keys the README asks for: one clear message, nothing started.
    refused = lifeevents("run")
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert "LIFEEVENTS_PAYLOAD_KEYS" in refused.stderr
    assert "Traceback" not in refused.stdout + refused.stderr
    assert processes_of(var_dir) == []

    # The README's next two lines.
    for setting, command in (("PAYLOAD_KEYS", "new-key"), ("CODEC_TOKENS", "new-token")):
        made = subprocess.run(
            [sys.executable, "-m", "services.codec", command],
            env=env,
            cwd=workdir,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        with dotenv.open("a") as out:
            out.write(f"LIFEEVENTS_{setting}={made.stdout.strip()}\n")

    output = tmp_path / "run.out"
    with output.open("wb") as out:
        run = subprocess.Popen(
            [str(LIFEEVENTS), "run"],
            env={**env, "LIFEEVENTS_LOG_FORMAT": "json"},
            cwd=workdir,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    text = lambda: output.read_text(errors="replace")  # noqa: E731
    try:
        wait_for(lambda: "Running." in text() or run.poll() is not None, 30, "run starts")
        assert re.search(rf"^kafka +{re.escape(kafka)} +external +answers$", text(), re.M)
        assert re.search(
            rf"^temporal +{re.escape(temporal)} +external +answers +namespace {NAMESPACE}$",
            text(),
            re.M,
        )
        for spec in SERVICES:
            started_line = re.compile(rf"^{re.escape(spec.name)} +\| started", re.M)
            wait_for(lambda p=started_line: bool(p.search(text())), 30, f"{spec.name} started")
        # It works against their stack: the workflow worker polls in their namespace, and
        # the orchestrator's consumer group is on their Kafka.
        wait_for(lambda: asyncio.run(workflow_pollers(temporal)) > 0, 30, "worker polls")
        wait_for(
            lambda: ORCHESTRATOR_GROUP in asyncio.run(consumer_groups(kafka)),
            30,
            "orchestrator's consumer group",
        )
        assert "Traceback" not in text()
        assert "restarting" not in text()
        assert "demo:" not in text()  # no synthetic people published into their Kafka
    finally:
        run.send_signal(signal.SIGINT)
        code = run.wait(60)

    assert code == 0, text()
    for spec in SERVICES:
        assert re.search(rf"^{re.escape(spec.name)} +\| stopped", text(), re.M), spec.name
    # It stopped what it started, and not the stack it was given.
    assert processes_of(var_dir) == []
    assert "kafka: stopped" not in text()
    assert "temporal: stopped" not in text()
    assert len(live_processes(str(their_stack.var_dir))) == 2
    assert asyncio.run(kafka_answers(kafka))
    assert asyncio.run(temporal_answers(temporal, NAMESPACE))
    assert not (var_dir / "kafka" / "data").exists()
