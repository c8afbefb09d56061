"""Ingest's HTTP routes (thin: parse, authorise, call a handler).

Clients register and read their tenant's media; ops and admin read (and may
register for) their whole tenant; experts have no business with ingest (403).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, Query, Request, Response, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import ValidationError

from services.ingest.handlers import Ingest, request_hash
from services.ingest.models import BatchIn, BatchOut, ItemStatus, MediaItem, RegistrationBatch
from shared.auth.dependencies import require_roles
from shared.auth.principal import Principal, Role
from shared.contracts.media import MediaRegistration
from shared.contracts.vocabulary import Modality
from shared.http.pagination import Page, bad_cursor, decode_cursor, encode_cursor
from shared.http.problems import ProblemDetail, not_found
from shared.http.service import use_case

router = APIRouter(prefix="/v1", tags=["media"])

Client = Annotated[Principal, Depends(require_roles(Role.client, Role.ops, Role.admin))]
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=255,
        description="repeat a request safely: the same key and body give the first answer "
        "again (kept 24 h); the same key with another body is a 422",
    ),
]


IngestDep = Annotated[Ingest, Depends(use_case(Ingest))]


@router.post(
    "/media",
    status_code=status.HTTP_201_CREATED,
    summary="Register one media item",
    responses={
        200: {"model": MediaItem, "description": "Already registered with the same content"},
        409: {"model": ProblemDetail, "description": "External id registered with other content"},
        422: {"model": ProblemDetail, "description": "Refused; `errors` names every field"},
    },
)
async def register_media(
    body: MediaRegistration,
    principal: Client,
    ingest: IngestDep,
    request: Request,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> MediaItem:
    digest = request_hash(body.model_dump(mode="json")) if idempotency_key else ""
    if idempotency_key:
        record = await ingest.replay(principal.tenant, idempotency_key, digest)
        if record is not None:
            item = await ingest.get(principal.tenant, record["item_id"])
            if item is not None:
                response.status_code = record["status"]
                response.headers["Location"] = f"/v1/media/{item.item_id}"
                response.headers["Idempotent-Replayed"] = "true"
                return item
    result = await ingest.register(
        principal.tenant,
        body,
        request_id=request.state.request_id,
        traceparent=request.state.traceparent,
    )
    item = result.item
    assert item is not None
    code = status.HTTP_201_CREATED if result.created else status.HTTP_200_OK
    if idempotency_key:
        await ingest.remember(
            principal.tenant,
            idempotency_key,
            digest,
            {"item_id": item.item_id, "status": code},
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
    ingest: IngestDep,
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
        record = await ingest.replay(principal.tenant, idempotency_key, digest)
        if record is not None:
            return BatchOut.model_validate(record["response"])
    results = await ingest.register_batch(
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
        await ingest.remember(
            principal.tenant, idempotency_key, digest, {"response": out.model_dump(mode="json")}
        )
    return out


@router.get("/media", summary="List your tenant's media, newest first")
async def list_media(
    principal: Client,
    ingest: IngestDep,
    project_id: Annotated[str | None, Query(max_length=256)] = None,
    modality: Modality | None = None,
    status_: Annotated[ItemStatus | None, Query(alias="status")] = None,
    registered_from: Annotated[datetime | None, Query(description="inclusive")] = None,
    registered_to: Annotated[datetime | None, Query(description="exclusive")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
) -> Page[MediaItem]:
    filters: dict[str, Any] = {}
    if project_id:
        filters["project_id"] = project_id
    if modality:
        filters["modality"] = modality.value
    if status_:
        filters["status"] = status_.value
    window: dict[str, datetime] = {}
    if registered_from:
        window["$gte"] = registered_from
    if registered_to:
        window["$lt"] = registered_to
    if window:
        filters["registered_at"] = window
    after = None
    if cursor:
        moment, item_id = decode_cursor(cursor, arity=2)
        try:
            after = (datetime.fromisoformat(moment), str(item_id))
        except (TypeError, ValueError):
            raise bad_cursor() from None
    items = await ingest.list(principal.tenant, filters, after=after, limit=limit)
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
    ingest: IngestDep,
    external_id: Annotated[str, Query(min_length=1, max_length=256)],
) -> MediaItem:
    item = await ingest.by_external_id(principal.tenant, external_id)
    if item is None:
        raise not_found(f"media item with external id {external_id}")
    return item


@router.get(
    "/media/export",
    summary="Export a project's resolved items: JSON lines, or COCO for image projects",
    responses={200: {"content": {"application/x-ndjson": {}, "application/json": {}}}},
)
async def export_resolved(
    principal: Client,
    ingest: IngestDep,
    project_id: Annotated[str, Query(min_length=1, max_length=256)],
    format: Literal["jsonl", "coco"] = "jsonl",
) -> Response:
    if await ingest.project(principal.tenant, project_id) is None:
        raise not_found(f"project {project_id}")
    if format == "coco":
        return JSONResponse(await ingest.export_coco(principal.tenant, project_id))

    async def lines() -> AsyncIterator[bytes]:
        async for item in ingest.resolved_items(principal.tenant, project_id):
            yield item.model_dump_json(exclude_none=True).encode() + b"\n"

    return StreamingResponse(
        lines(),
        media_type="application/x-ndjson",
        headers={
            "Content-Disposition": f'attachment; filename="{json.dumps(project_id)[1:-1]}.jsonl"'
        },
    )


@router.get(
    "/media/{item_id}",
    summary="Get one media item of your tenant",
    responses={404: {"model": ProblemDetail}},
)
async def get_media(item_id: str, principal: Client, ingest: IngestDep) -> MediaItem:
    item = await ingest.get(principal.tenant, item_id)
    if item is None:
        raise not_found(f"media item {item_id}")
    return item
