"""`lifeevents run` on the embedded Kafka with its security on: TLS, SASL/SCRAM-SHA-512, the
authorizer denying what no ACL allows, and each service signed in as its own principal.

Every Kafka-using service works through it (the intake publishes, the orchestrator starts the
workflows and dead-letters a poison record, the intake's index reads the dead letter, the
partners service's producer is up, the consent service's principal writes consent changes); a
registered source system, and one registered while it all runs (`lifeevents kafka
add-source`), publish straight onto the topic; a client without credentials, without TLS,
with a wrong password, or a service on a topic its ACLs do not give it, is refused; and every
event published is read, once.
"""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from pydantic import SecretStr
from temporalio.client import Client

from contracts import CloudEvent, to_binary, to_structured
from contracts.temporal import workflow_id_for
from deploy.kafka_acls import present_acls
from services.common.kafka import EmbeddedKafkaSecrets, KafkaAccess, kafka_access
from services.common.settings import Settings
from services.common.topics import partitions_of
from tests.deploy.local.running import finished, lifeevents_running, rows
from tests.deploy.local.test_move_end_to_end import HOUSEHOLD, move

MOVE = "lifeevents.address.changed.v1"
SOURCE = "register-office"  # a registered source system's principal
DIRECT = 4  # moves the source system publishes itself
LATE = "housing"  # a source system registered while the platform runs


async def post_until_accepted(base: str, key: str, event: CloudEvent[Any]) -> httpx.Response:
    """POST the event, again while the intake is not listening yet or answers 503."""
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/cloudevents+json"}
    async with httpx.AsyncClient(base_url=base, timeout=10) as http:
        for _ in range(120):
            with contextlib.suppress(httpx.ConnectError):
                answer = await http.post(
                    "/v1/events", content=to_structured(event), headers=headers
                )
                if answer.status_code != 503:
                    return answer
            await asyncio.sleep(0.5)
    raise AssertionError("the intake never took the event")


async def refusal(access: KafkaAccess, topic: str = "lifeevents.v1") -> str | None:
    """Why a producer with `access` could not write to `topic`; None if it did."""
    producer = AIOKafkaProducer(**access.client_kwargs(), acks="all", request_timeout_ms=10_000)
    try:
        await asyncio.wait_for(producer.start(), 20)
        await asyncio.wait_for(producer.send_and_wait(topic, b"intruder"), 20)
    except Exception as error:
        return type(error).__name__
    finally:
        with contextlib.suppress(Exception):
            await producer.stop()
    return None


async def read_refusal(access: KafkaAccess, topic: str, group: str) -> str | None:
    consumer = AIOKafkaConsumer(
        topic, **access.client_kwargs(), group_id=group, auto_offset_reset="earliest"
    )
    try:
        await asyncio.wait_for(consumer.start(), 20)
        await asyncio.wait_for(consumer.getone(), 20)
    except Exception as error:
        return type(error).__name__
    finally:
        with contextlib.suppress(Exception):
            await consumer.stop()
    return None


async def publish_as(
    access: KafkaAccess, events: list[CloudEvent[Any]], poison: list[tuple[str, bytes]] | None
) -> None:
    producer = AIOKafkaProducer(**access.client_kwargs(), acks="all", enable_idempotence=True)
    await producer.start()
    try:
        for event in events:
            record = to_binary(event)
            await producer.send_and_wait(
                "lifeevents.v1", value=record.value, key=record.key, headers=list(record.headers)
            )
        if poison is not None:
            # Named like an event, but its body is no life event: it is dead-lettered.
            await producer.send_and_wait("lifeevents.v1", value=b"{not json", headers=poison)
    finally:
        await producer.stop()


async def records_on(access: KafkaAccess, topic: str) -> list[bytes]:
    """Every record on the topic, read as the admin without a consumer group."""
    consumer = AIOKafkaConsumer(**access.client_kwargs(), enable_auto_commit=False)
    await consumer.start()
    try:
        assigned = await partitions_of(access, topic)
        consumer.assign(assigned)
        await consumer.seek_to_beginning(*assigned)
        ends = await consumer.end_offsets(assigned)
        values: list[bytes] = []
        while [tp for tp in assigned if await consumer.position(tp) < ends[tp]]:
            for batch in (await consumer.getmany(*assigned, timeout_ms=1000)).values():
                values.extend(r.value or b"" for r in batch)
        return values
    finally:
        await consumer.stop()


async def started(client: Client, event: CloudEvent[Any]) -> bool:
    handle = client.get_workflow_handle(workflow_id_for(event.source, event.id))
    for _ in range(120):
        with contextlib.suppress(Exception):
            await handle.describe()
            return True
        await asyncio.sleep(0.5)
    return False


@pytest.mark.stack
async def test_every_service_works_through_a_secured_kafka_and_no_one_else_gets_in(
    cli_env: Callable[..., dict[str, str]],
    run_cli: Callable[..., subprocess.CompletedProcess[str]],
    tmp_path: Path,
) -> None:
    env = cli_env(
        LIFEEVENTS_LOG_FORMAT="json",
        LIFEEVENTS_KAFKA_EMBEDDED_SECURITY="true",
        LIFEEVENTS_KAFKA_SOURCE_PRINCIPALS=SOURCE,
    )
    var = Path(env["LIFEEVENTS_VAR_DIR"])
    bootstrap = env["LIFEEVENTS_KAFKA_BOOTSTRAP_SERVERS"]
    issued = run_cli("keys", "issue", "--source", HOUSEHOLD["source"], "--type", MOVE, env=env)
    assert issued.returncode == 0, issued.stderr
    old, new = HOUSEHOLD["data"]["old_address"], HOUSEHOLD["data"]["new_address"]
    through_intake = move(old, new, "2025-10-18")
    # Other households (synthetic), so that no move is taken for another's repeat.
    direct = [
        move(
            old,
            {**new, "lines": [f"{n + 10} Notional Lane"]},
            "2025-10-18",
            movers=[{"name": {"given_names": f"Alex{n}", "family_name": "Example"}}],
        )
        for n in range(DIRECT + 1)
    ]
    late = direct.pop()
    poison_id = str(uuid.uuid4())
    poison = [
        ("ce_specversion", b"1.0"),
        ("ce_id", poison_id.encode()),
        ("ce_source", HOUSEHOLD["source"].encode()),
        ("ce_type", MOVE.encode()),
        ("content-type", b"application/json"),
    ]

    output = tmp_path / "run.out"
    async with lifeevents_running(env, output) as client:
        admin = kafka_access(
            Settings(
                var_dir=var,
                kafka_bootstrap_servers=bootstrap,
                embedded_stack=True,
                kafka_embedded_security=True,
                kafka_username=None,
            )
        )
        secrets = EmbeddedKafkaSecrets.under(var)

        def signed_in(principal: str) -> KafkaAccess:
            password = secrets.password_file(principal).read_text().strip()
            return admin.signed_in_as(principal, SecretStr(password))

        # The intake, as itself, publishes; the orchestrator, as itself, starts the workflow,
        # which runs to the end through every service.
        answer = await post_until_accepted(
            f"http://127.0.0.1:{env['LIFEEVENTS_INTAKE_PORT']}",
            issued.stdout.strip().splitlines()[-1],
            through_intake,
        )
        assert answer.status_code == 202, answer.text
        # A registered source system publishes straight onto the topic, a poison record too.
        await publish_as(signed_in(SOURCE), direct, poison)
        assert (await finished(client, through_intake)).stage == "complete"
        # One registered while it all runs gets its credential and ACLs, and publishes too.
        added = run_cli("kafka", "add-source", LATE, env=env)
        assert added.returncode == 0, added.stderr
        await publish_as(signed_in(LATE), [late], None)
        assert all([await started(client, event) for event in [*direct, late]])

        # Who may do what is what `lifeevents kafka acls` printed and applied, and no more.
        acls = await present_acls(admin)
        readers = {a.principal for a in acls if a.name == "lifeevents.v1" and a.operation == "read"}
        writers = {
            a.principal for a in acls if a.name == "lifeevents.v1" and a.operation == "write"
        }
        assert readers == {"lifeevents-orchestrator"}
        assert writers == {"lifeevents-intake", SOURCE, LATE}
        printed = run_cli("kafka", "acls", env=env)
        assert printed.returncode == 0, printed.stderr
        # A heading, then each ACL: the late source's two are not in the settings it reads.
        assert len(printed.stdout.splitlines()) == 1 + len(acls) - 2

        # Refused: no credentials; TLS but no SASL; SASL without TLS; a wrong password.
        plain = KafkaAccess(bootstrap)
        assert await refusal(plain) is not None
        assert await refusal(KafkaAccess(bootstrap, "SSL", ssl_context=admin.ssl_context))
        assert await refusal(
            KafkaAccess(
                bootstrap,
                "SASL_PLAINTEXT",
                "SCRAM-SHA-512",
                SOURCE,
                signed_in(SOURCE).password,
            )
        )
        assert await refusal(admin.signed_in_as(SOURCE, SecretStr("wrong"))) is not None
        # The consent service connects only when a consent changes: its principal, as the
        # supervisor gave it, may write consent changes, and life events it may not.
        consent = signed_in("lifeevents-consent")
        assert await refusal(consent, "consent.v1") is None
        assert await refusal(consent) == "TopicAuthorizationFailedError"
        # Refused by the ACLs: the partners service writing life events, a source system
        # writing dead letters, the intake reading life events in the orchestrator's group.
        partners = await refusal(signed_in("lifeevents-partners"))
        assert partners == "TopicAuthorizationFailedError"
        assert await refusal(signed_in(SOURCE), "lifeevents.v1.dlq") == (
            "TopicAuthorizationFailedError"
        )
        intake_reads = await read_refusal(
            signed_in("lifeevents-intake"), "lifeevents.v1", "lifeevents-orchestrator"
        )
        assert intake_reads is not None
        assert "Authorization" in intake_reads

        # Nothing lost, nothing let in: the topic holds exactly what was published, the
        # poison record went to the dead-letter topic, and the intake's index read it there.
        on_topic = await records_on(admin, "lifeevents.v1")
        assert len(on_topic) == 1 + DIRECT + 1 + 1
        assert b"intruder" not in on_topic
        assert await records_on(admin, "lifeevents.v1.dlq") == [b"{not json"]
        indexed = 0
        for _ in range(60):
            indexed = rows(var / "intake" / "intake.db", "intake_dead_letters")
            if indexed:
                break
            await asyncio.sleep(0.5)
        assert indexed == 1
        # Operators' tools sign in as the stack's admin: the dead letter is listed.
        listed = run_cli("dlq", "list", env=env)
        assert listed.returncode == 0, listed.stderr
        assert f"id={poison_id}" in listed.stdout

    log = output.read_text(errors="replace")
    for started_line in ("intake.producer_started", "intake.dlq_index_started"):
        assert started_line in log
    assert "partners.producer_started" in log
