"""The work ledger (ops): per expert and project, for payouts."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import Depends, Query, Response

from services.assignment import ledger
from services.assignment.api.access import Staff
from services.assignment.handlers.ledger import Ledger
from shared.http.pagination import Cursor, Limit, Page, decode_cursor, page_of
from shared.http.routing import api_router
from shared.http.service import use_case

router = api_router("/v1", ["ledger"])


LedgerDep = Annotated[Ledger, Depends(use_case(Ledger))]


@router.get(
    "/ledger",
    summary="Units, judgments, adjudications, time spent and gold score per expert and project "
    "(CSV or JSON)",
    description="`format=csv` (the default) is the whole ledger, for payouts; `format=json` "
    "pages it like every list (`limit`, `cursor`; `{items, next_cursor}`), by expert and "
    "project. `time_spent_s` is the expert's time, not the sum of their leases: the union of "
    "the intervals from each judged unit's handout to its judgment, shared out among the "
    "units (units held side by side count once). In the CSV an id starting with `=`, `+`, "
    "`-`, `@`, a tab or a carriage return is written after a single quote (CSV injection).",
    responses={200: {"content": {"text/csv": {}, "application/json": {}}}},
    response_model=None,
)
async def work_ledger(
    principal: Staff,
    book: LedgerDep,
    project_id: Annotated[str | None, Query(min_length=1, max_length=256)] = None,
    format: Literal["csv", "json"] = "csv",
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Response | Page[dict[str, object]]:
    rows = await book.rows(principal.tenant, project_id)
    if format == "json":
        after = tuple(decode_cursor(cursor, str, str)) if cursor else None
        kept = [r for r in rows if after is None or (r.expert_id, r.project_id) > after][:limit]
        return page_of([vars(r) for r in kept], limit, lambda r: [r["expert_id"], r["project_id"]])
    return Response(
        ledger.to_csv(rows),
        media_type="text/csv",
        headers={"Content-Disposition": 'attachment; filename="ledger.csv"'},
    )
