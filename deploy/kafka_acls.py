"""The Kafka ACLs a deployment needs, made from `services.common.topics.TOPIC_ACCESS` and the
settings that name its topics, consumer groups and principals; printed, and applied.

A writer may WRITE and DESCRIBE its topic; a reader may READ and DESCRIBE it and READ its
consumer group. Nothing else is granted: on a cluster that denies what no ACL allows
(`allow.everyone.if.no.acl.found=false`), that is the whole of what each principal can do.
Services create no topics there: `apply` makes them first, as the cluster's admin.

aiokafka (0.14) has the CreateAcls and DescribeAcls requests in its protocol but no admin
method for them, so they are sent through its admin client's connection.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import for_code
from aiokafka.protocol.admin import CreateAclsRequest, DescribeAclsRequest

from contracts.topics import CONSENT, LIFE_EVENTS, LIFE_EVENTS_DLQ
from services.common.kafka import KafkaAccess
from services.common.settings import Settings
from services.common.topics import (
    PARTNER_ORGANISATION,
    PARTNER_TOPIC,
    SOURCE_SYSTEM,
    TOPIC_ACCESS,
    ensure_topics,
)
from services.consent.settings import ConsentSettings
from services.intake.settings import IntakeSettings
from services.orchestrator.settings import OrchestratorSettings
from services.partners.config import load_partners
from services.partners.settings import PartnersSettings

__all__ = [
    "Acl",
    "Deployment",
    "apply_acls",
    "kafka_acls_lines",
    "present_acls",
    "required_acls",
]


class _Resource(IntEnum):
    ANY = 1
    TOPIC = 2
    GROUP = 3


class _Pattern(IntEnum):
    ANY = 1
    LITERAL = 3
    PREFIXED = 4


class _Operation(IntEnum):
    ANY = 1
    READ = 3
    WRITE = 4
    DESCRIBE = 8


_ALLOW = 3
_ANY_PERMISSION = 1


@dataclass(frozen=True, order=True)
class Acl:
    """One ALLOW rule, from any host: `principal` may `operation` on the resource."""

    principal: str  # without the "User:" of Kafka's principal type
    resource: str  # "topic" or "group"
    name: str
    operation: str  # "read", "write", "describe"
    pattern: str = "literal"  # or "prefixed": every name starting with `name`

    def kafka_acls_args(self) -> str:
        """The same rule as `kafka-acls.sh --add` arguments."""
        prefixed = " --resource-pattern-type prefixed" if self.pattern == "prefixed" else ""
        return (
            f"--allow-principal User:{self.principal} --operation {self.operation.title()} "
            f"--{self.resource} {self.name}{prefixed}"
        )


@dataclass(frozen=True)
class Deployment:
    """What names the ACLs: topics, consumer groups, and who the principals are."""

    prefix: str
    topics: Mapping[str, str]  # the contracts' name → this deployment's
    groups: Mapping[str, str]  # a `Reader.group` key → the group ID
    partner_topics: Mapping[str, str]  # organisation code → its topic
    sources: tuple[str, ...]

    @classmethod
    def from_environment(cls, extra_sources: Sequence[str] = ()) -> Deployment:
        """From the same settings (environment, `.env`) the services read."""
        settings = Settings()
        partners = PartnersSettings()
        consent = ConsentSettings()
        configured = [s.strip() for s in settings.kafka_source_principals.split(",")]
        return cls(
            prefix=settings.kafka_principal_prefix,
            topics={
                LIFE_EVENTS: settings.life_events_topic,
                LIFE_EVENTS_DLQ: settings.life_events_dlq_topic,
                CONSENT: consent.consent_topic,
            },
            groups={
                "orchestrator_group_id": OrchestratorSettings().orchestrator_group_id,
                "intake_dlq_group_id": IntakeSettings().intake_dlq_group_id,
            },
            partner_topics={
                code: organisation.topic
                for code, organisation in load_partners(
                    partners.partners_config_path
                ).organisations.items()
            },
            sources=tuple(dict.fromkeys(s for s in [*configured, *extra_sources] if s)),
        )

    def service(self, name: str) -> str:
        """A service's principal, from its folder under services/."""
        return f"{self.prefix}{name}"

    def partner(self, code: str) -> str:
        return f"{self.prefix}partner-{code}"

    @property
    def all_topics(self) -> list[str]:
        return [*self.topics.values(), *self.partner_topics.values()]


def required_acls(deployment: Deployment) -> list[Acl]:
    """Every ACL the deployment needs, sorted, each once."""
    acls: set[Acl] = set()
    for access in TOPIC_ACCESS:
        if access.topic == PARTNER_TOPIC:
            for code, topic in deployment.partner_topics.items():
                organisation = deployment.partner(code)
                acls |= _writers(deployment, topic, access.writers)
                # Each organisation reads its own topic, in groups named after itself.
                acls |= _reads(organisation, topic, organisation, "prefixed")
            continue
        topic = deployment.topics[access.topic]
        acls |= _writers(deployment, topic, access.writers)
        for reader in access.readers:
            principal = deployment.service(reader.who)
            acls |= _reads(principal, topic, deployment.groups[reader.group], "literal")
    return sorted(acls)


def _writers(deployment: Deployment, topic: str, writers: Iterable[str]) -> set[Acl]:
    principals: list[str] = []
    for writer in writers:
        if writer == SOURCE_SYSTEM:
            principals.extend(deployment.sources)
        elif writer == PARTNER_ORGANISATION:
            raise ValueError("organisations outside the council write nothing")
        else:
            principals.append(deployment.service(writer))
    return {
        Acl(principal, "topic", topic, operation)
        for principal in principals
        for operation in ("write", "describe")
    }


def _reads(principal: str, topic: str, group: str, group_pattern: str) -> set[Acl]:
    return {
        Acl(principal, "topic", topic, "read"),
        Acl(principal, "topic", topic, "describe"),
        Acl(principal, "group", group, "read", group_pattern),
    }


def principals(deployment: Deployment) -> list[str]:
    """Every principal the ACLs name."""
    return sorted({acl.principal for acl in required_acls(deployment)})


def kafka_acls_lines(acls: Iterable[Acl], bootstrap: str) -> list[str]:
    return [
        f"kafka-acls.sh --bootstrap-server {bootstrap} --command-config admin.properties "
        f"--add {acl.kafka_acls_args()}"
        for acl in acls
    ]


async def apply_acls(
    admin_access: KafkaAccess, deployment: Deployment, partitions: int, replication: int
) -> list[Acl]:
    """Make the deployment's topics, then create every ACL it needs (creating one that exists
    changes nothing). Signed in as a principal the cluster lets alter ACLs. Returns them."""
    await ensure_topics(admin_access, deployment.all_topics, partitions, replication)
    acls = required_acls(deployment)
    admin = AIOKafkaAdminClient(**admin_access.client_kwargs())
    await admin.start()
    try:
        for acl in acls:
            response = await admin._send_request(  # see the module docstring
                CreateAclsRequest(
                    _Resource[acl.resource.upper()],
                    acl.name,
                    _Pattern[acl.pattern.upper()],
                    f"User:{acl.principal}",
                    "*",
                    _Operation[acl.operation.upper()],
                    _ALLOW,
                )
            )
            _raise_for([r[0] for r in response.creation_responses])
    finally:
        with contextlib.suppress(Exception):
            await admin.close()
    return acls


async def present_acls(admin_access: KafkaAccess) -> list[Acl]:
    """The ALLOW ACLs the cluster holds on topics and groups, as `Acl`s."""
    admin = AIOKafkaAdminClient(**admin_access.client_kwargs())
    await admin.start()
    try:
        response: Any = await admin._send_request(  # see the module docstring
            DescribeAclsRequest(
                _Resource.ANY, None, _Pattern.ANY, None, None, _Operation.ANY, _ANY_PERMISSION
            )
        )
    finally:
        with contextlib.suppress(Exception):
            await admin.close()
    _raise_for([response.error_code])
    found: list[Acl] = []
    for resource_type, name, pattern, rules in response.resources:
        if resource_type not in (_Resource.TOPIC, _Resource.GROUP):
            continue
        for principal, _host, operation, permission in rules:
            known = operation in _Operation.__members__.values() and pattern in (3, 4)
            if permission != _ALLOW or not principal.startswith("User:") or not known:
                continue  # nothing this module grants
            found.append(
                Acl(
                    principal.removeprefix("User:"),
                    _Resource(resource_type).name.lower(),
                    name,
                    _Operation(operation).name.lower(),
                    _Pattern(pattern).name.lower(),
                )
            )
    return sorted(found)


def _raise_for(codes: Iterable[int]) -> None:
    for code in codes:
        if code:
            raise for_code(code)()
