"""A workflow with an activity completes on the real dev server and on the time-skipping one."""

from __future__ import annotations

import uuid

import pytest
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import ListSearchAttributesRequest
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from contracts.temporal import SEARCH_ATTRIBUTES
from deploy.local.stack import StackConfig
from workflows.diagnostics import StackCheckWorkflow
from workflows.worker import build_worker


async def run_check(client: Client) -> str:
    task_queue = f"test-{uuid.uuid4().hex}"
    async with build_worker(client, task_queue=task_queue):
        return await client.execute_workflow(
            StackCheckWorkflow.run, "ping", id=f"check-{uuid.uuid4().hex}", task_queue=task_queue
        )


@pytest.mark.stack
async def test_completes_on_the_real_dev_server(temporal_client: Client) -> None:
    assert await run_check(temporal_client) == "echo: ping"


async def test_completes_in_the_time_skipping_environment(
    time_skipping_env: WorkflowEnvironment,
) -> None:
    assert await run_check(time_skipping_env.client) == "echo: ping"


@pytest.mark.stack
async def test_custom_search_attributes_are_registered(
    temporal_client: Client, stack: StackConfig
) -> None:
    listed = await temporal_client.operator_service.list_search_attributes(
        ListSearchAttributesRequest(namespace=stack.temporal_namespace)
    )
    registered = dict(listed.custom_attributes)
    for key in SEARCH_ATTRIBUTES:
        assert key.name in registered
        assert registered[key.name] == IndexedValueType.Value(
            f"INDEXED_VALUE_TYPE_{key.indexed_value_type.name}"
        )
