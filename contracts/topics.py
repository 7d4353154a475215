"""Kafka topic names and the headers that go with them: the one place they are spelled."""

from __future__ import annotations

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
]

LIFE_EVENTS: Final = "lifeevents.v1"
"""Life events as binary-mode CloudEvents; key = the event's ``subject``."""

LIFE_EVENTS_DLQ: Final = "lifeevents.v1.dlq"
"""Records from ``lifeevents.v1`` that could not be parsed, validated or processed."""

CONSENT: Final = "consent.v1"
"""Consent changes (declared for later use)."""

ALL_TOPICS: Final = (LIFE_EVENTS, LIFE_EVENTS_DLQ, CONSENT)

# A dead letter keeps the original key, value and headers and adds these. Their values
# are codes and numbers only (a ContractError.reason, a count), never personal data.
DLQ_REASON_HEADER: Final = "dlq_reason"
DLQ_ATTEMPTS_HEADER: Final = "dlq_attempts"
DLQ_ORIGINAL_TOPIC_HEADER: Final = "dlq_original_topic"
DLQ_ORIGINAL_PARTITION_HEADER: Final = "dlq_original_partition"
DLQ_ORIGINAL_OFFSET_HEADER: Final = "dlq_original_offset"
