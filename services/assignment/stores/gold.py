"""Gold items and what each project served each expert.

* ``gold_items``: one document per gold item, ``_id`` ``<tenant>/<project>/<gold id>``, with a
  random salt the ids of its per-expert copies are drawn from (so nobody can tell them from
  registered items' ids, nor compute them).
* ``gold_counts``: ``_id`` ``<tenant>/<project>/<expert>``: units the project served the
  expert, gold units among them (a gold unit given back unjudged counts as neither) and the
  gold items they have seen, changed by ``$inc`` and ``$addToSet`` only (safe under any
  concurrency).
"""

from __future__ import annotations

import secrets
from typing import Any

from pymongo import ASCENDING, IndexModel
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from services.assignment.models.gold import GoldCounts, GoldItem, GoldStale, GoldVersions
from shared.contracts.vocabulary import TaxonomyRef
from shared.mongo import CollectionIndexes, compound_id

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
    return compound_id(*parts)


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

    async def revalidated(
        self, tenant: str, project_id: str, gold_id: str, valid_for: list[GoldVersions]
    ) -> None:
        """The versions the gold item's key holds under (served on units of them), none of
        them stale."""
        await self.gold.update_one(
            {"_id": _key(tenant, project_id, gold_id)},
            {"$set": {"valid_for": [v.model_dump() for v in valid_for], "stale": None}},
        )

    async def flag_stale(
        self, tenant: str, project_id: str, gold_id: str, stale: GoldStale
    ) -> None:
        """The gold item's key fails the versions its project uses now: not served, and why."""
        await self.gold.update_one(
            {"_id": _key(tenant, project_id, gold_id)},
            {"$set": {"stale": stale.model_dump(mode="python")}},
        )

    async def stale_under(self, tenant: str, taxonomy: TaxonomyRef) -> list[str]:
        """The projects with a gold item stale under taxonomy version ``taxonomy`` (checked
        against it, perhaps before it was known here)."""
        found = await self.gold.distinct(
            "project_id",
            {
                "tenant": tenant,
                "stale.taxonomy.ontology_id": taxonomy.ontology_id,
                "stale.taxonomy.version": taxonomy.version,
            },
        )
        return sorted(found)

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

    async def given_back(self, tenant: str, project_id: str, expert_id: str, *, gold: bool) -> None:
        """The expert gave a unit of the project back unjudged (released, expired or
        withdrawn). A gold one no longer counts as served (``served`` and ``gold`` go back by
        one, never below 0): the gold stays due, and the next unit the project serves them
        is gold again (another gold item: they have seen this one). Either way the same one
        write, so a give-back takes as long whatever it gave back."""
        back = int(gold)
        await self.counts.update_one(
            {
                "_id": _key(tenant, project_id, expert_id),
                "served": {"$gte": back},
                "gold": {"$gte": back},
            },
            {"$inc": {"served": -back, "gold": -back, "given_back": 1}},
        )

    async def seen(self, tenant: str, project_id: str, expert_id: str, gold_id: str) -> None:
        """Record that the expert has had the gold item (found so by a lost insert)."""
        await self.counts.update_one(
            {"_id": _key(tenant, project_id, expert_id)},
            {"$addToSet": {"seen": gold_id}},
            upsert=True,
        )
