"""Assignment: routes work to vetted experts (skeleton: receives registered media)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from services.assignment import api, store
from services.assignment.handlers import Assignment
from services.assignment.settings import AssignmentSettings
from shared.contracts.media import MEDIA_REGISTERED
from shared.contracts.work import PROJECTS, WORK
from shared.http.app import create_service_app
from shared.runtime import Runtime, RuntimeSpec


def create_app(settings: AssignmentSettings) -> FastAPI:
    runtime = Runtime(settings)
    assignment = Assignment(store.AssignmentStore(runtime.db))
    spec = RuntimeSpec(
        indexes=store.INDEXES,
        outbox_collections=store.OUTBOX_COLLECTIONS,
        published_topics=[PROJECTS, WORK],
        consumed={MEDIA_REGISTERED: assignment.on_media_registered},
    )

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await runtime.start(spec)
        try:
            yield
        finally:
            await runtime.stop()

    app = create_service_app(
        settings,
        title="Quorum assignment",
        description="Routes review work to vetted experts by skill, with overlap, gold items, "
        "leases and adjudication.",
        routers=[api.router],
        lifespan=lifespan,
        readiness=lambda _: runtime.readiness(),
    )
    app.state.assignment = assignment
    app.state.runtime = runtime
    return app
