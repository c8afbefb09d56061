"""One assignment service per test module, with its real lifespan, against the real servers."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest_asyncio
from fastapi import FastAPI

from services.assignment.app import create_app
from services.assignment.settings import AssignmentSettings
from shared.http.service import service_of
from tests.service_helpers import running


@dataclass
class AssignmentUnderTest:
    client: httpx.AsyncClient
    settings: AssignmentSettings
    app: FastAPI


@pytest_asyncio.fixture(scope="module")
async def assignment(make_settings: Callable[..., Any]) -> AsyncIterator[AssignmentUnderTest]:
    settings = make_settings(AssignmentSettings)
    app = create_app(settings)
    async with running(app) as client:
        await service_of(app).runtime.consumer.wait_assigned()
        yield AssignmentUnderTest(client, settings, app)
