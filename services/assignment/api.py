"""Assignment's HTTP routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path

from services.assignment.handlers import Assignment
from services.assignment.models import ReviewItem
from shared.auth.dependencies import require_roles
from shared.auth.principal import Principal, Role
from shared.http.problems import ProblemDetail, not_found
from shared.http.routing import api_router
from shared.http.service import use_case

ItemId = Annotated[str, Path(min_length=1, max_length=256)]
router = api_router("/v1", ["items"])

Staff = Annotated[Principal, Depends(require_roles(Role.ops, Role.admin))]


AssignmentDep = Annotated[Assignment, Depends(use_case(Assignment))]


@router.get(
    "/items/{item_id}",
    summary="An item known to assignment (ops)",
    responses={404: {"model": ProblemDetail}},
)
async def get_item(item_id: ItemId, principal: Staff, assignment: AssignmentDep) -> ReviewItem:
    item = await assignment.get_item(principal.tenant, item_id)
    if item is None:
        raise not_found(f"item {item_id}")
    return item
