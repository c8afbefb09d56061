"""One metrics service per test module that asks for it, with its real lifespan, against the
real servers."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest_asyncio
from fastapi import FastAPI

from services.metrics.app import create_app
from services.metrics.settings import MetricsSettings
from shared.http.service import service_of
from tests.service_helpers import running


@dataclass
class MetricsUnderTest:
    client: httpx.AsyncClient
    settings: MetricsSettings
    app: FastAPI


@asynccontextmanager
async def serving(settings: MetricsSettings) -> AsyncIterator[MetricsUnderTest]:
    """The service with ``settings``, its consumer given its partitions."""
    app = create_app(settings)
    async with running(app) as client:
        consumer = service_of(app).runtime.consumer
        assert consumer is not None
        await consumer.wait_assigned()
        yield MetricsUnderTest(client, settings, app)


@pytest_asyncio.fixture(scope="module")
async def metrics(make_settings: Callable[..., Any]) -> AsyncIterator[MetricsUnderTest]:
    async with serving(make_settings(MetricsSettings)) as service:
        yield service
