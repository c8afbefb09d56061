"""Ingest's HTTP routes (thin: parse, authorise, call a use case).

Clients register and read their tenant's media; ops and admin read (and may
register for) their whole tenant; experts have no business with ingest (403).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import Depends, Path, Query, Request, Response, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import StreamingResponse
from pydantic import ValidationError

from services.ingest.exports import JSONL_MEDIA_TYPE, jsonl_line, segment_lines
from services.ingest.handlers.items import Items
from services.ingest.handlers.registration import Registrations
from services.ingest.models import (
    BatchIn,
    BatchOut,
    ItemStatus,
    MediaItem,
    MediaQuery,
    RegistrationBatch,
    Rejections,
)
from shared.auth.dependencies import require_roles
from shared.auth.principal import Principal, Role
from shared.contracts.media import MediaRegistration
from shared.contracts.vocabulary import Modality
from shared.http.idempotency import IdempotencyKey, IdempotencyRecords, request_hash
from shared.http.pagination import Page, bad_cursor, decode_cursor, encode_cursor
from shared.http.problems import ProblemDetail, not_found
from shared.http.routing import BODY_MODEL, api_router
from shared.http.service import use_case

ItemId = Annotated[str, Path(min_length=1, max_length=256)]
router = api_router("/v1", ["media"])

Client = Annotated[Principal, Depends(require_roles(Role.client, Role.ops, Role.admin))]
RegistrationsDep = Annotated[Registrations, Depends(use_case(Registrations))]
ItemsDep = Annotated[Items, Depends(use_case(Items))]
Idempotency = Annotated[IdempotencyRecords, Depends(use_case(IdempotencyRecords))]


@router.post(
    "/media",
    status_code=status.HTTP_201_CREATED,
    summary="Register one media item",
    responses={
        200: {"model": MediaItem, "description": "Already registered with the same content"},
        409: {"model": ProblemDetail, "description": "External id registered with other content"},
        422: {
            "model": ProblemDetail,
            "description": "Refused; `errors` names every field at once: the schema's errors "
            "and the rules' (project, taxonomy, placement) that the readable rest breaks",
        },
    },
    # read by the route: a body that fails the schema is still checked against the rules
    openapi_extra={BODY_MODEL: MediaRegistration},
)
async def register_media(
    principal: Client,
    registrations: RegistrationsDep,
    items: ItemsDep,
    records: Idempotency,
    request: Request,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> MediaItem:
    body = await registrations.read_body(principal.tenant, await request.body())
    digest = request_hash(body.model_dump(mode="json")) if idempotency_key else ""
    if idempotency_key:
        record = await records.replay(principal.tenant, idempotency_key, digest)
        if record is not None:
            item = await items.get(principal.tenant, record["item_id"])
            if item is not None:
                response.status_code = record["status"]
                response.headers["Location"] = f"/v1/media/{item.item_id}"
                response.headers["Idempotent-Replayed"] = "true"
                return item
    result = await registrations.register(
        principal.tenant,
        body,
        request_id=request.state.request_id,
        traceparent=request.state.traceparent,
    )
    item = result.item
    assert item is not None
    code = status.HTTP_201_CREATED if result.created else status.HTTP_200_OK
    if idempotency_key:
        await records.remember(
            principal.tenant, idempotency_key, digest, {"item_id": item.item_id, "status": code}
        )
    response.status_code = code
    response.headers["Location"] = f"/v1/media/{item.item_id}"
    return item


def _batch_in(raw: bytes) -> BatchIn:
    """The body as a batch of items to validate one by one; a 422 if it is not even that."""
    try:
        return BatchIn.model_validate_json(raw)
    except ValidationError as exc:
        raise RequestValidationError(
            [{**error, "loc": ("body", *error["loc"])} for error in exc.errors()]
        ) from exc


@router.post(
    "/media/batch",
    summary="Register up to 1,000 media items; an outcome per item",
    # the body is read by the route itself (one validation pass when every item is valid)
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": BatchIn.model_json_schema()}},
        }
    },
    description="Each item is validated and stored on its own: `created`, `existing` (same "
    "content registered before), `conflict` (the external id has other content) or "
    "`rejected` (with every failing field).",
)
async def register_batch(
    principal: Client,
    registrations: RegistrationsDep,
    records: Idempotency,
    request: Request,
    idempotency_key: IdempotencyKey = None,
) -> BatchOut:
    raw = await request.body()
    items: Sequence[dict[str, Any] | MediaRegistration] | None = None
    if not idempotency_key:  # a keyed request is hashed as sent: read item by item
        # every item valid, the common case: the body is read and validated in one pass
        with contextlib.suppress(ValidationError):
            items = RegistrationBatch.model_validate_json(raw).items
    if items is None:
        items = _batch_in(raw).items  # each item validated on its own, for its own outcome
    digest = request_hash(items) if idempotency_key else ""
    if idempotency_key:
        record = await records.replay(principal.tenant, idempotency_key, digest)
        if record is not None:
            return BatchOut.model_validate(record["response"])
    results = await registrations.register_batch(
        principal.tenant,
        items,
        request_id=request.state.request_id,
        traceparent=request.state.traceparent,
    )
    out = BatchOut(
        created=sum(r.outcome == "created" for r in results),
        existing=sum(r.outcome == "existing" for r in results),
        rejected=sum(r.outcome in ("rejected", "conflict") for r in results),
        results=results,
    )
    if idempotency_key:
        await records.remember(
            principal.tenant, idempotency_key, digest, {"response": out.model_dump(mode="json")}
        )
    return out


@router.get("/media", summary="List your tenant's media, newest first")
async def list_media(
    principal: Client,
    items_: ItemsDep,
    project_id: Annotated[str | None, Query(max_length=256)] = None,
    modality: Modality | None = None,
    status_: Annotated[ItemStatus | None, Query(alias="status")] = None,
    registered_from: Annotated[datetime | None, Query(description="inclusive")] = None,
    registered_to: Annotated[datetime | None, Query(description="exclusive")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
) -> Page[MediaItem]:
    query = MediaQuery(
        project_id=project_id or None,
        modality=modality,
        status=status_,
        registered_from=registered_from,
        registered_to=registered_to,
    )
    after = None
    if cursor:
        moment, item_id = decode_cursor(cursor, str, str)
        try:
            after = (datetime.fromisoformat(moment), str(item_id))
        except (TypeError, ValueError):
            raise bad_cursor() from None
    items = await items_.list(principal.tenant, query, after=after, limit=limit)
    next_cursor = (
        encode_cursor([items[-1].registered_at.isoformat(), items[-1].item_id])
        if len(items) == limit
        else None
    )
    return Page(items=items, next_cursor=next_cursor)


@router.get(
    "/media/by-external-id",
    summary="Get one media item by the external id you registered it with",
    responses={404: {"model": ProblemDetail}},
)
async def get_by_external_id(
    principal: Client,
    items: ItemsDep,
    external_id: Annotated[str, Query(min_length=1, max_length=256)],
) -> MediaItem:
    item = await items.by_external_id(principal.tenant, external_id)
    if item is None:
        raise not_found(f"media item with external id {external_id}")
    return item


@router.get(
    "/media/rejections",
    summary="Get the refused Kafka registration requests of an external id, with every reason",
    description="A registration request published on your tenant's Kafka topic and refused "
    "(invalid data, an unknown or closed project, a conflicting checksum) is kept with every "
    "reason, newest first (up to `limit`). 404 when none of your tenant's requests with this "
    "external id was refused. A refusal over HTTP was answered at once and is not kept.",
    responses={404: {"model": ProblemDetail, "description": "No refused request of that id"}},
)
async def get_rejections(
    principal: Client,
    items: ItemsDep,
    external_id: Annotated[str, Query(min_length=1, max_length=256)],
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> Rejections:
    return await items.rejections(principal.tenant, external_id, limit=limit)


@router.get(
    "/media/export",
    summary="Export a project's resolved items: JSON lines, COCO for image projects, or "
    "time segments as JSON lines",
    description="`jsonl`: one resolved item a line, with its final labels and its resolution "
    "(verdict, flags, severity, ratings with their spread, agreement, method, why it went to "
    "adjudication). `coco`: image projects; each image carries `quorum_verdict`, "
    "`quorum_flags` and `quorum_severity`, each annotation its label's `attributes` and the "
    "item's `flags`. `segments`: one time-segment label a line (video, audio, and bundles' "
    "video and audio parts): item, part, media URI, class, `start_s`, `end_s`, text, "
    "attributes, the item's verdict and flags. Items rejected or found infeasible have no "
    "labels; accepted items' labels are their pre-labels.",
    responses={
        200: {"content": {"application/x-ndjson": {}, "application/json": {}}},
        404: {"model": ProblemDetail, "description": "No such project in your tenant"},
    },
)
async def export_resolved(
    principal: Client,
    items: ItemsDep,
    project_id: Annotated[str, Query(min_length=1, max_length=256)],
    format: Literal["jsonl", "coco", "segments"] = "jsonl",
) -> Response:
    if format == "coco":
        return StreamingResponse(
            await items.export_coco(principal.tenant, project_id), media_type="application/json"
        )
    await items.require_project(principal.tenant, project_id)

    async def lines() -> AsyncIterator[bytes]:
        async for item in items.resolved(principal.tenant, project_id):
            if format == "segments":
                for line in segment_lines(item):
                    yield line
            else:
                yield jsonl_line(item)

    return StreamingResponse(
        lines(),
        media_type=JSONL_MEDIA_TYPE,
        headers={
            "Content-Disposition": f'attachment; filename="{json.dumps(project_id)[1:-1]}'
            f'{".segments" if format == "segments" else ""}.jsonl"'
        },
    )


@router.get(
    "/media/{item_id}",
    summary="Get one media item of your tenant",
    responses={404: {"model": ProblemDetail}},
)
async def get_media(item_id: ItemId, principal: Client, items: ItemsDep) -> MediaItem:
    item = await items.get(principal.tenant, item_id)
    if item is None:
        raise not_found(f"media item {item_id}")
    return item
