"""Ingest's HTTP routes (thin: parse, authorise, call a handler)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response, status

from services.ingest.events import MediaRegistration
from services.ingest.handlers import Ingest
from services.ingest.models import MediaItem
from shared.auth import Principal, Role, require_roles
from shared.http import ProblemDetail, not_found

router = APIRouter(prefix="/v1", tags=["media"])

Registrant = Annotated[Principal, Depends(require_roles(Role.client, Role.ops, Role.admin))]
Reader = Annotated[Principal, Depends(require_roles(Role.client, Role.ops, Role.admin))]


def get_ingest(request: Request) -> Ingest:
    ingest: Ingest = request.app.state.ingest
    return ingest


IngestDep = Annotated[Ingest, Depends(get_ingest)]


@router.post(
    "/media",
    status_code=status.HTTP_201_CREATED,
    summary="Register one media item",
    responses={
        200: {"model": MediaItem, "description": "Already registered with the same content"},
        409: {"model": ProblemDetail, "description": "External id registered with other content"},
    },
)
async def register_media(
    body: MediaRegistration,
    principal: Registrant,
    ingest: IngestDep,
    request: Request,
    response: Response,
) -> MediaItem:
    result = await ingest.register(
        principal.tenant,
        body,
        request_id=request.state.request_id,
        traceparent=request.state.traceparent,
    )
    if not result.created:
        response.status_code = status.HTTP_200_OK
    response.headers["Location"] = f"/v1/media/{result.item.item_id}"
    return result.item


@router.get(
    "/media/{item_id}",
    summary="Get one media item of your tenant",
    responses={404: {"model": ProblemDetail}},
)
async def get_media(item_id: str, principal: Reader, ingest: IngestDep) -> MediaItem:
    item = await ingest.get(principal.tenant, item_id)
    if item is None:
        raise not_found(f"media item {item_id}")
    return item
