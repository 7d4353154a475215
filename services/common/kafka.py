"""The one way every process builds its Kafka broker."""

from __future__ import annotations

import logging

from faststream.kafka import KafkaBroker

from services.common.settings import Settings

__all__ = ["make_broker"]


def make_broker(settings: Settings, client_id: str) -> KafkaBroker:
    # acks=all with idempotence: a publish returns only once the record is durably written,
    # and a producer retry never writes it twice.
    return KafkaBroker(
        # FastStream takes a string as one host, so "a:9092,b:9092" (any cluster of more than
        # one broker) would never connect: hand it the list.
        [server.strip() for server in settings.kafka_bootstrap_servers.split(",")],
        client_id=client_id,
        acks="all",
        enable_idempotence=True,
        # Through the project's logging (JSON, redacted): the "faststream" logger carries
        # FastStream's own plain-text handler. A line per message received and processed
        # is for debugging, not for the ops log.
        logger=logging.getLogger("lifeevents.faststream"),
        log_level=logging.DEBUG,
    )
