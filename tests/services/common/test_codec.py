"""Payload encryption: the codec on its own, then on the real Temporal dev server.

The real-server tests read the dev server's SQLite files byte for byte: the synthetic
personal data a workflow carries must not be there in plain text, while a canary sent
without the codec must be (which proves the search would have found it).
"""

from __future__ import annotations

import base64
import json
import random
import stat
import string
import uuid
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from temporalio import workflow
from temporalio.api.common.v1 import Payload
from temporalio.client import Client, WorkflowFailureError
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.exceptions import ApplicationError
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from contracts import AddressChangedV1, CloudEvent, from_structured
from contracts.timeline import Outcome
from deploy.local.stack import StackConfig
from services.common.codec import (
    ENCODING,
    KEY_ID_METADATA,
    EncryptionCodec,
    KeyRing,
    PayloadDecryptionError,
    PayloadKeyConfigError,
    UnknownPayloadKeyError,
    data_converter,
    key_file,
    key_ring,
    new_key_spec,
)
from services.common.settings import Settings
from tests.support.standins import finishing_births
from workflows.diagnostics import StackCheckWorkflow
from workflows.worker import build_worker

EXAMPLES = Path(__file__).resolve().parents[3] / "contracts" / "examples"


def plain(text: str) -> Payload:
    return Payload(metadata={"encoding": b"json/plain"}, data=text.encode())


def ring(*entries: str) -> KeyRing:
    return KeyRing.parse(",".join(entries))


OLD, NEW = new_key_spec(), new_key_spec()


def key_id(entry: str) -> str:
    return entry.split(":", 1)[0]


# -- the codec ---------------------------------------------------------------------------------


async def test_round_trip_restores_metadata_and_data() -> None:
    codec = EncryptionCodec(ring(NEW))
    original = [plain('{"family_name": "Placeholder"}'), Payload(metadata={"encoding": b"x"})]
    encoded = await codec.encode(original)
    assert [e.metadata["encoding"] for e in encoded] == [ENCODING, ENCODING]
    assert all(b"Placeholder" not in e.SerializeToString() for e in encoded)
    assert await codec.decode(encoded) == original


async def test_metadata_carries_the_key_id_and_nothing_else() -> None:
    (encoded,) = await EncryptionCodec(ring(NEW, OLD)).encode([plain("x")])
    assert dict(encoded.metadata) == {
        "encoding": ENCODING,
        KEY_ID_METADATA: key_id(NEW).encode(),
    }


async def test_each_encryption_uses_a_fresh_nonce() -> None:
    codec = EncryptionCodec(ring(NEW))
    first, second = await codec.encode([plain("same"), plain("same")])
    assert first.data != second.data


async def test_data_under_an_old_key_decodes_after_a_new_key_is_put_first() -> None:
    (under_old,) = await EncryptionCodec(ring(OLD)).encode([plain("before rotation")])
    rotated = EncryptionCodec(ring(NEW, OLD))
    assert await rotated.decode([under_old]) == [plain("before rotation")]
    (under_new,) = await rotated.encode([plain("after rotation")])
    assert under_new.metadata[KEY_ID_METADATA] == key_id(NEW).encode()


async def test_a_removed_key_fails_clearly_naming_only_the_key_id() -> None:
    (under_old,) = await EncryptionCodec(ring(OLD)).encode([plain("Pat Placeholder")])
    with pytest.raises(UnknownPayloadKeyError) as raised:
        await EncryptionCodec(ring(NEW)).decode([under_old])
    assert raised.value.key_id == key_id(OLD)
    assert key_id(OLD) in str(raised.value)
    assert "Placeholder" not in str(raised.value)


@pytest.mark.parametrize("where", ["first byte", "last byte", "key id"])
async def test_tampering_fails_authentication(where: str) -> None:
    codec = EncryptionCodec(ring(NEW, OLD))
    (encoded,) = await codec.encode([plain("Pat Placeholder")])
    tampered = Payload()
    tampered.CopyFrom(encoded)
    if where == "key id":  # relabelled to another key the ring holds
        tampered.metadata[KEY_ID_METADATA] = key_id(OLD).encode()
    else:
        data = bytearray(encoded.data)
        data[0 if where == "first byte" else -1] ^= 0x01
        tampered.data = bytes(data)
    with pytest.raises(PayloadDecryptionError, match="failed authentication") as raised:
        await codec.decode([tampered])
    assert "Placeholder" not in str(raised.value)


async def test_an_encrypted_payload_is_not_encrypted_twice() -> None:
    codec = EncryptionCodec(ring(NEW))
    (once,) = await codec.encode([plain("x")])
    (again,) = await codec.encode([once])
    assert again == once
    assert await codec.decode([again]) == [plain("x")]


async def test_payloads_written_before_encryption_still_decode() -> None:
    assert await EncryptionCodec(ring(NEW)).decode([plain("legacy")]) == [plain("legacy")]


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("", "empty"),
        ("no-colon", "key-id:base64-key"),
        ("k1:not base64!", "not valid base64"),
        (f"k1:{base64.b64encode(b'short').decode()}", "must be 32 bytes"),
        (f"bad id:{base64.b64encode(bytes(32)).decode()}", "must be 1-64"),
        (
            f"k1:{base64.b64encode(bytes(32)).decode()},k1:{base64.b64encode(bytes(32)).decode()}",
            "appear twice",
        ),
    ],
)
def test_malformed_key_rings_are_refused_without_echoing_keys(spec: str, message: str) -> None:
    with pytest.raises(PayloadKeyConfigError, match=message) as raised:
        KeyRing.parse(spec)
    assert base64.b64encode(bytes(32)).decode() not in str(raised.value)


def test_a_key_does_not_show_in_its_repr() -> None:
    keys = ring(NEW)
    assert NEW.split(":", 1)[1] not in repr(keys)


def test_the_ring_parses_comments_lines_and_commas() -> None:
    keys = KeyRing.parse(f"# made by hand\n{NEW}\n{OLD}  # older\n")
    assert [k.key_id for k in keys.keys] == [key_id(NEW), key_id(OLD)]
    assert keys.primary.key_id == key_id(NEW)
    assert KeyRing.parse(keys.spec()) == keys


# -- where the keys come from ------------------------------------------------------------------


@pytest.fixture(autouse=True)
def unconfigured(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No key from the environment or a `.env` file: each test says what it configures."""
    monkeypatch.delenv("LIFEEVENTS_PAYLOAD_KEYS", raising=False)
    monkeypatch.chdir(tmp_path)


def test_configured_keys_win(tmp_path: Path) -> None:
    settings = Settings(var_dir=tmp_path, payload_keys=SecretStr(f"{NEW},{OLD}"))
    assert key_ring(settings) == ring(NEW, OLD)
    assert not key_file(settings).exists()


def test_the_embedded_stack_generates_one_private_key_once(tmp_path: Path) -> None:
    settings = Settings(var_dir=tmp_path / "var", embedded_stack=True)
    first = key_ring(settings)
    path = key_file(settings)
    assert path == tmp_path / "var" / "secrets" / "payload-keys"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert key_ring(settings) == first  # read again, not regenerated
    assert len(first.keys) == 1
    assert [p.name for p in path.parent.iterdir()] == ["payload-keys"]  # no staging left


def test_without_the_embedded_stack_keys_must_be_configured(tmp_path: Path) -> None:
    settings = Settings(var_dir=tmp_path, embedded_stack=False)
    with pytest.raises(PayloadKeyConfigError, match="LIFEEVENTS_PAYLOAD_KEYS"):
        key_ring(settings)
    assert not key_file(settings).exists()


def test_keys_are_read_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("LIFEEVENTS_PAYLOAD_KEYS", f"{NEW},{OLD}")
    settings = Settings(var_dir=tmp_path)
    assert key_ring(settings).primary.key_id == key_id(NEW)
    assert NEW.split(":", 1)[1] not in repr(settings)


async def test_the_data_converter_encrypts_pydantic_values_and_failure_messages(
    tmp_path: Path,
) -> None:
    converter = data_converter(Settings(var_dir=tmp_path, payload_keys=SecretStr(NEW)))
    outcome = Outcome(type="t", id="Pat Placeholder", stage="s")
    (payload,) = await converter.encode([outcome])
    assert payload.metadata["encoding"] == ENCODING
    assert b"Placeholder" not in payload.SerializeToString()
    assert await converter.decode([payload], [Outcome]) == [outcome]

    from temporalio.api.failure.v1 import Failure

    failure = Failure()
    await converter.encode_failure(ApplicationError("Pat Placeholder moved"), failure)
    assert failure.message == "Encoded failure"
    assert b"Placeholder" not in failure.SerializeToString()
    assert failure.encoded_attributes.metadata["encoding"] == ENCODING
    assert str(await converter.decode_failure(failure)) == "Pat Placeholder moved"


# -- on the real Temporal dev server -----------------------------------------------------------


def _letters(n: int) -> str:
    return "".join(random.choices(string.ascii_lowercase, k=n))


def _postcode() -> str:
    inward = random.choice("ABDEFGHJLNPQRSTUWXYZ") + random.choice("ABDEFGHJLNPQRSTUWXYZ")
    return f"{random.choice('BDHLNS')}{random.choice('ABDEFGH')}{random.randint(1, 9)} " + (
        f"{random.randint(0, 9)}{inward}"
    )


def _unique(raw: dict[str, Any]) -> dict[str, Any]:
    return {**raw, "id": str(uuid.uuid4()), "source": "/test/codec"}


def synthetic_birth() -> tuple[CloudEvent[Any], dict[str, str]]:
    """The birth example with a mother, postcode and birth date of its own, so that no other
    test writing the example into the same server can be mistaken for a leak."""
    raw = _unique(json.loads((EXAMPLES / "birth-registered.json").read_text()))
    family, given = f"Zq{_letters(8)}", f"Vx{_letters(6)}".capitalize()
    born = (date(1960, 1, 1) + timedelta(days=random.randint(0, 14_000))).isoformat()
    postcode = _postcode()
    mother = raw["data"]["parents"][0]
    mother["name"] = {"given_names": given, "family_name": family}
    mother["date_of_birth"] = born
    mother["address"]["postcode"] = postcode
    mother["contact"] = {"email": f"{given.lower()}.{family.lower()}@example.org"}
    raw["data"]["child"]["name"]["family_name"] = family
    raw["data"]["informant"]["name"] = {"given_names": given, "family_name": family}
    raw["data"]["informant"]["address"]["postcode"] = postcode
    personal = {"family name": family, "given name": given, "postcode": postcode, "dob": born}
    return from_structured(raw), personal


def synthetic_move() -> tuple[CloudEvent[AddressChangedV1], dict[str, str]]:
    """The household move example with a mover, postcode and birth date of its own."""
    raw = _unique(json.loads((EXAMPLES / "address-changed-household.json").read_text()))
    family, given = f"Zq{_letters(8)}", f"Vx{_letters(6)}".capitalize()
    born = (date(1920, 1, 1) + timedelta(days=random.randint(0, 30_000))).isoformat()
    postcode = _postcode()
    mover = raw["data"]["movers"][0]
    mover["name"] = {"given_names": given, "family_name": family}
    mover["date_of_birth"] = born
    mover["contact"] = {"email": f"{given.lower()}.{family.lower()}@example.org"}
    raw["data"]["new_address"]["postcode"] = postcode
    personal = {"family name": family, "given name": given, "postcode": postcode, "dob": born}
    return from_structured(raw), personal  # type: ignore[return-value]


def database_bytes(var_dir: Path) -> bytes:
    """The dev server's SQLite database with its write-ahead log (and anything else there)."""
    folder = var_dir / "temporal"
    files = sorted(folder.glob("temporal.db*"))
    assert folder / "temporal.db" in files
    return b"".join(f.read_bytes() for f in files)


def leaks(var_dir: Path, values: dict[str, str]) -> list[str]:
    found = database_bytes(var_dir)
    return [what for what, v in values.items() if v.encode() in found]


@workflow.defn
class EchoMoverWorkflow:
    """Returns personal data, so that a workflow *result* is checked as well as its input."""

    @workflow.run
    async def run(self, event: CloudEvent[AddressChangedV1]) -> dict[str, str]:
        person, address = event.data.movers[0], event.data.new_address
        assert address is not None
        return {
            "name": f"{person.name.given_names} {person.name.family_name}",
            "postcode": address.postcode,
        }


@workflow.defn
class FailingMoverWorkflow:
    @workflow.run
    async def run(self, event: CloudEvent[AddressChangedV1]) -> None:
        person, address = event.data.movers[0], event.data.new_address
        raise ApplicationError(
            f"cannot rehouse {person.name.family_name} at {address and address.postcode}",
            non_retryable=True,
        )


@pytest.fixture(scope="module")
def encrypted_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return Settings(
        var_dir=tmp_path_factory.mktemp("codec-var"), payload_keys=SecretStr(new_key_spec())
    )


@pytest.fixture
async def encrypted_client(stack: StackConfig, encrypted_settings: Settings) -> Client:
    return await Client.connect(
        stack.temporal_address,
        namespace=stack.temporal_namespace,
        data_converter=data_converter(encrypted_settings),
    )


@pytest.fixture
def task_queue() -> str:
    return f"codec-{uuid.uuid4().hex}"


@pytest.mark.stack
async def test_the_grep_finds_what_is_written_in_plain_text(
    stack: StackConfig, task_queue: str
) -> None:
    """The control: without the codec a value is in the database files as written."""
    canary = f"plain-canary-{uuid.uuid4().hex}"
    client = await Client.connect(stack.temporal_address, data_converter=pydantic_data_converter)
    async with build_worker(client, task_queue):
        result = await client.execute_workflow(
            StackCheckWorkflow.run, canary, id=f"canary-{uuid.uuid4()}", task_queue=task_queue
        )
    assert result == f"echo: {canary}"
    assert leaks(stack.var_dir, {"canary": canary}) == ["canary"]


@pytest.mark.stack
async def test_no_personal_data_reaches_the_servers_database(
    stack: StackConfig, encrypted_client: Client, task_queue: str
) -> None:
    birth, born_personal = synthetic_birth()
    event, personal = synthetic_move()
    async with (
        finishing_births(encrypted_client, task_queue),
        Worker(
            encrypted_client,
            task_queue=f"{task_queue}-echo",
            workflows=[EchoMoverWorkflow],
            workflow_runner=UnsandboxedWorkflowRunner(),
        ),
    ):
        # A project workflow, run by the project's worker; its activities' inputs (the
        # people to match, the birth to record) cross the server too, to stand-ins.
        outcome = await encrypted_client.execute_workflow(
            "BirthWorkflow",
            birth,
            id=f"codec-birth-{birth.id}",
            task_queue=task_queue,
            result_type=Outcome,
        )
        echoed = await encrypted_client.execute_workflow(
            EchoMoverWorkflow.run,
            event,
            id=f"codec-echo-{event.id}",
            task_queue=f"{task_queue}-echo",
        )
    assert outcome.stage == "complete"
    assert echoed["postcode"] == personal["postcode"]  # the result did carry personal data
    assert personal["family name"] in echoed["name"]
    # …and none of it is in the server's files, input nor result.
    assert leaks(stack.var_dir, born_personal) == []
    assert leaks(stack.var_dir, personal) == []

    # Without the codec the history shows only ciphertext with its key id.
    plain_client = await Client.connect(stack.temporal_address)
    history = await plain_client.get_workflow_handle(f"codec-echo-{event.id}").fetch_history()
    started = history.events[0].workflow_execution_started_event_attributes
    (payload,) = started.input.payloads
    assert payload.metadata["encoding"] == ENCODING
    assert KEY_ID_METADATA in payload.metadata


@pytest.mark.stack
async def test_a_failure_message_is_encrypted(
    stack: StackConfig, encrypted_client: Client, task_queue: str
) -> None:
    event, personal = synthetic_move()
    workflow_id = f"codec-fail-{event.id}"
    async with Worker(
        encrypted_client,
        task_queue=task_queue,
        workflows=[FailingMoverWorkflow],
        workflow_runner=UnsandboxedWorkflowRunner(),
    ):
        with pytest.raises(WorkflowFailureError) as raised:
            await encrypted_client.execute_workflow(
                FailingMoverWorkflow.run, event, id=workflow_id, task_queue=task_queue
            )
    # The client holding the keys reads the message back…
    assert personal["family name"] in str(raised.value.cause)
    # …the server stores "Encoded failure" and ciphertext…
    history = await encrypted_client.get_workflow_handle(workflow_id).fetch_history()
    failed = history.events[-1].workflow_execution_failed_event_attributes.failure
    assert failed.message == "Encoded failure"
    assert failed.encoded_attributes.metadata["encoding"] == ENCODING
    # …and neither the message nor the stack trace is in its files.
    assert leaks(stack.var_dir, personal) == []
