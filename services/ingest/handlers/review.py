"""Following each item's review from assignment's events: queued, in review, resolved."""

from __future__ import annotations

from services.ingest.store import MediaStore
from shared.contracts.work import ItemResolvedV1, WorkUnitEventV1
from shared.events.envelope import Event


class ReviewProgress:
    def __init__(self, store: MediaStore) -> None:
        self.store = store

    async def on_review_started(self, event: Event[WorkUnitEventV1]) -> None:
        """Work was created or leased for the item: a queued item is in review."""
        unit = event.data
        await self.store.mark_in_review(unit.tenant, unit.item_id, unit.at)

    async def on_item_resolved(self, event: Event[ItemResolvedV1]) -> None:
        await self.store.mark_resolved(event.data)
