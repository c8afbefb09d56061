"""Rosters: ops invite experts to projects and remove them; experts answer invitations."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Response, status

from services.assignment.api.access import ExpertCaller, Staff
from services.assignment.api.paths import ExpertPath, ProjectPath
from services.assignment.handlers.rosters import Rosters
from services.assignment.models.rosters import (
    Invitation,
    InvitationBatch,
    InvitationBatchIn,
    InvitationIn,
)
from shared.http.pagination import Cursor, Limit, Page, decode_cursor, page_of
from shared.http.problems import ProblemDetail
from shared.http.routing import api_router
from shared.http.service import use_case

router = api_router("/v1", ["rosters"])

RostersDep = Annotated[Rosters, Depends(use_case(Rosters))]
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"model": ProblemDetail, "description": "No such project or invitation"}
}
CONFLICT: dict[int | str, dict[str, Any]] = {
    409: {"model": ProblemDetail, "description": "Invited already, or nothing to answer"}
}


@router.post(
    "/projects/{project_id}/invitations",
    status_code=status.HTTP_201_CREATED,
    summary="Invite an expert to a project's roster",
    responses={**NOT_FOUND, **CONFLICT},
)
async def invite_to_project(
    project_id: ProjectPath, body: InvitationIn, principal: Staff, rosters: RostersDep
) -> Invitation:
    return await rosters.invite(principal, project_id, body.expert_id)


@router.post(
    "/projects/{project_id}/invitations:batch",
    status_code=status.HTTP_201_CREATED,
    summary="Invite many experts to a project's roster in one call",
    description="Each expert gets an outcome: `invited` (now, or again after declining or "
    "being removed), `unchanged` (invited or on the roster already) or `refused` (not known, "
    "or offboarded; `errors` says why). Idempotent by `batch_id`: the same body again "
    "answers 200 with the first answer; another body under it is a 409 naming each field "
    "that differs.",
    responses={
        200: {"model": InvitationBatch, "description": "This batch was sent before"},
        **NOT_FOUND,
        409: {
            "model": ProblemDetail,
            "description": "The project is closed, or the batch id was sent with another body",
        },
    },
)
async def invite_many_to_project(
    project_id: ProjectPath,
    body: InvitationBatchIn,
    principal: Staff,
    rosters: RostersDep,
    response: Response,
) -> InvitationBatch:
    batch, created = await rosters.invite_many(principal, project_id, body)
    if not created:
        response.status_code = status.HTTP_200_OK
    return batch


@router.get(
    "/projects/{project_id}/invitations",
    summary="A project's invitations by expert id: the roster (accepted) and the rest",
    responses=NOT_FOUND,
)
async def project_invitations(
    project_id: ProjectPath,
    principal: Staff,
    rosters: RostersDep,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[Invitation]:
    after = decode_cursor(cursor, str)[0] if cursor else None
    found = await rosters.roster(principal, project_id, after=after, limit=limit)
    return page_of(found, limit, lambda i: [i.expert_id])


@router.delete(
    "/projects/{project_id}/invitations/{expert_id}",
    summary="Take an expert off a project's roster (or withdraw the invitation)",
    responses=NOT_FOUND,
)
async def remove_from_project(
    project_id: ProjectPath, expert_id: ExpertPath, principal: Staff, rosters: RostersDep
) -> Invitation:
    return await rosters.remove(principal, project_id, expert_id)


@router.get("/me/invitations", summary="Your invitations to projects, by project id")
async def my_invitations(
    principal: ExpertCaller, rosters: RostersDep, limit: Limit = 50, cursor: Cursor = None
) -> Page[Invitation]:
    after = decode_cursor(cursor, str)[0] if cursor else None
    found = await rosters.mine(principal, after=after, limit=limit)
    return page_of(found, limit, lambda i: [i.project_id])


@router.post(
    "/me/invitations/{project_id}/accept",
    summary="Accept an invitation: you join the project's roster",
    responses={**NOT_FOUND, **CONFLICT},
)
async def accept_invitation(
    project_id: ProjectPath, principal: ExpertCaller, rosters: RostersDep
) -> Invitation:
    return await rosters.answer(principal, project_id, accept=True)


@router.post(
    "/me/invitations/{project_id}/decline",
    summary="Decline an invitation",
    responses={**NOT_FOUND, **CONFLICT},
)
async def decline_invitation(
    project_id: ProjectPath, principal: ExpertCaller, rosters: RostersDep
) -> Invitation:
    return await rosters.answer(principal, project_id, accept=False)
