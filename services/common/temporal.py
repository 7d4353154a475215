"""The one way every process connects to Temporal."""

from __future__ import annotations

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

from services.common.settings import Settings

__all__ = ["WORKFLOW_TASK_QUEUE", "connect"]

# Workflows run on this queue; each council service has its own queue for its activities.
WORKFLOW_TASK_QUEUE = "lifeevents-workflows"


async def connect(settings: Settings) -> Client:
    return await Client.connect(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        data_converter=pydantic_data_converter,
    )
