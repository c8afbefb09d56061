"""Items known to assignment (ops)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from services.assignment.api.access import Staff
from services.assignment.api.paths import ItemPath as ItemId
from services.assignment.handlers.items import Items
from services.assignment.models.work import WorkItem
from shared.http.problems import ProblemDetail, not_found
from shared.http.routing import api_router
from shared.http.service import use_case

router = api_router("/v1", ["items"])

ItemsDep = Annotated[Items, Depends(use_case(Items))]


@router.get(
    "/items/{item_id}",
    summary="An item under review: its units, their states and experts (ops)",
    responses={404: {"model": ProblemDetail}},
)
async def get_item(item_id: ItemId, principal: Staff, items: ItemsDep) -> WorkItem:
    item = await items.get_item(principal.tenant, item_id)
    if item is None:
        raise not_found(f"item {item_id}")
    return item
