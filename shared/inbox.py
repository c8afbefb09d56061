"""The inbox: event ids a consumer has applied, in the consumer's own database."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError

from shared.mongo import DUPLICATE_KEY


class Inbox:
    """Event ids already applied by one consumer, in the consumer's own database.

    Handlers should also be idempotent by construction (upserts on natural keys,
    conditional updates): the inbox turns a redelivery into a cheap no-op, and
    handler idempotence covers a crash between the effect and the inbox write.
    """

    def __init__(self, db: AsyncDatabase[Any], consumer: str, retention_days: float = 14.0) -> None:
        self.collection = db[f"inbox_{consumer}"]
        self.retention_seconds = int(retention_days * 86_400)

    async def create_indexes(self) -> None:
        """Ids older than the retention are dropped (a replay from older offsets relies on
        the handlers' own idempotence, which every handler keeps)."""
        await self.collection.create_index(
            "at", expireAfterSeconds=self.retention_seconds, name="inbox_retention"
        )

    async def seen(self, event_ids: Sequence[str]) -> set[str]:
        if not event_ids:
            return set()
        cursor = self.collection.find({"_id": {"$in": list(event_ids)}}, {"_id": 1})
        return {doc["_id"] async for doc in cursor}

    async def mark(self, event_ids: Sequence[str]) -> None:
        """Store the ids; ids already there are fine (a redelivery applied twice)."""
        if not event_ids:
            return
        now = datetime.now(UTC)
        try:
            await self.collection.insert_many(
                [{"_id": event_id, "at": now} for event_id in event_ids], ordered=False
            )
        except BulkWriteError as exc:
            if any(e.get("code") != DUPLICATE_KEY for e in exc.details.get("writeErrors", ())):
                raise
