"""Rosters: ops invite experts to projects and remove them; experts answer invitations."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, status

from services.assignment.api.access import ExpertCaller, Staff
from services.assignment.api.paths import ExpertPath, ProjectPath
from services.assignment.handlers.rosters import Rosters
from services.assignment.models.rosters import Invitation, InvitationIn
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


@router.get(
    "/projects/{project_id}/invitations",
    summary="A project's invitations: the roster (accepted) and the rest",
    responses=NOT_FOUND,
)
async def project_invitations(
    project_id: ProjectPath, principal: Staff, rosters: RostersDep
) -> list[Invitation]:
    return await rosters.roster(principal, project_id)


@router.delete(
    "/projects/{project_id}/invitations/{expert_id}",
    summary="Take an expert off a project's roster (or withdraw the invitation)",
    responses=NOT_FOUND,
)
async def remove_from_project(
    project_id: ProjectPath, expert_id: ExpertPath, principal: Staff, rosters: RostersDep
) -> Invitation:
    return await rosters.remove(principal, project_id, expert_id)


@router.get("/me/invitations", summary="Your invitations to projects")
async def my_invitations(principal: ExpertCaller, rosters: RostersDep) -> list[Invitation]:
    return await rosters.mine(principal)


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
