"""Qualification (ops): sets of items with known answers per skill and level, experts
enrolled in them and their attempts. An expert reads their own attempts and, once one is
over, their answers next to the key; the items themselves come through ``work:next``."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, status

from services.assignment.api.access import ExpertCaller, Staff
from services.assignment.api.paths import ExpertPath, SetPath
from services.assignment.handlers.qualifications import Qualifications
from services.assignment.models.qualifications import (
    Attempt,
    AttemptReview,
    EnrolIn,
    QualificationPatch,
    QualificationSet,
    QualificationSetIn,
    QualificationSetSummary,
)
from shared.http.pagination import Cursor, Limit, Page, cursor_time, decode_cursor, page_of
from shared.http.problems import ProblemDetail
from shared.http.routing import api_router
from shared.http.service import use_case

router = api_router("/v1", ["qualification"])

QualificationsDep = Annotated[Qualifications, Depends(use_case(Qualifications))]
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"model": ProblemDetail, "description": "No such set (or expert) of your tenant"}
}


@router.post(
    "/qualifications",
    status_code=status.HTTP_201_CREATED,
    summary="Create a qualification set: items with their keys; a pass grants the skill",
    responses={
        409: {
            "model": ProblemDetail,
            "description": "The set id is taken, or a key's taxonomy version is not published",
        },
        422: {
            "model": ProblemDetail,
            "description": "Refused; `errors` names every field of every item at once, each "
            "checked as a gold item is (its key's labels against its media included)",
        },
    },
)
async def create_set(
    body: QualificationSetIn, principal: Staff, qualifications: QualificationsDep
) -> QualificationSet:
    return await qualifications.create(principal, body)


def _attempts(found: list[Attempt], limit: int) -> Page[Attempt]:
    return page_of(found, limit, lambda a: [a.enrolled_at, a.set_id])


def _after_attempt(cursor: str | None) -> tuple[datetime, str] | None:
    if not cursor:
        return None
    moment, set_id = decode_cursor(cursor, str, str)
    return cursor_time(moment), set_id


@router.get("/qualifications", summary="The tenant's qualification sets (without their items)")
async def list_sets(
    principal: Staff, qualifications: QualificationsDep, limit: Limit = 50, cursor: Cursor = None
) -> Page[QualificationSetSummary]:
    after = decode_cursor(cursor, str)[0] if cursor else None
    found = await qualifications.sets(principal, after=after, limit=limit)
    return page_of(found, limit, lambda s: [s.set_id])


@router.get(
    "/qualifications/{set_id}", summary="A qualification set with its keys", responses=NOT_FOUND
)
async def get_set(
    set_id: SetPath, principal: Staff, qualifications: QualificationsDep
) -> QualificationSet:
    return await qualifications.get(principal, set_id)


@router.patch(
    "/qualifications/{set_id}",
    summary="Retire a set (no new enrolments) or put it back",
    responses=NOT_FOUND,
)
async def change_set(
    set_id: SetPath, body: QualificationPatch, principal: Staff, qualifications: QualificationsDep
) -> QualificationSet:
    return await qualifications.set_active(principal, set_id, body.active)


@router.post(
    "/experts/{expert_id}/qualifications",
    status_code=status.HTTP_201_CREATED,
    summary="Enrol an expert in a set: its items come first in their work:next",
    responses={
        **NOT_FOUND,
        409: {
            "model": ProblemDetail,
            "description": "The set is retired, the expert is not in vetting (or vetted), or "
            "they have an attempt at it already",
        },
    },
)
async def enrol(
    expert_id: ExpertPath, body: EnrolIn, principal: Staff, qualifications: QualificationsDep
) -> Attempt:
    return await qualifications.enrol(principal, expert_id, body)


@router.get(
    "/experts/{expert_id}/qualifications",
    summary="An expert's qualification attempts and their outcomes",
    responses=NOT_FOUND,
)
async def expert_attempts(
    expert_id: ExpertPath,
    principal: Staff,
    qualifications: QualificationsDep,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[Attempt]:
    after = _after_attempt(cursor)
    return _attempts(
        await qualifications.attempts_of(principal, expert_id, after=after, limit=limit), limit
    )


@router.get("/me/qualifications", summary="Your qualification attempts and their outcomes")
async def my_attempts(
    principal: ExpertCaller,
    qualifications: QualificationsDep,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[Attempt]:
    after = _after_attempt(cursor)
    return _attempts(await qualifications.mine(principal, after=after, limit=limit), limit)


@router.get(
    "/me/qualifications/{set_id}",
    summary="Your attempt at a set and, once it is over, each answer next to the correct one",
    responses={404: {"model": ProblemDetail, "description": "No attempt of yours at the set"}},
)
async def my_review(
    set_id: SetPath, principal: ExpertCaller, qualifications: QualificationsDep
) -> AttemptReview:
    return await qualifications.review(principal, set_id)
