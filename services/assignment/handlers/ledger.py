"""The work ledger's use case: the judgments of the tenant's items, as ledger rows."""

from __future__ import annotations

from services.assignment import ledger
from services.assignment.stores.items import ItemStore


class Ledger:
    def __init__(self, items: ItemStore) -> None:
        self.items = items

    async def rows(self, tenant: str, project_id: str | None) -> list[ledger.LedgerRow]:
        return ledger.rows(
            await self.items.judged(tenant, project_id),
            await self.items.handed(tenant, project_id),
        )
