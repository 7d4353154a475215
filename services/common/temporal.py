"""The one way every process connects to Temporal."""

from __future__ import annotations

from temporalio.client import Client

from services.common.codec import data_converter
from services.common.settings import Settings

__all__ = ["connect"]


async def connect(settings: Settings, *, lazy: bool = False) -> Client:
    """A client with the project's data converter. `lazy` defers the connection to first use,
    so a process can start (and retry) while Temporal is down."""
    return await Client.connect(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        data_converter=data_converter(settings),
        lazy=lazy,
    )
