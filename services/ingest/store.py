"""Ingest's MongoDB storage: the ``media`` collection."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pymongo import ASCENDING, IndexModel, ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase

from shared.events import Event
from shared.mongo import CollectionIndexes
from shared.outbox import HIDE_OUTBOX, new_document

MEDIA = "media"

INDEXES = (
    CollectionIndexes(
        MEDIA,
        (
            IndexModel(
                [("tenant", ASCENDING), ("external_id", ASCENDING)],
                unique=True,
                name="tenant_external_id",
            ),
            IndexModel(
                [("tenant", ASCENDING), ("project_id", ASCENDING), ("checksum", ASCENDING)],
                name="project_checksum",
            ),
        ),
    ),
)
OUTBOX_COLLECTIONS = (MEDIA,)


class MediaStore:
    def __init__(self, db: AsyncDatabase[Any]) -> None:
        self.media = db[MEDIA]

    async def insert(self, doc: dict[str, Any], events: Sequence[Event[Any]]) -> None:
        """Store a new item and the events its registration causes, in one write."""
        await self.media.insert_one(new_document(doc, events))

    async def by_external_id(self, tenant: str, external_id: str) -> dict[str, Any] | None:
        return await self.media.find_one(
            {"tenant": tenant, "external_id": external_id}, HIDE_OUTBOX
        )

    async def get(self, tenant: str, item_id: str) -> dict[str, Any] | None:
        return await self.media.find_one({"_id": item_id, "tenant": tenant}, HIDE_OUTBOX)

    async def set_status(
        self, tenant: str, item_id: str, fields: dict[str, Any]
    ) -> dict[str, Any] | None:
        return await self.media.find_one_and_update(
            {"_id": item_id, "tenant": tenant},
            {"$set": fields},
            projection=HIDE_OUTBOX,
            return_document=ReturnDocument.AFTER,
        )
