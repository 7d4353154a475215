"""What the partners tests share: the deceased's share as the bereavement workflow makes it,
actions with tokens as the gate issues them for an organisation, a test copy of the shipped
configuration on topics of the test's own, and reading a topic back.

Synthetic people only.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer
from aiokafka.structs import TopicPartition
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from contracts.actions import ResidentShare, ServiceAction
from services.partners.activities import PURPOSE
from services.partners.config import PartnersConfig, load_partners
from tests.support.council import GATE_KEY, address, new_resident, token

__all__ = [
    "DECEASED",
    "PERSONAL",
    "Read",
    "config_on_own_topics",
    "deceased_action",
    "read_topic",
]

IDENTITY: dict[str, Any] = {
    "name": {"given_names": "Imaginary Albert", "family_name": "Testworth"},
    "date_of_birth": "1938-02-14",
}
DEATH: dict[str, Any] = {
    "date_of_death": "2025-08-07",
    "last_address": address("12 Hypothetical Road", "AB4 6LN", uprn="999000000012"),
    "national_insurance_number": "CE000000A",
}
# The deceased's share as the bereavement workflow sends it to the partners service.
DECEASED: dict[str, Any] = {"identity": IDENTITY, "death": DEATH}

# Every personal value in DECEASED: none may show in a record's key or headers.
PERSONAL = (
    "Imaginary",
    "Albert",
    "Testworth",
    "1938-02-14",
    "2025-08-07",
    "Hypothetical",
    "AB4 6LN",
    "999000000012",
    "CE000000A",
)


def deceased_action(
    recipient: str,
    *,
    workflow_id: str | None = None,
    step: str = "tell-organisation",
    purpose: str = PURPOSE,
    key: Ed25519PrivateKey = GATE_KEY,
    resident: str | None = None,
    data: dict[str, Any] | None = None,
) -> ServiceAction:
    """The step's action: the deceased's one share, with a token the gate issued for
    `recipient` (an organisation) and stamped `deceased`."""
    resident = resident or new_resident()
    shared = DECEASED if data is None else data
    issued = token(
        shared, recipient=recipient, purpose=purpose, resident=resident, key=key, deceased=True
    )
    return ServiceAction(
        workflow_id=workflow_id or f"death-{uuid.uuid4().hex}",
        step=step,
        event_id=str(uuid.uuid4()),
        event_type="lifeevents.death.registered.v1",
        shares=(ResidentShare(resident=resident, share_token=issued, data=shared),),
    )


def config_on_own_topics() -> PartnersConfig:
    """The shipped configuration (its organisations and fields), each topic renamed to one
    of this test's own, so tests sharing the session's Kafka read only their own records."""
    shipped = load_partners()
    tag = uuid.uuid4().hex[:8]
    return shipped.model_copy(
        update={
            "organisations": {
                code: told.model_copy(update={"topic": f"{told.topic}.test-{tag}"})
                for code, told in shipped.organisations.items()
            }
        }
    )


@dataclass(frozen=True)
class Read:
    key: bytes | None
    value: dict[str, Any]
    headers: dict[str, bytes]
    header_names: list[str]


async def read_topic(bootstrap: str, topic: str) -> list[Read]:
    """Every record on the topic (one partition), to its end offset when asked."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        partition = TopicPartition(topic, 0)
        consumer.assign([partition])
        await consumer.seek_to_beginning(partition)
        end = (await consumer.end_offsets([partition]))[partition]
        found: list[Read] = []
        while await consumer.position(partition) < end:
            batches = await consumer.getmany(partition, timeout_ms=1000)
            for record in batches.get(partition, []):
                found.append(
                    Read(
                        key=record.key,
                        value=json.loads(record.value),
                        headers=dict(record.headers),
                        header_names=[name for name, _ in record.headers],
                    )
                )
        return found
    finally:
        await consumer.stop()
