"""Metrics: Streams agreement, accuracy, pre-label error, drift and throughput updates.

Skeleton: the service starts, owns its database and topics, and answers health
checks; its capabilities arrive with their own issues.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from services.metrics.settings import MetricsSettings
from shared.contracts.metrics import METRICS
from shared.http.app import create_service_app
from shared.runtime import Runtime, RuntimeSpec


def create_app(settings: MetricsSettings) -> FastAPI:
    runtime = Runtime(settings)
    spec = RuntimeSpec(published_topics=[METRICS])

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await runtime.start(spec)
        try:
            yield
        finally:
            await runtime.stop()

    app = create_service_app(
        settings,
        title="Quorum metrics",
        description="Streams agreement, accuracy, pre-label error, drift and throughput updates.",
        routers=[],
        lifespan=lifespan,
        readiness=lambda _: runtime.readiness(),
    )
    app.state.runtime = runtime
    return app
