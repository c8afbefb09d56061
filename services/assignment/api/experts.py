"""Experts: ops invite and manage them; an expert reads their own profile (``/v1/me``)."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, Path, Query, Response, status

from services.assignment.api.access import ExpertCaller, Staff
from services.assignment.api.paths import ExpertPath
from services.assignment.eligibility import VettingState
from services.assignment.handlers.experts import Experts
from services.assignment.models.experts import (
    AttestationIn,
    Expert,
    ExpertIn,
    ExpertPatch,
    SkillId,
    StateChangeIn,
)
from shared.http.pagination import Page, decode_cursor, encode_cursor
from shared.http.problems import ProblemDetail
from shared.http.routing import api_router
from shared.http.service import use_case

router = api_router("/v1", ["experts"])

ExpertsDep = Annotated[Experts, Depends(use_case(Experts))]
SkillPath = Annotated[SkillId, Path(description="a dotted skill id, e.g. task.av_sync")]
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"model": ProblemDetail, "description": "No such expert of your tenant"}
}
CONFLICT: dict[int | str, dict[str, Any]] = {
    409: {"model": ProblemDetail, "description": "Not allowed from the current state"}
}


@router.post(
    "/experts",
    status_code=status.HTTP_201_CREATED,
    summary="Onboard an expert: profile, skills with their proof and vetting state, in one call",
    description="The expert starts `invited`, or `vetting` or `vetted` (each move recorded "
    "with `reason`), with the skills ops attest. Idempotent by `expert_id`: the same body "
    "again answers 200 with the expert as stored now; another body is a 409 naming each "
    "field that differs.",
    responses={
        200: {"model": Expert, "description": "Onboarded before with the same body"},
        409: {
            "model": ProblemDetail,
            "description": "The expert was onboarded with another body: `errors` names each "
            "field that differs",
        },
    },
)
async def onboard_expert(
    body: ExpertIn, principal: Staff, experts: ExpertsDep, response: Response
) -> Expert:
    expert, created = await experts.onboard(principal, body)
    if not created:
        response.status_code = status.HTTP_200_OK
    response.headers["Location"] = f"/v1/experts/{quote(expert.expert_id, safe='')}"
    return expert


@router.get("/experts", summary="List your tenant's experts, by id")
async def list_experts(
    principal: Staff,
    experts: ExpertsDep,
    state: VettingState | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=1024)] = None,
) -> Page[Expert]:
    after = decode_cursor(cursor, str)[0] if cursor else None
    items, last = await experts.page(principal, state=state, after=after, limit=limit)
    return Page(items=items, next_cursor=encode_cursor([last]) if last else None)


@router.get("/experts/{expert_id}", summary="An expert of your tenant", responses=NOT_FOUND)
async def get_expert(expert_id: ExpertPath, principal: Staff, experts: ExpertsDep) -> Expert:
    return await experts.get(principal, expert_id)


@router.patch(
    "/experts/{expert_id}",
    summary="Change an expert's profile or capacity",
    responses={**NOT_FOUND, **CONFLICT},
)
async def update_expert(
    expert_id: ExpertPath, body: ExpertPatch, principal: Staff, experts: ExpertsDep
) -> Expert:
    return await experts.update(principal, expert_id, body)


@router.post(
    "/experts/{expert_id}/state",
    summary="Move an expert through vetting (recorded with who, when and why)",
    responses={**NOT_FOUND, **CONFLICT},
)
async def move_expert(
    expert_id: ExpertPath, body: StateChangeIn, principal: Staff, experts: ExpertsDep
) -> Expert:
    return await experts.move(principal, expert_id, body)


@router.put(
    "/experts/{expert_id}/skills/{skill_id}",
    summary="Attest a skill at a level (ops), replacing any earlier proof of it",
    responses={**NOT_FOUND, **CONFLICT},
)
async def attest_skill(
    expert_id: ExpertPath,
    skill_id: SkillPath,
    body: AttestationIn,
    principal: Staff,
    experts: ExpertsDep,
) -> Expert:
    return await experts.attest(principal, expert_id, skill_id, body)


@router.delete(
    "/experts/{expert_id}/skills/{skill_id}",
    summary="Withdraw a skill",
    responses={**NOT_FOUND, **CONFLICT},
)
async def revoke_skill(
    expert_id: ExpertPath, skill_id: SkillPath, principal: Staff, experts: ExpertsDep
) -> Expert:
    return await experts.revoke(principal, expert_id, skill_id)


@router.get(
    "/me",
    summary="Your own expert profile: skills, capacity, vetting state",
    responses={404: {"model": ProblemDetail, "description": "You are not an expert here"}},
)
async def my_profile(principal: ExpertCaller, experts: ExpertsDep) -> Expert:
    return await experts.get(principal, principal.subject)
