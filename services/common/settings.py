"""Settings for every Life Events process.

One prefix (`LIFEEVENTS_`), a `.env` file honoured, and every endpoint overridable, so the
same services run against the embedded stack or against a managed Kafka and Temporal Cloud.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal, get_args

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from contracts.temporal import TaskQueue
from contracts.topics import LIFE_EVENTS, LIFE_EVENTS_DLQ

__all__ = ["ENV_FILE", "STORE_OWNERS", "Settings", "StoreOwner", "split_host_port"]

# The settings file read besides the environment: `.env` in the working directory, another
# file if LIFEEVENTS_ENV_FILE names one, none if it is empty. The test suite empties it, so
# that a developer's `.env` (which may point at a real Kafka and Temporal) never reaches a test.
ENV_FILE = os.environ.get("LIFEEVENTS_ENV_FILE", ".env") or None

# Every service with a store of its own, by its folder under services/: it names the store's
# URL setting (LIFEEVENTS_<SERVICE>_DATABASE_URL) and its default file.
StoreOwner = Literal[
    "consent",
    "intake",
    "residents",
    "counciltax",
    "electoral",
    "schools",
    "benefits",
    "registers",
    "partners",
    "notifications",
    "portal",
]
STORE_OWNERS: tuple[StoreOwner, ...] = get_args(StoreOwner)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="LIFEEVENTS_",
        env_file=ENV_FILE,
        env_file_encoding="utf-8",
        extra="ignore",
        validate_by_name=True,  # a field with more than one variable name is still its name
    )

    embedded_stack: bool = Field(
        default=True,
        description="Start Kafka and Temporal on this machine; false to bring your own.",
    )
    var_dir: Path = Field(default=Path("var"), description="Data, logs and pid files.")

    kafka_bootstrap_servers: str = "localhost:9092"
    kafka_controller_port: int = Field(default=9093, description="Embedded KRaft controller.")
    # Topic names are settings so that environments can share a cluster with a prefix.
    life_events_topic: str = LIFE_EVENTS
    life_events_dlq_topic: str = LIFE_EVENTS_DLQ
    kafka_topic_partitions: int = Field(
        default=3, ge=1, description="Partitions for topics this platform creates."
    )
    kafka_topic_replication: int = Field(
        default=1, ge=1, description="Replicas for topics this platform creates (3 in production)."
    )
    # How every Kafka client of this process connects and signs in (services/common/kafka.py).
    # Each service signs in as its own principal, which the ACLs of `lifeevents kafka acls`
    # name: `<kafka_principal_prefix><service>`.
    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    kafka_sasl_mechanism: Literal["SCRAM-SHA-512", "SCRAM-SHA-256", "PLAIN", "OAUTHBEARER"] = (
        "SCRAM-SHA-512"
    )
    kafka_username: str | None = Field(default=None, description="This process's principal.")
    kafka_password: SecretStr | None = None
    kafka_password_file: Path | None = Field(
        default=None, description="The password in a file (a mounted secret), if not set above."
    )
    kafka_oauth_token: SecretStr | None = Field(
        default=None, description="OAUTHBEARER: a static access token."
    )
    kafka_oauth_token_file: Path | None = Field(
        default=None,
        description="OAUTHBEARER: a file holding the token, read at every sign-in, so that "
        "whatever refreshes the token (a sidecar) only rewrites the file.",
    )
    kafka_ssl_ca_file: Path | None = Field(
        default=None, description="CA bundle (PEM) the brokers' certificates are checked against."
    )
    kafka_ssl_cert_file: Path | None = Field(
        default=None, description="Client certificate (PEM), for brokers that want mTLS."
    )
    kafka_ssl_key_file: Path | None = None
    kafka_principal_prefix: str = Field(
        default="lifeevents-",
        description="Service principals are named <prefix><service>, e.g. lifeevents-intake.",
    )
    kafka_source_principals: str = Field(
        default="",
        description="Registered source systems' principals, comma-separated: with the intake, "
        "the only writers of the life-events topic.",
    )
    kafka_embedded_security: bool = Field(
        default=False,
        description="Start the embedded Kafka with TLS, SASL/SCRAM-SHA-512 and ACLs, each "
        "service signing in as its own principal.",
    )

    temporal_address: str = "localhost:7233"
    temporal_namespace: str = Field(
        default="default",
        description="One namespace per council is the usual arrangement on a shared cluster.",
    )
    # TLS to the Temporal frontend: mTLS with a client certificate (a self-hosted cluster, or
    # Temporal Cloud's certificate namespaces), or an API key (Temporal Cloud). Read through
    # `services.common.temporal`, so every client and the CLI probe connect the same way.
    temporal_tls: bool = Field(
        default=False,
        description="TLS to Temporal; implied by any of the TLS files or an API key.",
    )
    temporal_tls_ca_file: Path | None = Field(
        default=None,
        description="PEM CA that signed the frontend's certificate; unset: the system's roots.",
    )
    temporal_tls_cert_file: Path | None = Field(
        default=None, description="PEM client certificate for mTLS (with the key file)."
    )
    temporal_tls_key_file: Path | None = Field(
        default=None, description="PEM private key of the client certificate."
    )
    temporal_tls_server_name: str | None = Field(
        default=None, description="The name the frontend's certificate is for, if not its host."
    )
    temporal_api_key: SecretStr | None = Field(
        default=None, description="Temporal Cloud API key, sent as a bearer token over TLS."
    )
    temporal_ui_port: int = Field(default=8233, description="Embedded Temporal UI.")
    temporal_task_queue: str = Field(
        default=TaskQueue.WORKFLOWS.value, description="The queue the workflow worker polls."
    )
    payload_keys: SecretStr | None = Field(
        default=None,
        description="Temporal payload key ring, `id:base64key,...` (first encrypts, all "
        "decrypt); unset: the embedded stack's generated var_dir/secrets/payload-keys.",
    )

    council_area_code: str = Field(
        default="E06000099",
        description="GSS code of the council running this platform; a search attribute.",
    )

    log_level: str = "INFO"
    log_format: Literal["auto", "json", "console"] = "auto"

    # Observability, off unless set: read through services.common.telemetry and .metrics.
    traces_dir: Path | None = Field(
        default=None,
        description="Write each process's OpenTelemetry spans, one JSON object a line, to "
        "<traces_dir>/<service>.jsonl.",
    )
    otlp_endpoint: str | None = Field(
        default=None,
        description="Send spans to this OpenTelemetry collector over OTLP/HTTP "
        "(`http://collector:4318`); its headers from OTEL_EXPORTER_OTLP_HEADERS.",
    )
    metrics_port: int | None = Field(
        default=None,
        ge=0,
        le=65535,
        description="Serve Prometheus metrics at http://<metrics_host>:<port>/metrics (one "
        "process a port: under `lifeevents run`, the first service's; the rest count up).",
    )
    metrics_host: str = Field(default="127.0.0.1", description="Where /metrics listens.")

    # Each service's own store: an SQLAlchemy async URL (postgresql+asyncpg://… works from the
    # same code); unset, a SQLite file under var_dir. Read through `database_url(service)`.
    consent_database_url: str | None = None
    intake_database_url: str | None = None
    residents_database_url: str | None = None
    counciltax_database_url: str | None = Field(
        default=None,
        # The earlier name, LIFEEVENTS_COUNCIL_TAX_DATABASE_URL, is still read.
        validation_alias=AliasChoices(
            "LIFEEVENTS_COUNCILTAX_DATABASE_URL", "LIFEEVENTS_COUNCIL_TAX_DATABASE_URL"
        ),
    )
    electoral_database_url: str | None = None
    schools_database_url: str | None = None
    benefits_database_url: str | None = None
    registers_database_url: str | None = None
    partners_database_url: str | None = None
    notifications_database_url: str | None = None
    portal_database_url: str | None = None
    db_migrate_on_start: bool = Field(
        default=True,
        description="Each process brings the stores it opens to the code's schema (Alembic "
        "migrations); false where the deployment runs `lifeevents db upgrade` before the "
        "services start: a store not at the code's revision is then refused.",
    )

    def database_url(self, service: StoreOwner) -> str:
        """The service's store: `LIFEEVENTS_<SERVICE>_DATABASE_URL` when set, else SQLite at
        <var_dir>/<service>/<service>.db."""
        if service not in STORE_OWNERS:
            raise ValueError(f"no store setting for {service!r}")
        configured: str | None = getattr(self, f"{service}_database_url")
        return configured or f"sqlite+aiosqlite:///{self.var_dir / service / f'{service}.db'}"


def split_host_port(address: str) -> tuple[str, int]:
    """`host:port` → (host, port), for the first of a comma-separated list."""
    first = address.split(",")[0].strip()
    host, sep, port = first.rpartition(":")
    if not sep or not port.isdigit():
        raise ValueError(f"expected host:port, got {first!r}")
    return host.strip("[]") or "localhost", int(port)
