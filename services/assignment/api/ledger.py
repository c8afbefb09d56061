"""The work ledger (ops): per expert and project, for payouts."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import Depends, Query, Response

from services.assignment import ledger
from services.assignment.api.access import Staff
from services.assignment.handlers.ledger import Ledger
from shared.http.routing import api_router
from shared.http.service import use_case

router = api_router("/v1", ["ledger"])


LedgerDep = Annotated[Ledger, Depends(use_case(Ledger))]


@router.get(
    "/ledger",
    summary="Units, judgments, adjudications, time spent and gold score per expert and project "
    "(CSV or JSON)",
    responses={200: {"content": {"text/csv": {}, "application/json": {}}}},
    response_model=None,
)
async def work_ledger(
    principal: Staff,
    book: LedgerDep,
    project_id: Annotated[str | None, Query(min_length=1, max_length=256)] = None,
    format: Literal["csv", "json"] = "csv",
) -> Response | list[dict[str, object]]:
    rows = await book.rows(principal.tenant, project_id)
    if format == "json":
        return [vars(row) for row in rows]
    return Response(
        ledger.to_csv(rows),
        media_type="text/csv",
        headers={"Content-Disposition": 'attachment; filename="ledger.csv"'},
    )
