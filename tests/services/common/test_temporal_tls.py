"""Every process connects to Temporal the one way (`services.common.temporal`): plaintext for
the embedded dev server, mTLS with a client certificate, or an API key over TLS (Temporal
Cloud), from settings; and the CLI probe connects as the SDK does.

The real checks run against the session's Temporal dev server behind a TLS front that
demands a client certificate (`tests.support.tls_front`): the dev server has no TLS of its
own."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from pydantic import SecretStr
from temporalio.service import RPCError

from deploy.local.certs import LocalCa
from deploy.local.stack import StackConfig
from services.common.probes import temporal_answers
from services.common.settings import Settings
from services.common.temporal import TemporalTlsError, cli_env, connect, tls_config
from tests.support.tls_front import tls_front

KEYS = "test:" + "A" * 43 + "="


def settings(**values: object) -> Settings:
    return Settings.model_validate({"payload_keys": SecretStr(KEYS), **values})


def test_the_embedded_dev_server_is_plaintext() -> None:
    assert tls_config(settings()) is False
    assert "TEMPORAL_TLS" not in cli_env(settings())


def test_an_api_key_goes_over_tls_with_the_systems_roots() -> None:
    cloud = settings(
        temporal_address="council.a1b2c.tmprl.cloud:7233",
        temporal_namespace="council.a1b2c",
        temporal_api_key=SecretStr("key-not-real"),
    )
    assert tls_config(cloud) is True
    # In the probe's environment, never on its command line (every process listing shows it).
    assert cli_env(cloud) == {
        "TEMPORAL_ADDRESS": "council.a1b2c.tmprl.cloud:7233",
        "TEMPORAL_NAMESPACE": "council.a1b2c",
        "TEMPORAL_API_KEY": "key-not-real",
        "TEMPORAL_TLS": "true",
    }


def test_a_certificate_without_its_key_is_refused_by_name(tmp_path: Path) -> None:
    half = settings(temporal_tls_cert_file=tmp_path / "client.pem")
    with pytest.raises(TemporalTlsError, match="CERT_FILE and LIFEEVENTS_TEMPORAL_TLS_KEY_FILE"):
        tls_config(half)
    with pytest.raises(TemporalTlsError):
        cli_env(half)


def test_a_missing_file_is_named_and_nothing_read_is_quoted(tmp_path: Path) -> None:
    missing = settings(temporal_tls_ca_file=tmp_path / "nowhere" / "ca.pem")
    with pytest.raises(TemporalTlsError, match=r"CA .*nowhere/ca\.pem cannot be read"):
        tls_config(missing)


@pytest.fixture
async def mtls(
    stack: StackConfig, tmp_path: Path, free_port: Callable[[], int]
) -> AsyncIterator[tuple[str, LocalCa]]:
    ca = LocalCa(tmp_path / "ca")
    front = ca.issue("temporal-frontend")
    async with tls_front(
        (stack.temporal_host, stack.temporal_port), front, ca.cert, free_port()
    ) as front:
        yield front.address, ca


async def test_a_client_with_its_certificate_works_through_mtls(
    mtls: tuple[str, LocalCa], stack: StackConfig
) -> None:
    address, ca = mtls
    mine = ca.issue("workflow-worker", client=True)
    tls = settings(
        temporal_address=address,
        temporal_namespace=stack.temporal_namespace,
        temporal_tls_ca_file=ca.cert,
        temporal_tls_cert_file=mine.cert,
        temporal_tls_key_file=mine.key,
    )
    client = await connect(tls)
    workflow_id = f"tls-{uuid.uuid4().hex}"
    # A workflow no worker serves: started and described over mTLS is all this needs.
    handle = await client.start_workflow(
        "NobodyServesThis", "a synthetic input", id=workflow_id, task_queue="tls-test"
    )
    assert (await handle.describe()).id == workflow_id
    await handle.terminate("tls test")
    assert await temporal_answers(address, stack.temporal_namespace, timeout=5, env=cli_env(tls))


async def test_without_a_certificate_of_the_ca_the_front_refuses(
    mtls: tuple[str, LocalCa], stack: StackConfig, tmp_path: Path
) -> None:
    address, ca = mtls
    stranger = LocalCa(tmp_path / "another-ca", "Not the council's CA").issue(
        "stranger", client=True
    )
    attempts = {
        "no client certificate": settings(temporal_tls_ca_file=ca.cert),
        "a certificate another CA signed": settings(
            temporal_tls_ca_file=ca.cert,
            temporal_tls_cert_file=stranger.cert,
            temporal_tls_key_file=stranger.key,
        ),
        "plaintext": settings(),
    }
    for what, attempt in attempts.items():
        attempt = attempt.model_copy(
            update={"temporal_address": address, "temporal_namespace": stack.temporal_namespace}
        )
        assert not await _connects(attempt), f"connected with {what}"
        assert not await temporal_answers(
            address, stack.temporal_namespace, timeout=3, env=cli_env(attempt)
        ), what


async def _connects(attempt: Settings) -> bool:
    try:
        client = await connect(attempt)
        await client.count_workflows()
    except (RuntimeError, RPCError):
        return False
    return True
