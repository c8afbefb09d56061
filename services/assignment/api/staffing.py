"""Staffing (ops): experts proposed for a project's roster, its demand against the roster's
hours (with new proposals when the roster is outgrown or blocked), and its stuck work."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Query

from services.assignment.api.access import Staff
from services.assignment.api.paths import ProjectPath
from services.assignment.handlers.staffing import Staffing
from services.assignment.models.staffing import DemandOut, ProposalOut, StuckUnitOut
from services.assignment.staffing import DEFAULT_LIMIT, MAX_LIMIT
from shared.http.pagination import Page, decode_cursor, encode_cursor
from shared.http.problems import ProblemDetail
from shared.http.routing import api_router
from shared.http.service import use_case

router = api_router("/v1", ["staffing"])

StaffingDep = Annotated[Staffing, Depends(use_case(Staffing))]
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="proposals at most")]
PageLimit = Annotated[int, Query(ge=1, le=200, description="stuck units at most")]
Cursor = Annotated[str | None, Query(max_length=1024, description="a page's next_cursor")]
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"model": ProblemDetail, "description": "No such project of your tenant"}
}


@router.get(
    "/projects/{project_id}/proposals",
    summary="Experts to invite: vetted, required skills met, spare capacity; those who could "
    "take blocked work first, then the best calibrated",
    responses=NOT_FOUND,
)
async def proposals(
    project_id: ProjectPath, principal: Staff, staffing: StaffingDep, limit: Limit = DEFAULT_LIMIT
) -> list[ProposalOut]:
    return await staffing.proposals(principal, project_id, limit)


@router.get(
    "/projects/{project_id}/demand",
    summary="Pending work against the roster's hours, and stuck units; proposals when the "
    "roster is outgrown or blocked",
    responses=NOT_FOUND,
)
async def demand(
    project_id: ProjectPath, principal: Staff, staffing: StaffingDep, limit: Limit = DEFAULT_LIMIT
) -> DemandOut:
    return await staffing.demand(principal, project_id, limit)


@router.get(
    "/projects/{project_id}/stuck",
    summary="Open units nobody on the roster may ever take, and why (by item id)",
    responses={
        **NOT_FOUND,
        400: {"model": ProblemDetail, "description": "A cursor this API did not return"},
    },
)
async def stuck(
    project_id: ProjectPath,
    principal: Staff,
    staffing: StaffingDep,
    limit: PageLimit = 50,
    cursor: Cursor = None,
) -> Page[StuckUnitOut]:
    after = decode_cursor(cursor, str, int) if cursor else None
    items, last = await staffing.stuck(
        principal, project_id, (after[0], after[1]) if after else None, limit
    )
    return Page(items=items, next_cursor=encode_cursor(last) if last else None)
