"""Assignment's MongoDB storage."""

from __future__ import annotations

from typing import Any

from pymongo import ASCENDING, IndexModel
from pymongo.asynchronous.database import AsyncDatabase

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


class AssignmentStore:
    def __init__(self, db: AsyncDatabase[Any]) -> None:
        self.items = db[ITEMS]

    async def add_item(self, doc: dict[str, Any]) -> bool:
        """Insert the item unless it is already known; True when it was new."""
        result = await self.items.update_one(
            {"_id": doc["_id"]}, {"$setOnInsert": doc}, upsert=True
        )
        return result.upserted_id is not None

    async def get_item(self, tenant: str, item_id: str) -> dict[str, Any] | None:
        return await self.items.find_one({"_id": item_id, "tenant": tenant}, HIDE_OUTBOX)
