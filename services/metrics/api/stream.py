"""The agreement of a project as Server-Sent Events, for live dashboards (docs/metrics.md
"Live stream"): the current figures on connect, then the figures again after judgments of
the project are applied (at most one event per coalescing interval), a heartbeat comment
when nothing happened for a while."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends
from fastapi.responses import StreamingResponse

from services.metrics.api.access import Watcher
from services.metrics.api.agreement import (
    NOT_FOUND,
    FieldQuery,
    ProjectAgreement,
    RubricVersionQuery,
    WindowQuery,
)
from services.metrics.api.shapes import ProjectPath
from services.metrics.handlers.live import LiveAgreement
from shared.http.routing import api_router
from shared.http.service import use_case

router = api_router("/v1", ["agreement"])

LiveDep = Annotated[LiveAgreement, Depends(use_case(LiveAgreement))]
EVENT_STREAM = "text/event-stream"
HEARTBEAT = b": keepalive\n\n"
#: one event of the stream (comments and ``retry:`` are not events)
EVENT_SCHEMA = {
    "type": "object",
    "required": ["event", "id", "data"],
    "properties": {
        "event": {"const": "agreement"},
        "id": {"type": "string", "pattern": "^[0-9]+$"},
        "data": {
            "type": "string",
            "contentMediaType": "application/json",
            "contentSchema": {"$ref": "#/components/schemas/ProjectAgreement"},
        },
    },
}


def frame(sequence: int, body: ProjectAgreement) -> bytes:
    """One ``agreement`` event: its id and the figures as one line of JSON."""
    data = body.model_dump_json(exclude_unset=True)
    return f"id: {sequence}\nevent: agreement\ndata: {data}\n\n".encode()


async def agreement_events(
    live: LiveAgreement,
    tenant: str,
    project_id: str,
    field: str | None,
    rubric_version: int | None,
    window: str | None = None,
) -> AsyncIterator[bytes]:
    """The stream's frames. Subscribed before the first read, so no change is missed; ends
    after the timing's longest life, or when cancelled (Starlette cancels it when the client
    disconnects), the subscription ending with it."""
    timing, loop = live.timing, asyncio.get_running_loop()

    async def figures() -> ProjectAgreement:
        states = await live.agreement.project(
            tenant, project_id, field=field, rubric_version=rubric_version, window=window
        )
        return ProjectAgreement.model_validate(
            {
                "project_id": project_id,
                "rubric_version": rubric_version,
                "window": window,
                "fields": states.figures(),
            }
        )

    with live.changes.subscription(tenant, project_id) as subscription:
        ends = loop.time() + timing.max_seconds
        yield f"retry: {timing.retry_ms}\n\n".encode()
        yield frame(subscription.take(), await figures())
        sent = loop.time()
        while (left := ends - loop.time()) > 0:
            if not await subscription.changed(min(timing.heartbeat_seconds, left)):
                if ends - loop.time() > 0:
                    yield HEARTBEAT
                continue
            # coalesce a burst: the judgments that arrive meanwhile are in the one read
            await asyncio.sleep(max(0.0, sent + timing.coalesce_seconds - loop.time()))
            sequence = subscription.take()
            body = await figures()
            sent = loop.time()
            yield frame(sequence, body)


@router.get(
    "/projects/{project_id}/agreement/stream",
    summary="The project's agreement as Server-Sent Events: now, then after each judgment",
    description="`text/event-stream`. On connect, an `agreement` event with the figures of "
    "`GET /v1/projects/{project_id}/agreement` (same body, same `field`, `rubric_version` "
    "and `window` filters); then an `agreement` event with the figures again after each "
    "snapshot of the project's tallies (any replica's), at most one per subscriber every 250 ms (a burst gives one event "
    "with its every judgment; a slow client gets the latest figures, never a backlog). Each "
    "event's `id:` grows with the replica's changes (it tells the order; `Last-Event-ID` is "
    "not used: a reconnection starts with the current figures). A `: keepalive` comment "
    "after 15 s without an event; the stream ends after an hour and the client reconnects "
    "(`retry:` 2 s). "
    "Clients, ops and admin of the tenant; experts get 403; 404 before the stream starts "
    "when the project has no judgment in the caller's tenant.",
    responses={
        200: {
            # Open API 3.1 (and schemathesis): an event stream's schema describes each event
            "content": {EVENT_STREAM: {"schema": EVENT_SCHEMA}},
            "description": "The stream of `agreement` events",
        },
        **NOT_FOUND,
    },
    response_class=StreamingResponse,
)
async def project_agreement_stream(
    project_id: ProjectPath,
    principal: Watcher,
    live: LiveDep,
    field: FieldQuery = None,
    rubric_version: RubricVersionQuery = None,
    window: WindowQuery = None,
) -> StreamingResponse:
    await live.agreement.require_project(principal.tenant, project_id)
    return StreamingResponse(
        agreement_events(live, principal.tenant, project_id, field, rubric_version, window),
        media_type=EVENT_STREAM,
        # no caching, and no buffering by a proxy (nginx): each event leaves at once
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
