"""Withdrawal intents: one document per change of standing whose leases are to be released
(``_id`` a random id), written before the change and removed once the sweep settled it, so
the release follows the change even if the replica making it stops in between."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pymongo import ASCENDING, IndexModel
from pymongo.asynchronous.database import AsyncDatabase

from services.assignment.models.withdrawals import WithdrawalIntent
from shared.mongo import CollectionIndexes

WITHDRAWALS = "withdrawals"

INDEXES = (CollectionIndexes(WITHDRAWALS, (IndexModel([("at", ASCENDING)], name="at"),)),)


def _intent(doc: dict[str, Any]) -> WithdrawalIntent:
    return WithdrawalIntent.model_validate({**doc, "intent_id": doc["_id"]})


class WithdrawalStore:
    def __init__(self, db: AsyncDatabase[Any]) -> None:
        self.intents = db[WITHDRAWALS]

    async def intend(self, intent: WithdrawalIntent) -> None:
        doc = intent.model_dump(mode="python", exclude={"intent_id"})
        await self.intents.insert_one({"_id": intent.intent_id, **doc})

    async def due(self, before: datetime, limit: int) -> list[WithdrawalIntent]:
        """Intents recorded before ``before``, the oldest first; at most ``limit``."""
        cursor = self.intents.find({"at": {"$lt": before}}).sort("at", ASCENDING).limit(limit)
        return [_intent(doc) async for doc in cursor]

    async def postpone(self, intent_id: str, at: datetime) -> None:
        """Settle the intent again as if recorded ``at`` (one that failed: set aside)."""
        await self.intents.update_one({"_id": intent_id}, {"$set": {"at": at}})

    async def settled(self, intent_id: str) -> None:
        await self.intents.delete_one({"_id": intent_id})
