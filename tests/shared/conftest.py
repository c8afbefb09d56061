"""Fixtures of the shared-library tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest_asyncio
from pymongo import AsyncMongoClient

from tests.conftest import Endpoints
from tests.shared.bus_world import THINGS, World


@pytest_asyncio.fixture
async def world(endpoints: Endpoints, mongo_client: AsyncMongoClient[Any]) -> AsyncIterator[World]:
    w = World(endpoints, mongo_client)
    await w.bus.start()
    await w.bus.ensure_topics([THINGS])
    yield w
    for runner in w.runners:
        await runner.stop()
    await w.bus.stop()
    await mongo_client.drop_database(w.db.name)
