"""Projects (ops): created as drafts, changed, activated, paused and closed; every change is
published as ``project.changed``."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, Query, Response, status

from services.assignment.api.access import Staff, Watcher
from services.assignment.api.paths import ProjectPath
from services.assignment.handlers.projects import Projects
from services.assignment.models.projects import (
    Progress,
    Project,
    ProjectIn,
    ProjectPatch,
    StatusIn,
)
from shared.http.pagination import Page, decode_cursor, encode_cursor
from shared.http.problems import ProblemDetail
from shared.http.routing import api_router
from shared.http.service import use_case

router = api_router("/v1", ["projects"])

ProjectsDep = Annotated[Projects, Depends(use_case(Projects))]
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"model": ProblemDetail, "description": "No such project of your tenant"}
}
CONFLICT: dict[int | str, dict[str, Any]] = {
    409: {"model": ProblemDetail, "description": "Not allowed in the project's status"}
}


@router.post(
    "/projects",
    status_code=status.HTTP_201_CREATED,
    summary="Create a project (draft)",
    responses={409: {"model": ProblemDetail, "description": "The project id is taken"}},
)
async def create_project(
    body: ProjectIn, principal: Staff, projects: ProjectsDep, response: Response
) -> Project:
    created = await projects.create(principal, body)
    response.headers["Location"] = f"/v1/projects/{quote(created.project_id, safe='')}"
    return created


@router.get("/projects", summary="Your tenant's projects, by id")
async def list_projects(
    principal: Staff,
    projects: ProjectsDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=1024)] = None,
) -> Page[Project]:
    after = decode_cursor(cursor, str)[0] if cursor else None
    items, last = await projects.page(principal, after=after, limit=limit)
    return Page(items=items, next_cursor=encode_cursor([last]) if last else None)


@router.get("/projects/{project_id}", summary="A project", responses=NOT_FOUND)
async def get_project(project_id: ProjectPath, principal: Staff, projects: ProjectsDep) -> Project:
    return await projects.get(principal, project_id)


@router.get(
    "/projects/{project_id}/progress",
    summary="A project's progress: items, units by state, resolutions by method (no names)",
    responses=NOT_FOUND,
)
async def project_progress(
    project_id: ProjectPath, principal: Watcher, projects: ProjectsDep
) -> Progress:
    return await projects.progress(principal, project_id)


@router.patch(
    "/projects/{project_id}",
    summary="Change a project's settings (a new rubric version applies to units created after)",
    responses={**NOT_FOUND, **CONFLICT},
)
async def update_project(
    project_id: ProjectPath, body: ProjectPatch, principal: Staff, projects: ProjectsDep
) -> Project:
    return await projects.update(principal, project_id, body)


@router.post(
    "/projects/{project_id}/status",
    summary="Activate, pause or close a project",
    responses={**NOT_FOUND, **CONFLICT},
)
async def move_project(
    project_id: ProjectPath, body: StatusIn, principal: Staff, projects: ProjectsDep
) -> Project:
    return await projects.move(principal, project_id, body)
