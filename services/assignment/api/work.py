"""Work for experts: the next unit (leased), heartbeats, releases and judgments; live leases
for ops."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Path, Query, Response, status

from services.assignment.api.access import ExpertCaller, Staff
from services.assignment.api.paths import ExpertPath
from services.assignment.api.problems import NOT_HELD
from services.assignment.eligibility import NoWorkReason
from services.assignment.handlers.handout import Handout
from services.assignment.handlers.judgments import Judgments
from services.assignment.handlers.leases import Leases
from services.assignment.models.work import (
    HandedOut,
    HeldUnits,
    Judgment,
    JudgmentIn,
    Lease,
    ReleaseIn,
)
from shared.http.pagination import Cursor, Limit, Page, cursor_time, decode_cursor, page_of
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
#: a lease the caller does not hold live: one answer whatever the lease was for
EXPIRED: dict[int | str, dict[str, Any]] = NOT_HELD


#: The header that says why ``work:next`` handed out nothing (an ``eligibility.NoWorkReason``).
NO_WORK_REASON = "Quorum-No-Work-Reason"


@router.post(
    "/work:next",
    summary="Lease your next unit (204 with Retry-After and the reason when there is none)",
    responses={
        204: {
            "description": "Nothing for you now: ask again after `Retry-After` seconds; "
            f"`{NO_WORK_REASON}` says why (docs/assignment.md: for frontend authors)",
            "headers": {
                "Retry-After": {
                    "description": "seconds to wait before asking again",
                    "schema": {"type": "integer"},
                },
                NO_WORK_REASON: {
                    "description": "why nothing was handed out: `not_vetted`, `at_capacity`, "
                    "`not_on_roster`, `benched`, `no_active_project`, `missing_skill` or "
                    "`nothing_left` (the first that holds)",
                    "schema": {"type": "string", "enum": [r.value for r in NoWorkReason]},
                },
            },
        },
        404: {"model": ProblemDetail, "description": "You have no expert profile here"},
    },
)
async def next_unit(principal: ExpertCaller, handout: HandoutDep) -> HandedOut:
    handed = await handout.next_or_reason(principal)
    if isinstance(handed, NoWorkReason):
        headers = {"Retry-After": str(RETRY_AFTER_S), NO_WORK_REASON: handed.value}
        nothing = Response(status_code=status.HTTP_204_NO_CONTENT, headers=headers)
        return nothing  # type: ignore[return-value]
    return handed


@router.get(
    "/me/units",
    summary="The units you hold now, each as it was handed out, soonest deadline first (a "
    "reloaded workbench resumes them)",
)
async def held_units(principal: ExpertCaller, handout: HandoutDep) -> HeldUnits:
    return HeldUnits(units=await handout.held(principal))


@router.post(
    "/me/leases/{lease_id}/heartbeat",
    summary="Extend your lease by the project's lease TTL, never past its maximum life (409 "
    "once it is there)",
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
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[Lease]:
    after = None
    if cursor:
        deadline, lease_id = decode_cursor(cursor, str, str)
        after = (cursor_time(deadline), lease_id)
    found = await leases.of_tenant(principal, project_id, after=after, limit=limit)
    return page_of(found, limit, lambda lease: [lease.expires_at, lease.lease_id])


@router.post(
    "/experts/{expert_id}/leases/{lease_id}/release",
    summary="Force-release an expert's lease (ops)",
    responses={
        404: {
            "model": ProblemDetail,
            "description": "The expert holds no live lease of that id (it expired or was "
            "given back, or never was)",
        }
    },
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
        200: {
            "model": Judgment,
            "description": "This submission was made before with the same body (a retry)",
        },
        409: {
            "model": ProblemDetail,
            "description": NOT_HELD[409]["description"] + "; or you judged it already: under "
            "another submission id, or under this one with another body (`errors` names each "
            "field that differs, with its first value)",
        },
        422: {
            "model": ProblemDetail,
            "description": "Refused, the lease kept; `errors` names every field at once: the "
            "rubric version's rules, and the corrected labels' against the taxonomy version "
            "and the item's media (a part that exists, geometry inside the frame, segments "
            "within the duration, classes of the part's modality: refused, never clipped)",
        },
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
