"""Guideline feedback: an expert's note on a unit about its rubric or taxonomy; ops' queue."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, Path, Query, Response, status

from services.assignment.api.access import ExpertCaller, Staff
from services.assignment.handlers.feedback import Feedbacks
from services.assignment.models.feedback import Feedback, FeedbackIn, FeedbackStatus, ResolveIn
from shared.http.pagination import Cursor, Page, cursor_time, decode_cursor, page_of
from shared.http.problems import ProblemDetail
from shared.http.routing import api_router
from shared.http.service import use_case

router = api_router("/v1", ["feedback"])

FeedbackDep = Annotated[Feedbacks, Depends(use_case(Feedbacks))]
UnitPath = Annotated[str, Path(min_length=1, max_length=300)]
FeedbackPath = Annotated[str, Path(min_length=1, max_length=64)]
Limit = Annotated[int, Query(ge=1, le=1_000)]
CONFLICT: dict[int | str, dict[str, Any]] = {
    409: {"model": ProblemDetail, "description": "The submission id was used on another unit"}
}


@router.post(
    "/units/{unit_id}/feedback",
    status_code=status.HTTP_201_CREATED,
    summary="Feedback on a unit you hold or judged, about its rubric or taxonomy "
    "(200: the same submission again)",
    responses={
        200: {"model": Feedback, "description": "The same submission id again"},
        409: {
            "model": ProblemDetail,
            "description": "The submission id was used on another unit, or the unit is not "
            "one you hold or judged (the same answer for every unit)",
        },
        503: {
            "model": ProblemDetail,
            "description": "The unit's taxonomy version is not known "
            "here yet: try again after Retry-After",
        },
    },
)
async def submit_feedback(
    unit_id: UnitPath,
    body: FeedbackIn,
    principal: ExpertCaller,
    feedback: FeedbackDep,
    response: Response,
) -> Feedback:
    made, created = await feedback.submit(principal, unit_id, body)
    if not created:
        response.status_code = status.HTTP_200_OK
    return made


def _after(cursor: str | None) -> tuple[datetime, str] | None:
    if not cursor:
        return None
    moment, feedback_id = decode_cursor(cursor, str, str)
    return cursor_time(moment), feedback_id


def _page(found: list[Feedback], limit: int) -> Page[Feedback]:
    return page_of(found, limit, lambda f: [f.submitted_at, f.feedback_id])


@router.get("/me/feedback", summary="Your feedback and what ops made of it, oldest first")
async def my_feedback(
    principal: ExpertCaller, feedback: FeedbackDep, limit: Limit = 200, cursor: Cursor = None
) -> Page[Feedback]:
    return _page(await feedback.mine(principal, after=_after(cursor), limit=limit), limit)


@router.get("/feedback", summary="The tenant's guideline feedback queue, oldest first")
async def feedback_queue(
    principal: Staff,
    feedback: FeedbackDep,
    status_: Annotated[FeedbackStatus | None, Query(alias="status")] = FeedbackStatus.open,
    project_id: Annotated[str | None, Query(min_length=1, max_length=256)] = None,
    limit: Limit = 200,
    cursor: Cursor = None,
) -> Page[Feedback]:
    found = await feedback.queue(principal, status_, project_id, after=_after(cursor), limit=limit)
    return _page(found, limit)


@router.post(
    "/feedback/{feedback_id}/resolve",
    summary="Resolve feedback with a note (the expert sees it)",
    responses={
        404: {"model": ProblemDetail, "description": "No such feedback of your tenant"},
        409: {"model": ProblemDetail, "description": "Resolved already"},
    },
)
async def resolve_feedback(
    feedback_id: FeedbackPath, body: ResolveIn, principal: Staff, feedback: FeedbackDep
) -> Feedback:
    return await feedback.resolve(principal, feedback_id, body)
