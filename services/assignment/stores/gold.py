"""Gold items and what each project served each expert.

* ``gold_items``: one document per gold item, ``_id`` ``<tenant>/<project>/<gold id>``, with a
  random salt the ids of its per-expert copies are drawn from (so nobody can tell them from
  registered items' ids, nor compute them).
* ``gold_counts``: ``_id`` ``<tenant>/<project>/<expert>``: units the project served the
  expert, gold units among them and the gold items they have seen, changed by ``$inc`` and
  ``$addToSet`` only (safe under any concurrency).
"""

from __future__ import annotations

import secrets
from typing import Any

from pymongo import ASCENDING, IndexModel
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from services.assignment.models.gold import GoldCounts, GoldItem
from shared.mongo import CollectionIndexes

GOLD_ITEMS = "gold_items"
GOLD_COUNTS = "gold_counts"

INDEXES = (
    CollectionIndexes(
        GOLD_ITEMS,
        (
            IndexModel(
                [("tenant", ASCENDING), ("project_id", ASCENDING), ("gold_id", ASCENDING)],
                name="tenant_project_gold",
            ),
        ),
    ),
)


def _key(*parts: str) -> str:
    return "/".join(parts)


def _gold(doc: dict[str, Any]) -> GoldItem:
    return GoldItem.model_validate(doc)


class GoldStore:
    def __init__(self, db: AsyncDatabase[Any]) -> None:
        self.gold = db[GOLD_ITEMS]
        self.counts = db[GOLD_COUNTS]

    async def create(self, item: GoldItem) -> bool:
        """Store a new gold item; False when the project has one of that id."""
        doc = {
            "_id": _key(item.tenant, item.project_id, item.gold_id),
            "salt": secrets.token_hex(16),
            **item.model_dump(mode="python"),
        }
        try:
            await self.gold.insert_one(doc)
        except DuplicateKeyError:
            return False
        return True

    async def get(self, tenant: str, project_id: str, gold_id: str) -> GoldItem | None:
        doc = await self.gold.find_one({"_id": _key(tenant, project_id, gold_id)})
        return _gold(doc) if doc else None

    async def salted(
        self, tenant: str, project_id: str, gold_id: str
    ) -> tuple[GoldItem, str] | None:
        """The gold item and the salt its copies' ids are drawn from."""
        doc = await self.gold.find_one({"_id": _key(tenant, project_id, gold_id)})
        return (_gold(doc), doc["salt"]) if doc else None

    async def of_project(
        self,
        tenant: str,
        project_id: str,
        *,
        active: bool | None,
        after: str | None = None,
        limit: int = 0,
    ) -> list[GoldItem]:
        """The project's gold items in id order after ``after`` (only the active or retired
        ones if given); at most ``limit`` (0: all)."""
        query: dict[str, Any] = {"tenant": tenant, "project_id": project_id}
        if active is not None:
            query["active"] = active
        if after is not None:
            query["gold_id"] = {"$gt": after}
        cursor = self.gold.find(query).sort("gold_id", ASCENDING).limit(limit)
        return [_gold(doc) async for doc in cursor]

    async def set_active(self, tenant: str, project_id: str, gold_id: str, active: bool) -> bool:
        result = await self.gold.update_one(
            {"_id": _key(tenant, project_id, gold_id)}, {"$set": {"active": active}}
        )
        return result.matched_count == 1

    async def counts_of(self, tenant: str, project_id: str, expert_id: str) -> GoldCounts:
        doc = await self.counts.find_one({"_id": _key(tenant, project_id, expert_id)})
        return GoldCounts.model_validate(doc) if doc else GoldCounts()

    async def count(
        self, tenant: str, project_id: str, expert_id: str, gold_id: str | None = None
    ) -> None:
        """One more unit served to the expert by the project (``gold_id``: a gold one)."""
        update: dict[str, Any] = {"$inc": {"served": 1, "gold": int(gold_id is not None)}}
        if gold_id is not None:
            update["$addToSet"] = {"seen": gold_id}
        await self.counts.update_one(
            {"_id": _key(tenant, project_id, expert_id)}, update, upsert=True
        )

    async def seen(self, tenant: str, project_id: str, expert_id: str, gold_id: str) -> None:
        """Record that the expert has had the gold item (found so by a lost insert)."""
        await self.counts.update_one(
            {"_id": _key(tenant, project_id, expert_id)},
            {"$addToSet": {"seen": gold_id}},
            upsert=True,
        )
