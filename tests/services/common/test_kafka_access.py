"""How a process reaches Kafka, from its settings: the same connection for FastStream's broker
and every raw aiokafka client, and no secret where it could be printed."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest
from faststream.security import BaseSecurity, SASLOAuthBearer, SASLPlaintext, SASLScram512
from pydantic import SecretStr

from deploy.local.certs import LocalCa
from services.common.kafka import (
    EmbeddedKafkaSecrets,
    KafkaAccess,
    StaticToken,
    kafka_access,
    make_broker,
)
from services.common.settings import Settings

CA = Path(ssl.get_default_verify_paths().cafile or "/etc/ssl/certs/ca-certificates.crt")


def settings(**values: object) -> Settings:
    return Settings(embedded_stack=False, kafka_bootstrap_servers="a:9092,b:9092", **values)  # type: ignore[arg-type]


def test_plaintext_by_default() -> None:
    access = kafka_access(settings())
    assert access.client_kwargs() == {
        "bootstrap_servers": "a:9092,b:9092",
        "security_protocol": "PLAINTEXT",
    }
    assert access.broker_security() is None
    assert access.servers == ["a:9092", "b:9092"]
    assert KafkaAccess.of("a:9092") == KafkaAccess("a:9092")


def test_scram_over_tls_with_the_password_from_a_file(tmp_path: Path) -> None:
    password = tmp_path / "password"
    password.write_text("s3cret\n")
    access = kafka_access(
        settings(
            kafka_security_protocol="SASL_SSL",
            kafka_username="lifeevents-intake",
            kafka_password_file=password,
            kafka_ssl_ca_file=CA,
        )
    )
    kwargs = access.client_kwargs()
    assert kwargs["security_protocol"] == "SASL_SSL"
    assert kwargs["sasl_mechanism"] == "SCRAM-SHA-512"
    assert kwargs["sasl_plain_username"] == "lifeevents-intake"
    assert kwargs["sasl_plain_password"] == "s3cret"
    assert isinstance(kwargs["ssl_context"], ssl.SSLContext)
    assert kwargs["ssl_context"].check_hostname
    security = access.broker_security()
    assert isinstance(security, SASLScram512)
    assert security.use_ssl
    assert "s3cret" not in repr(access)


def test_plain_without_tls_and_tls_without_sasl() -> None:
    plain = kafka_access(
        settings(
            kafka_security_protocol="SASL_PLAINTEXT",
            kafka_sasl_mechanism="PLAIN",
            kafka_username="u",
            kafka_password=SecretStr("p"),
        )
    )
    assert "ssl_context" not in plain.client_kwargs()
    assert isinstance(plain.broker_security(), SASLPlaintext)
    assert not plain.broker_security().use_ssl  # type: ignore[union-attr]
    tls = kafka_access(settings(kafka_security_protocol="SSL"))
    assert "sasl_mechanism" not in tls.client_kwargs()
    security = tls.broker_security()
    assert type(security) is BaseSecurity
    assert security.use_ssl


async def test_oauthbearer_reads_the_token_file_at_every_sign_in(tmp_path: Path) -> None:
    token = tmp_path / "token"
    token.write_text("first\n")
    access = kafka_access(
        settings(
            kafka_security_protocol="SASL_SSL",
            kafka_sasl_mechanism="OAUTHBEARER",
            kafka_oauth_token_file=token,
        )
    )
    provider = access.client_kwargs()["sasl_oauth_token_provider"]
    assert isinstance(provider, StaticToken)
    assert await provider.token() == "first"
    token.write_text("refreshed\n")
    assert await provider.token() == "refreshed"
    assert isinstance(access.broker_security(), SASLOAuthBearer)
    with pytest.raises(ValueError, match="OAUTHBEARER"):
        kafka_access(
            settings(kafka_security_protocol="SASL_SSL", kafka_sasl_mechanism="OAUTHBEARER")
        )


def test_the_embedded_secured_stack_signs_a_process_without_a_principal_in_as_its_admin(
    tmp_path: Path,
) -> None:
    secrets = EmbeddedKafkaSecrets.under(tmp_path)
    secrets.folder.mkdir(parents=True)
    secrets.password_file("admin").write_text("admin-pw\n")
    secrets.ca_file.write_text(CA.read_text())
    embedded = Settings(var_dir=tmp_path, embedded_stack=True, kafka_embedded_security=True)
    kwargs = kafka_access(embedded).client_kwargs()
    assert (kwargs["security_protocol"], kwargs["sasl_mechanism"]) == ("SASL_SSL", "SCRAM-SHA-512")
    assert (kwargs["sasl_plain_username"], kwargs["sasl_plain_password"]) == ("admin", "admin-pw")
    # A service the supervisor gave a principal signs in as that, with its own password.
    own = tmp_path / "own"
    own.write_text("mine")
    service = embedded.model_copy(
        update={"kafka_username": "lifeevents-intake", "kafka_password_file": own}
    )
    kwargs = kafka_access(service).client_kwargs()
    assert (kwargs["sasl_plain_username"], kwargs["sasl_plain_password"]) == (
        "lifeevents-intake",
        "mine",
    )


def test_the_broker_gets_the_same_security() -> None:
    broker = make_broker(
        settings(
            kafka_security_protocol="SASL_PLAINTEXT",
            kafka_username="lifeevents-orchestrator",
            kafka_password=SecretStr("p"),
        ),
        client_id="orchestrator",
    )
    # What FastStream makes its consumers with.
    consumer_kwargs = broker.config.broker_config.builder.keywords  # type: ignore[attr-defined]
    assert consumer_kwargs["security_protocol"] == "SASL_PLAINTEXT"
    assert consumer_kwargs["sasl_mechanism"] == "SCRAM-SHA-512"
    assert consumer_kwargs["sasl_plain_username"] == "lifeevents-orchestrator"


def test_a_client_certificate_for_brokers_that_want_mtls(tmp_path: Path) -> None:
    ca = LocalCa(tmp_path / "ca")
    issued = ca.issue("lifeevents-intake", client=True)
    other = ca.issue("someone-else", client=True)
    access = kafka_access(
        settings(
            kafka_security_protocol="SSL",
            kafka_ssl_ca_file=ca.cert,
            kafka_ssl_cert_file=issued.cert,
            kafka_ssl_key_file=issued.key,
        )
    )
    assert access.client_kwargs()["ssl_context"] is not None
    # A key that is not the certificate's is found out at start, not at the first handshake.
    with pytest.raises(ssl.SSLError):
        kafka_access(
            settings(
                kafka_security_protocol="SSL",
                kafka_ssl_cert_file=issued.cert,
                kafka_ssl_key_file=other.key,
            )
        )
