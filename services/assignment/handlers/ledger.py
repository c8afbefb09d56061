"""The work ledger's use case: the judgments of the tenant's items, as ledger rows."""

from __future__ import annotations

from services.assignment import ledger
from services.assignment.stores.items import ItemStore


async def judged_with_overlaps(
    items: ItemStore, tenant: str, project_id: str | None
) -> list[ledger.Judged]:
    """The judgments of the tenant's items (of one project if given) and, for one project,
    the other judgments of its judges: the leases they held elsewhere at the same time
    count once (``ledger.seconds_spent``)."""
    judged = await items.judged(tenant, project_id)
    if project_id is None or not judged:
        return judged
    experts = {j.expert_id for j in judged}
    elsewhere = await items.judged(tenant, None, experts=experts)
    return [*judged, *(j for j in elsewhere if j.project_id != project_id)]


class Ledger:
    def __init__(self, items: ItemStore) -> None:
        self.items = items

    async def rows(self, tenant: str, project_id: str | None) -> list[ledger.LedgerRow]:
        table = ledger.rows(
            await judged_with_overlaps(self.items, tenant, project_id),
            await self.items.handed(tenant, project_id),
        )
        return [r for r in table if project_id is None or r.project_id == project_id]
