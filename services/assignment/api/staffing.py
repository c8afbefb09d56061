"""Staffing (ops): experts proposed for a project's roster, and its demand against the
roster's hours (with new proposals when the roster is outgrown)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Query

from services.assignment.api.access import Staff
from services.assignment.api.paths import ProjectPath
from services.assignment.handlers.staffing import Staffing
from services.assignment.models.staffing import DemandOut, ProposalOut
from services.assignment.staffing import DEFAULT_LIMIT, MAX_LIMIT
from shared.http.problems import ProblemDetail
from shared.http.routing import api_router
from shared.http.service import use_case

router = api_router("/v1", ["staffing"])

StaffingDep = Annotated[Staffing, Depends(use_case(Staffing))]
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="proposals at most")]
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"model": ProblemDetail, "description": "No such project of your tenant"}
}


@router.get(
    "/projects/{project_id}/proposals",
    summary="Experts to invite: vetted, required skills met, spare capacity, best calibrated first",
    responses=NOT_FOUND,
)
async def proposals(
    project_id: ProjectPath, principal: Staff, staffing: StaffingDep, limit: Limit = DEFAULT_LIMIT
) -> list[ProposalOut]:
    return await staffing.proposals(principal, project_id, limit)


@router.get(
    "/projects/{project_id}/demand",
    summary="Pending work against the roster's hours; proposals when it has outgrown them",
    responses=NOT_FOUND,
)
async def demand(
    project_id: ProjectPath, principal: Staff, staffing: StaffingDep, limit: Limit = DEFAULT_LIMIT
) -> DemandOut:
    return await staffing.demand(principal, project_id, limit)
