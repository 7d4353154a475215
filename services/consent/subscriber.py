"""For services that receive shared data: act on consent withdrawals from `consent.v1`.

A receiving service registers `subscribe_stop_use` on its FastStream broker. For every
withdrawal whose recipient is that service, the handler gets the `ConsentChange`; its
`stop_use` lists the decision IDs (the share tokens' `jti`) of every share allowed under the
withdrawn consent. The service must stop using, and erase or quarantine, the data it keyed
on those IDs, and refuse any token with one of them still in flight.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import structlog
from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from faststream.kafka.subscriber.usecase import LogicSubscriber

from contracts.consent import ConsentChange

__all__ = ["StopUseHandler", "subscribe_stop_use"]

log = structlog.get_logger(__name__)

StopUseHandler = Callable[[ConsentChange], Awaitable[None]]


def subscribe_stop_use(
    broker: KafkaBroker,
    *,
    recipient: str,
    handler: StopUseHandler,
    topic: str,
    group_id: str | None = None,
) -> LogicSubscriber[object]:
    """Subscribe `recipient`'s consumer group to `topic`; at-least-once (NACK on error)."""

    async def on_consent_change(change: ConsentChange) -> None:
        if change.change != "withdrawn" or change.recipient != recipient:
            return
        log.info(
            "consent.stop_use",
            consent_id=change.consent_id,
            recipient=recipient,
            shares=len(change.stop_use),
        )
        await handler(change)

    subscriber = broker.subscriber(
        topic,
        group_id=group_id or f"{recipient}-consent",
        auto_offset_reset="earliest",
        ack_policy=AckPolicy.NACK_ON_ERROR,
    )
    subscriber(on_consent_change)
    return subscriber
