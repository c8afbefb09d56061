"""Items known to assignment: one document per media item."""

from __future__ import annotations

from typing import Any

from pymongo import ASCENDING, IndexModel
from pymongo.asynchronous.database import AsyncDatabase

from services.assignment.models.items import ReviewItem
from shared.mongo import CollectionIndexes
from shared.outbox.entries import HIDE_OUTBOX

ITEMS = "items"

INDEXES = (
    CollectionIndexes(
        ITEMS,
        (
            IndexModel(
                [("tenant", ASCENDING), ("project_id", ASCENDING), ("state", ASCENDING)],
                name="tenant_project_state",
            ),
        ),
    ),
)
OUTBOX_COLLECTIONS = (ITEMS,)


class ItemStore:
    def __init__(self, db: AsyncDatabase[Any]) -> None:
        self.items = db[ITEMS]

    async def add_item(self, item: ReviewItem, *, source_event_id: str) -> bool:
        """Insert the item unless it is already known; True when it was new."""
        doc = item.model_dump(mode="json", exclude={"item_id"})
        doc["registered_at"] = item.registered_at
        doc["source_event_id"] = source_event_id
        result = await self.items.update_one(
            {"_id": item.item_id}, {"$setOnInsert": doc}, upsert=True
        )
        return result.upserted_id is not None

    async def get_item(self, tenant: str, item_id: str) -> ReviewItem | None:
        doc = await self.items.find_one({"_id": item_id, "tenant": tenant}, HIDE_OUTBOX)
        return ReviewItem.model_validate({**doc, "item_id": doc["_id"]}) if doc else None
