"""Gold (ops): items with known answers per project; experts' calibration from their gold
scores, benches and reinstatement. An expert reads their own calibration only."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Query, status

from services.assignment.api.access import ExpertCaller, Staff
from services.assignment.api.paths import ExpertPath, GoldPath, ProjectPath
from services.assignment.handlers.calibrations import Calibrations
from services.assignment.handlers.gold import GoldItems
from services.assignment.models.gold import (
    Bench,
    GoldItem,
    GoldItemIn,
    GoldPatch,
    ReinstateIn,
    SkillCalibration,
)
from shared.http.pagination import Cursor, Limit, Page, decode_cursor, page_of
from shared.http.problems import ProblemDetail
from shared.http.routing import api_router
from shared.http.service import use_case

router = api_router("/v1", ["gold"])

GoldDep = Annotated[GoldItems, Depends(use_case(GoldItems))]
CalibrationsDep = Annotated[Calibrations, Depends(use_case(Calibrations))]


def _after(cursor: str | None) -> str | None:
    """The id (of a gold item, a skill, an expert) a page starts after."""
    return decode_cursor(cursor, str)[0] if cursor else None


NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"model": ProblemDetail, "description": "No such project (or gold item) of your tenant"}
}


@router.post(
    "/projects/{project_id}/gold",
    status_code=status.HTTP_201_CREATED,
    summary="Register a gold item: media and its key, served at the project's gold rate",
    responses={
        **NOT_FOUND,
        409: {
            "model": ProblemDetail,
            "description": "The gold id is taken, or the key's taxonomy version is not published",
        },
        422: {
            "model": ProblemDetail,
            "description": "Refused; `errors` names every field at once: the content's shape, "
            "the key against the rubric and taxonomy versions, the key's labels against the "
            "media (as ingest checks pre-labels), tolerances, a key that scores nothing",
        },
    },
)
async def register_gold(
    project_id: ProjectPath, body: GoldItemIn, principal: Staff, gold: GoldDep
) -> GoldItem:
    return await gold.register(principal, project_id, body)


@router.get(
    "/projects/{project_id}/gold",
    summary="The project's gold items, by id: the versions each key holds under (`valid_for`), "
    "and `stale` with every failing field when it fails the project's current versions",
    responses=NOT_FOUND,
)
async def list_gold(
    project_id: ProjectPath,
    principal: Staff,
    gold: GoldDep,
    active: Annotated[bool | None, Query(description="only the active or retired ones")] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[GoldItem]:
    found = await gold.of_project(principal, project_id, active, after=_after(cursor), limit=limit)
    return page_of(found, limit, lambda g: [g.gold_id])


@router.patch(
    "/projects/{project_id}/gold/{gold_id}",
    summary="Retire a gold item (no longer served) or put it back",
    responses=NOT_FOUND,
)
async def change_gold(
    project_id: ProjectPath, gold_id: GoldPath, body: GoldPatch, principal: Staff, gold: GoldDep
) -> GoldItem:
    return await gold.set_active(principal, project_id, gold_id, body.active)


@router.get(
    "/me/calibration",
    summary="Your rolling gold score and its trend, per skill: as of the last UTC midnight, "
    "in whole batches of 5 gold scores (ops see the exact figures)",
)
async def my_calibration(
    principal: ExpertCaller, calibrations: CalibrationsDep, limit: Limit = 50, cursor: Cursor = None
) -> Page[SkillCalibration]:
    found = await calibrations.mine(principal, after=_after(cursor), limit=limit)
    return page_of(found, limit, lambda c: [c.skill])


@router.get("/experts/{expert_id}/calibration", summary="An expert's calibration per skill")
async def expert_calibration(
    expert_id: ExpertPath,
    principal: Staff,
    calibrations: CalibrationsDep,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[SkillCalibration]:
    found = await calibrations.of_expert(principal, expert_id, after=_after(cursor), limit=limit)
    return page_of(found, limit, lambda c: [c.skill])


@router.get(
    "/projects/{project_id}/benches",
    summary="Experts benched from the project by their gold score",
    responses=NOT_FOUND,
)
async def list_benches(
    project_id: ProjectPath,
    principal: Staff,
    calibrations: CalibrationsDep,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[Bench]:
    found = await calibrations.benches(principal, project_id, after=_after(cursor), limit=limit)
    return page_of(found, limit, lambda b: [b.expert_id])


@router.post(
    "/projects/{project_id}/benches/{expert_id}/reinstate",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Lift a bench: the expert gets the project's work again, calibrated afresh",
    responses={404: {"model": ProblemDetail, "description": "No such bench"}},
)
async def reinstate(
    project_id: ProjectPath,
    expert_id: ExpertPath,
    body: ReinstateIn,
    principal: Staff,
    calibrations: CalibrationsDep,
) -> None:
    await calibrations.reinstate(principal, project_id, expert_id, body)
