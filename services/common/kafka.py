"""The one way every process reaches Kafka: its FastStream broker, and the connection (address,
TLS, SASL) every raw aiokafka client is built with."""

from __future__ import annotations

import dataclasses
import logging
import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiokafka.abc import AbstractTokenProvider
from faststream.kafka import KafkaBroker
from faststream.security import (
    BaseSecurity,
    SASLOAuthBearer,
    SASLPlaintext,
    SASLScram256,
    SASLScram512,
)
from pydantic import SecretStr

from services.common.settings import Settings

__all__ = [
    "EmbeddedKafkaSecrets",
    "KafkaAccess",
    "KafkaTarget",
    "StaticToken",
    "kafka_access",
    "make_broker",
]

_SASL_CLASSES: dict[str, type[SASLPlaintext | SASLScram256 | SASLScram512]] = {
    "PLAIN": SASLPlaintext,
    "SCRAM-SHA-256": SASLScram256,
    "SCRAM-SHA-512": SASLScram512,
}


class StaticToken(AbstractTokenProvider):  # type: ignore[misc]  # aiokafka.abc is untyped
    """OAUTHBEARER with a token someone else obtains: given, or read from a file at every
    sign-in (so a sidecar refreshing the file is all the refreshing there is)."""

    def __init__(self, token: SecretStr | None = None, file: Path | None = None) -> None:
        if token is None and file is None:
            raise ValueError("OAUTHBEARER needs LIFEEVENTS_KAFKA_OAUTH_TOKEN or _TOKEN_FILE")
        self._token = token
        self._file = file

    async def token(self) -> str:
        if self._file is not None:
            return self._file.read_text().strip()
        assert self._token is not None
        return self._token.get_secret_value()


@dataclass(frozen=True)
class KafkaAccess:
    """Where the cluster is and how this process proves who it is. Built once from settings
    (`kafka_access`); every client, FastStream's or aiokafka's, is made from it."""

    bootstrap_servers: str
    security_protocol: str = "PLAINTEXT"
    sasl_mechanism: str | None = None
    username: str | None = None
    password: SecretStr | None = dataclasses.field(default=None, repr=False)
    token_provider: AbstractTokenProvider | None = dataclasses.field(default=None, repr=False)
    ssl_context: ssl.SSLContext | None = dataclasses.field(default=None, repr=False)

    @classmethod
    def of(cls, target: KafkaTarget) -> KafkaAccess:
        """A bare `host:port,…` is a plaintext cluster that asks nobody who they are."""
        return target if isinstance(target, KafkaAccess) else cls(bootstrap_servers=target)

    @property
    def servers(self) -> list[str]:
        # FastStream takes a string as one host, so "a:9092,b:9092" (any cluster of more than
        # one broker) would never connect: hand it the list.
        return [server.strip() for server in self.bootstrap_servers.split(",")]

    def signed_in_as(self, username: str, password: SecretStr) -> KafkaAccess:
        """The same cluster, another principal (the embedded stack's admin, a test's intruder)."""
        return dataclasses.replace(self, username=username, password=password)

    def client_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for AIOKafkaProducer, AIOKafkaConsumer and AIOKafkaAdminClient."""
        kwargs: dict[str, Any] = {
            "bootstrap_servers": self.bootstrap_servers,
            "security_protocol": self.security_protocol,
        }
        if self.ssl_context is not None:
            kwargs["ssl_context"] = self.ssl_context
        if self.sasl_mechanism is not None:
            kwargs["sasl_mechanism"] = self.sasl_mechanism
            if self.sasl_mechanism == "OAUTHBEARER":
                kwargs["sasl_oauth_token_provider"] = self.token_provider
            else:
                kwargs["sasl_plain_username"] = self.username
                kwargs["sasl_plain_password"] = _secret(self.password)
        return kwargs

    def broker_security(self) -> BaseSecurity | None:
        """The same, as FastStream's security object."""
        if self.sasl_mechanism is None:
            if self.ssl_context is None:
                return None
            return BaseSecurity(ssl_context=self.ssl_context, use_ssl=True)
        use_ssl = self.security_protocol == "SASL_SSL"
        if self.sasl_mechanism == "OAUTHBEARER":
            return SASLOAuthBearer(ssl_context=self.ssl_context, use_ssl=use_ssl)
        return _SASL_CLASSES[self.sasl_mechanism](
            self.username or "", _secret(self.password), self.ssl_context, use_ssl
        )


KafkaTarget = str | KafkaAccess
"""What a raw client is pointed at: a plaintext address, or a full `KafkaAccess`."""


@dataclass(frozen=True)
class EmbeddedKafkaSecrets:
    """Where the embedded stack keeps its Kafka CA and principals' passwords (under var_dir,
    owner-only), written by deploy/local and read here by every process of that stack."""

    folder: Path

    @classmethod
    def under(cls, var_dir: Path) -> EmbeddedKafkaSecrets:
        return cls(var_dir.resolve() / "secrets" / "kafka")

    ADMIN = "admin"

    @property
    def ca_file(self) -> Path:
        return self.folder / "ca.pem"

    def password_file(self, principal: str) -> Path:
        return self.folder / f"{principal}.password"


def kafka_access(settings: Settings) -> KafkaAccess:
    """This process's way into Kafka, from its settings.

    On the embedded stack with security on, a process given no principal of its own (the
    `lifeevents` command, a developer's shell) signs in as the stack's admin: the supervisor
    gives each service its own."""
    protocol: str = settings.kafka_security_protocol
    mechanism: str = settings.kafka_sasl_mechanism
    username, password = settings.kafka_username, settings.kafka_password
    ca_file = settings.kafka_ssl_ca_file
    if settings.embedded_stack and settings.kafka_embedded_security:
        secrets = EmbeddedKafkaSecrets.under(settings.var_dir)
        protocol, mechanism = "SASL_SSL", "SCRAM-SHA-512"
        ca_file = ca_file or secrets.ca_file
        if username is None:
            username = EmbeddedKafkaSecrets.ADMIN
            password = None
            if (admin := secrets.password_file(username)).exists():
                password = SecretStr(admin.read_text().strip())
    if password is None and settings.kafka_password_file is not None:
        password = SecretStr(settings.kafka_password_file.read_text().strip())
    uses_ssl = protocol in {"SSL", "SASL_SSL"}
    sasl = mechanism if protocol.startswith("SASL_") else None
    return KafkaAccess(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        security_protocol=protocol,
        sasl_mechanism=sasl,
        username=username,
        password=password,
        token_provider=(
            StaticToken(settings.kafka_oauth_token, settings.kafka_oauth_token_file)
            if sasl == "OAUTHBEARER"
            else None
        ),
        ssl_context=(
            _ssl_context(ca_file, settings.kafka_ssl_cert_file, settings.kafka_ssl_key_file)
            if uses_ssl
            else None
        ),
    )


def _ssl_context(
    ca_file: Path | None, cert_file: Path | None, key_file: Path | None
) -> ssl.SSLContext:
    # The system's CAs unless the cluster's own is named; hostnames always checked.
    context = ssl.create_default_context(cafile=str(ca_file) if ca_file else None)
    if cert_file is not None:
        context.load_cert_chain(str(cert_file), str(key_file) if key_file else None)
    return context


def _secret(value: SecretStr | None) -> str:
    return value.get_secret_value() if value is not None else ""


def make_broker(settings: Settings, client_id: str) -> KafkaBroker:
    access = kafka_access(settings)
    # acks=all with idempotence: a publish returns only once the record is durably written,
    # and a producer retry never writes it twice.
    return KafkaBroker(
        access.servers,
        client_id=client_id,
        acks="all",
        enable_idempotence=True,
        security=access.broker_security(),
        # FastStream's security object carries no token provider: it goes in beside it.
        sasl_oauth_token_provider=access.token_provider,
        # Through the project's logging (JSON, redacted): the "faststream" logger carries
        # FastStream's own plain-text handler. A line per message received and processed
        # is for debugging, not for the ops log.
        logger=logging.getLogger("lifeevents.faststream"),
        log_level=logging.DEBUG,
    )
