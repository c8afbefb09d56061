"""Assignment: routes work to vetted experts (skeleton: receives registered media)."""

from __future__ import annotations

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
    return create_service_app(
        settings,
        runtime=runtime,
        spec=RuntimeSpec(
            indexes=store.INDEXES,
            outbox_collections=store.OUTBOX_COLLECTIONS,
            published_topics=[PROJECTS, WORK],
            consumed={MEDIA_REGISTERED: assignment.on_media_registered},
        ),
        use_cases=[assignment],
        title="Quorum assignment",
        description="Routes review work to vetted experts by skill, with overlap, gold items, "
        "leases and adjudication.",
        routers=[api.router],
    )
