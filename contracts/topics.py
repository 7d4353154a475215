"""Kafka topic names and the headers that go with them: the one place they are spelled."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

__all__ = [
    "ALL_TOPICS",
    "CONSENT",
    "DLQ_ATTEMPTS_HEADER",
    "DLQ_ORIGINAL_OFFSET_HEADER",
    "DLQ_ORIGINAL_PARTITION_HEADER",
    "DLQ_ORIGINAL_TOPIC_HEADER",
    "DLQ_REASON_HEADER",
    "LIFE_EVENTS",
    "LIFE_EVENTS_DLQ",
    "PARTNER_DVLA",
    "PARTNER_DWP",
    "PARTNER_HMRC",
    "PARTNER_HM_PASSPORT_OFFICE",
    "PARTNER_TOPICS",
]

LIFE_EVENTS: Final = "lifeevents.v1"
"""Life events as binary-mode CloudEvents; key = the event's ``subject``."""

LIFE_EVENTS_DLQ: Final = "lifeevents.v1.dlq"
"""Records from ``lifeevents.v1`` that could not be parsed, validated or processed."""

CONSENT: Final = "consent.v1"
"""Consent changes (declared for later use)."""

ALL_TOPICS: Final = (LIFE_EVENTS, LIFE_EVENTS_DLQ, CONSENT)

# Tell Us Once, outbound (contracts.partners): one topic per organisation outside the council,
# so each reads only what it is told. Binary-mode CloudEvents; key = the notice's opaque
# reference. The partners service makes the ones it is configured with when it starts (they
# are not in ALL_TOPICS, the platform's own inbound and internal topics).
PARTNER_DWP: Final = "lifeevents.partner.dwp.v1"
PARTNER_HMRC: Final = "lifeevents.partner.hmrc.v1"
PARTNER_HM_PASSPORT_OFFICE: Final = "lifeevents.partner.hm_passport_office.v1"
PARTNER_DVLA: Final = "lifeevents.partner.dvla.v1"

PARTNER_TOPICS: Final[Mapping[str, str]] = MappingProxyType(
    {
        "dwp": PARTNER_DWP,
        "hmrc": PARTNER_HMRC,
        "hm_passport_office": PARTNER_HM_PASSPORT_OFFICE,
        "dvla": PARTNER_DVLA,
    }
)
"""Organisation code → its topic (`lifeevents.partner.<code>.v1`: an organisation added to
the partners service's configuration later is told on a topic named the same way)."""

# A dead letter keeps the original key, value and headers and adds these. Their values
# are codes and numbers only (a ContractError.reason, a count), never personal data.
DLQ_REASON_HEADER: Final = "dlq_reason"
DLQ_ATTEMPTS_HEADER: Final = "dlq_attempts"
DLQ_ORIGINAL_TOPIC_HEADER: Final = "dlq_original_topic"
DLQ_ORIGINAL_PARTITION_HEADER: Final = "dlq_original_partition"
DLQ_ORIGINAL_OFFSET_HEADER: Final = "dlq_original_offset"
