"""Items known to assignment, learnt from media.registered."""

from __future__ import annotations

from services.assignment.models.items import ReviewItem, ReviewState
from services.assignment.stores.items import ItemStore
from shared.contracts.media import MediaRegisteredV1
from shared.events.envelope import Event
from shared.logging import get_logger

log = get_logger(__name__)


class Items:
    def __init__(self, store: ItemStore) -> None:
        self.store = store

    async def on_media_registered(self, event: Event[MediaRegisteredV1]) -> None:
        item = event.data
        review = ReviewItem(
            item_id=item.item_id,
            tenant=item.tenant,
            project_id=item.project_id,
            modality=item.modality,
            state=ReviewState.pending,
            registered_at=item.registered_at,
        )
        created = await self.store.add_item(review, source_event_id=event.id)
        log.info("item received for review", item_id=item.item_id, new=created)

    async def get_item(self, tenant: str, item_id: str) -> ReviewItem | None:
        return await self.store.get_item(tenant, item_id)
