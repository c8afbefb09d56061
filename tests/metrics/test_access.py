"""Who may call what on metrics: the role-by-endpoint matrix of its OpenAPI document, on the
real servers (tests/access.py). Today it serves only the public health and metrics routes."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
import pytest_asyncio

from services.metrics.app import create_app
from services.metrics.settings import MetricsSettings
from tests.access import Operation, Seeds, check_operation, operations_of
from tests.service_helpers import running

pytestmark = pytest.mark.integration

OPERATIONS = operations_of(create_app(MetricsSettings(environment="test")))


@pytest_asyncio.fixture(scope="module")
async def client(make_settings: Callable[..., Any]) -> AsyncIterator[httpx.AsyncClient]:
    async with running(create_app(make_settings(MetricsSettings))) as client:
        yield client


@pytest.mark.parametrize("operation", OPERATIONS, ids=str)
async def test_each_role_and_tenant_gets_what_the_operation_declares(
    client: httpx.AsyncClient, operation: Operation
) -> None:
    await check_operation(client, operation, Seeds(values={}))
