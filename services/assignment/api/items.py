"""Items known to assignment (ops)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from services.assignment.api.access import Staff
from services.assignment.api.paths import ItemPath as ItemId
from services.assignment.handlers.items import Items
from services.assignment.handlers.outcomes import Outcomes
from services.assignment.models.work import OverrideIn, SendBackIn, WorkItem
from shared.http.problems import ProblemDetail, not_found
from shared.http.routing import api_router
from shared.http.service import use_case

router = api_router("/v1", ["items"])

ItemsDep = Annotated[Items, Depends(use_case(Items))]
OutcomesDep = Annotated[Outcomes, Depends(use_case(Outcomes))]


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


@router.post(
    "/items/{item_id}/override",
    summary="Replace a resolved item's outcome with ops' answers and a reason (ops)",
    description="The answers are checked against the item's rubric and taxonomy versions as "
    "a judgment's are; the labels follow the same rule (accept keeps the pre-labels, correct "
    "gives the labels, reject and infeasible none). The outcome the item had is kept among "
    "its `earlier_resolutions`; `item.resolved` goes out with `method: override`, the next "
    "`revision`, `revised_by` and `revision_reason`, and the client's item takes it. 409 "
    "while the item is not resolved, or when it changed during the call.",
    responses={
        404: {"model": ProblemDetail},
        409: {"model": ProblemDetail},
        422: {"model": ProblemDetail},
    },
)
async def override_outcome(
    item_id: ItemId, body: OverrideIn, principal: Staff, outcomes: OutcomesDep
) -> WorkItem:
    return await outcomes.override(principal, item_id, body)


@router.post(
    "/items/{item_id}/send-back",
    summary="Send a resolved item back for another review (ops)",
    description="The item gets an adjudication unit, for a vetted expert on the roster who "
    "has not judged it, and is unresolved until that unit is judged; then `item.resolved` "
    "goes out again with the next `revision` (the client's item keeps the earlier outcome "
    "meanwhile). The unit records why (`escalation`, code `reopened`). 409 while the item is "
    "not resolved, or when it changed during the call.",
    responses={404: {"model": ProblemDetail}, 409: {"model": ProblemDetail}},
)
async def send_back(
    item_id: ItemId, body: SendBackIn, principal: Staff, outcomes: OutcomesDep
) -> WorkItem:
    return await outcomes.send_back(principal, item_id, body)
