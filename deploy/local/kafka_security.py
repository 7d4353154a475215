"""The embedded Kafka with its security on: a SASL_SSL listener (SCRAM-SHA-512 over TLS with a
certificate from this machine's CA), the KRaft StandardAuthorizer denying whatever no ACL
allows, an `admin` super user, and a SCRAM credential per principal made when the storage is
formatted. The ACLs themselves are `lifeevents kafka acls --apply`'s (deploy/kafka_acls.py).

The controller listener takes SASL/PLAIN with the admin's password (SCRAM credentials live in
the metadata the controller serves, so they cannot guard it): no one reaches the controller
without signing in, so no unauthenticated principal needs to be a super user.

Passwords are random, one file per principal under <var>/secrets/kafka (owner-only), which the
supervisor hands each service by file name (LIFEEVENTS_KAFKA_PASSWORD_FILE), never by value.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

from deploy.local.certs import LocalCa
from deploy.local.services import ServiceSpec
from services.common.kafka import EmbeddedKafkaSecrets
from services.common.settings import Settings

__all__ = ["SecureKafka", "service_kafka_env"]


class SecureKafka:
    def __init__(self, var_dir: Path, host: str, principals: Iterable[str]) -> None:
        self.secrets = EmbeddedKafkaSecrets.under(var_dir)
        self.host = host
        self.principals = sorted({EmbeddedKafkaSecrets.ADMIN, *principals})

    def prepare(self) -> None:
        """The CA, the broker's certificate and a password for every principal (kept)."""
        ca = LocalCa(self.secrets.folder, name="Life Events local Kafka CA")
        if not self._keystore.exists():
            hosts = tuple(dict.fromkeys([self.host, "localhost", "127.0.0.1"]))
            issued = ca.issue("kafka-broker", hosts=hosts)
            # Kafka's PEM keystore: the unencrypted PKCS#8 key, then the certificate.
            _write_private(self._keystore, issued.key.read_text() + issued.cert.read_text())
        for principal in self.principals:
            path = self.secrets.password_file(principal)
            if not path.exists():
                _write_private(path, secrets.token_hex(24) + "\n")

    @property
    def _keystore(self) -> Path:
        return self.secrets.folder / "kafka-broker-keystore.pem"

    def password(self, principal: str) -> str:
        return self.secrets.password_file(principal).read_text().strip()

    def properties(self, port: int, controller_port: int) -> str:
        """Lines appended to server.properties (a later line wins over an earlier one)."""
        admin = self.password(EmbeddedKafkaSecrets.ADMIN)
        host = self.host
        scram = (
            "org.apache.kafka.common.security.scram.ScramLoginModule required "
            f'username="admin" password="{admin}";'
        )
        plain = (
            "org.apache.kafka.common.security.plain.PlainLoginModule required "
            f'username="admin" password="{admin}" user_admin="{admin}";'
        )
        return f"""
# -- security (deploy/local/kafka_security.py) --
listeners=SASL_SSL://{host}:{port},CONTROLLER://{host}:{controller_port}
advertised.listeners=SASL_SSL://{host}:{port}
inter.broker.listener.name=SASL_SSL
listener.security.protocol.map=CONTROLLER:SASL_PLAINTEXT,SASL_SSL:SASL_SSL
sasl.enabled.mechanisms=SCRAM-SHA-512
sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config={scram}
sasl.mechanism.controller.protocol=PLAIN
listener.name.controller.sasl.enabled.mechanisms=PLAIN
listener.name.controller.plain.sasl.jaas.config={plain}
ssl.keystore.type=PEM
ssl.keystore.location={self._keystore}
ssl.truststore.type=PEM
ssl.truststore.location={self.secrets.ca_file}
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
allow.everyone.if.no.acl.found=false
super.users=User:admin
"""

    def format_args(self) -> list[str]:
        """`kafka-storage format` arguments creating each principal's SCRAM credential."""
        args: list[str] = []
        for principal in self.principals:
            credential = f"name={principal},password={self.password(principal)}"
            args += ["--add-scram", f"SCRAM-SHA-512=[{credential}]"]
        return args


def service_kafka_env(settings: Settings) -> Callable[[ServiceSpec], Mapping[str, str]]:
    """Each service's own principal on the embedded secured Kafka: its name, and its password
    file when it has one (a service that uses no Kafka has none, and so cannot sign in)."""
    kafka_secrets = EmbeddedKafkaSecrets.under(settings.var_dir)

    def env_for(spec: ServiceSpec) -> Mapping[str, str]:
        folder = spec.module.split(".")[1] if spec.module.startswith("services.") else spec.name
        principal = f"{settings.kafka_principal_prefix}{folder}"
        env = {"LIFEEVENTS_KAFKA_USERNAME": principal}
        if (password := kafka_secrets.password_file(principal)).exists():
            env["LIFEEVENTS_KAFKA_PASSWORD_FILE"] = str(password)
        return env

    return env_for


def _write_private(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as out:
        out.write(text)
