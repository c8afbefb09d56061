"""Rubrics (ops): templates, rubrics in immutable versions."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Path, Query, Request, Response, status

from services.assignment.api.access import Staff
from services.assignment.handlers.rubrics import Rubrics
from services.assignment.models.rubrics import (
    Rubric,
    RubricIn,
    RubricVersion,
    RubricVersionIn,
    Template,
)
from shared.http.pagination import Page, decode_cursor, encode_cursor, page_of
from shared.http.problems import ProblemDetail
from shared.http.routing import api_router
from shared.http.service import use_case

router = api_router("/v1", ["rubrics"])

RubricsDep = Annotated[Rubrics, Depends(use_case(Rubrics))]
RubricPath = Annotated[str, Path(min_length=1, max_length=64)]
VersionPath = Annotated[int, Path(ge=1, le=2**31 - 1)]
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"model": ProblemDetail, "description": "No such rubric (or version) of your tenant"}
}


@router.get("/rubric-templates", summary="The rubric templates Quorum ships, by name")
async def list_templates(
    principal: Staff,
    rubrics: RubricsDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
) -> Page[Template]:
    after = decode_cursor(cursor, str)[0] if cursor else None
    return page_of(rubrics.templates(after=after, limit=limit), limit, lambda t: [t.name])


@router.post(
    "/rubrics",
    status_code=status.HTTP_201_CREATED,
    summary="Create a rubric (version 1) from a definition or a template",
    responses={409: {"model": ProblemDetail, "description": "The rubric id is taken"}},
)
async def create_rubric(
    body: RubricIn, request: Request, principal: Staff, rubrics: RubricsDep, response: Response
) -> RubricVersion:
    created = await rubrics.create(principal, body, await request.json())
    response.headers["Location"] = f"/v1/rubrics/{created.rubric_id}/versions/1"
    return created


@router.get("/rubrics", summary="Your tenant's rubrics by id, each with its latest version")
async def list_rubrics(
    principal: Staff,
    rubrics: RubricsDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
) -> Page[Rubric]:
    after = decode_cursor(cursor, str)[0] if cursor else None
    items, last = await rubrics.page(principal, after=after, limit=limit)
    return Page(items=items, next_cursor=encode_cursor([last]) if last else None)


@router.get("/rubrics/{rubric_id}", summary="A rubric: its latest version", responses=NOT_FOUND)
async def get_rubric(rubric_id: RubricPath, principal: Staff, rubrics: RubricsDep) -> Rubric:
    return await rubrics.get(principal, rubric_id)


@router.post(
    "/rubrics/{rubric_id}/versions",
    status_code=status.HTTP_201_CREATED,
    summary="Add a version; units created afterwards in projects that follow it use it",
    responses=NOT_FOUND,
)
async def add_rubric_version(
    rubric_id: RubricPath,
    body: RubricVersionIn,
    request: Request,
    principal: Staff,
    rubrics: RubricsDep,
    response: Response,
) -> RubricVersion:
    added = await rubrics.add_version(principal, rubric_id, body, await request.json())
    response.headers["Location"] = f"/v1/rubrics/{rubric_id}/versions/{added.version}"
    return added


@router.get(
    "/rubrics/{rubric_id}/versions/{version}",
    summary="One version of a rubric",
    responses=NOT_FOUND,
)
async def get_rubric_version(
    rubric_id: RubricPath, version: VersionPath, principal: Staff, rubrics: RubricsDep
) -> RubricVersion:
    return await rubrics.version(principal, rubric_id, version)
