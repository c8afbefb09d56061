"""Work for experts: the next unit (leased), heartbeats, releases and judgments; live leases
for ops."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Path, Query, Response, status

from services.assignment.api.access import ExpertCaller, Staff
from services.assignment.api.paths import ExpertPath
from services.assignment.handlers.handout import Handout
from services.assignment.handlers.judgments import Judgments
from services.assignment.handlers.leases import Leases
from services.assignment.models.work import HandedOut, Judgment, JudgmentIn, Lease, ReleaseIn
from shared.http.problems import ProblemDetail
from shared.http.routing import api_router
from shared.http.service import use_case

router = api_router("/v1", ["work"])

HandoutDep = Annotated[Handout, Depends(use_case(Handout))]
LeasesDep = Annotated[Leases, Depends(use_case(Leases))]
JudgmentsDep = Annotated[Judgments, Depends(use_case(Judgments))]
UnitPath = Annotated[str, Path(min_length=1, max_length=300)]
LeasePath = Annotated[str, Path(min_length=1, max_length=64)]
#: seconds a client waits before asking again when nothing is eligible
RETRY_AFTER_S = 5
EXPIRED: dict[int | str, dict[str, Any]] = {
    404: {"model": ProblemDetail, "description": "No such lease of yours"},
    409: {"model": ProblemDetail, "description": "The lease expired or was released"},
}


@router.post(
    "/work:next",
    summary="Lease your next unit (204 with Retry-After when nothing is eligible now)",
    responses={
        204: {"description": "Nothing eligible now: ask again after Retry-After seconds"},
        404: {"model": ProblemDetail, "description": "You have no expert profile here"},
    },
)
async def next_unit(
    principal: ExpertCaller, handout: HandoutDep, response: Response
) -> HandedOut | None:
    handed = await handout.next(principal)
    if handed is None:
        return Response(  # type: ignore[return-value]
            status_code=status.HTTP_204_NO_CONTENT, headers={"Retry-After": str(RETRY_AFTER_S)}
        )
    return handed


@router.post(
    "/me/leases/{lease_id}/heartbeat",
    summary="Extend your lease by the project's lease TTL",
    responses=EXPIRED,
)
async def heartbeat(lease_id: LeasePath, principal: ExpertCaller, leases: LeasesDep) -> Lease:
    return await leases.heartbeat(principal, lease_id)


@router.post(
    "/me/leases/{lease_id}/release",
    summary="Give a unit back unfinished, with a reason",
    responses=EXPIRED,
)
async def release(
    lease_id: LeasePath, body: ReleaseIn, principal: ExpertCaller, leases: LeasesDep
) -> Lease:
    return await leases.release(principal, lease_id, body)


@router.get("/leases", summary="Live leases of your tenant (ops), soonest deadline first")
async def live_leases(
    principal: Staff,
    leases: LeasesDep,
    project_id: Annotated[str | None, Query(min_length=1, max_length=256)] = None,
) -> list[Lease]:
    return await leases.of_tenant(principal, project_id)


@router.post(
    "/experts/{expert_id}/leases/{lease_id}/release",
    summary="Force-release an expert's lease (ops)",
    responses=EXPIRED,
)
async def force_release(
    expert_id: ExpertPath,
    lease_id: LeasePath,
    body: ReleaseIn,
    principal: Staff,
    leases: LeasesDep,
) -> Lease:
    return await leases.release(principal, lease_id, body, expert_id=expert_id)


@router.post(
    "/units/{unit_id}/judgments",
    status_code=status.HTTP_201_CREATED,
    summary="Submit your answers on the unit you hold (the same submission_id again: 200, the "
    "same judgment)",
    responses={
        200: {"model": Judgment, "description": "This submission was made before"},
        404: {"model": ProblemDetail, "description": "Not a unit of yours"},
        409: {"model": ProblemDetail, "description": "The lease expired or was released"},
        503: {"model": ProblemDetail, "description": "The taxonomy version is not known yet"},
    },
)
async def submit_judgment(
    unit_id: UnitPath,
    body: JudgmentIn,
    principal: ExpertCaller,
    judgments: JudgmentsDep,
    response: Response,
) -> Judgment:
    judgment, created = await judgments.submit(principal, unit_id, body)
    if not created:
        response.status_code = status.HTTP_200_OK
    return judgment
