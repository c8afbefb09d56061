"""What a model pre-labelled on each item and how the item was resolved: what the pre-label
confusion and calibration are computed from.

* ``item_prelabels``: ``_id`` ``<tenant>/<item>`` (parts escaped, :func:`compound_id`), the
  item's ``project_id``; ``prelabels`` (from ``media.registered``): ``model``, ``version``
  and ``labels`` (``class_id``, ``confidence``); ``resolution`` (from ``item.resolved``):
  ``revision``, ``verdict``, ``classes`` (the final labels' class ids) and ``resolved_at``.
  Either may arrive first. The pre-labels are written once (a replay writes the same
  values); a resolution replaces the held one only when its revision is higher, so a replayed
  or older resolution changes nothing and a revision replaces the item's contribution.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pymongo import ASCENDING, IndexModel
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from shared.mongo import CollectionIndexes, compound_id

ITEM_PRELABELS = "item_prelabels"

INDEXES = (
    CollectionIndexes(
        ITEM_PRELABELS,
        (
            IndexModel(
                [
                    ("tenant", ASCENDING),
                    ("project_id", ASCENDING),
                    ("prelabels.version", ASCENDING),
                ],
                name="tenant_project_version",
            ),
        ),
    ),
)


@dataclass(frozen=True)
class Prelabelled:
    """What a model said about an item: its classes with their confidences."""

    model: str
    version: str
    labels: tuple[tuple[str, float | None], ...]


@dataclass(frozen=True)
class Resolved:
    """An item's outcome, as far as the comparison needs it."""

    revision: int
    verdict: str | None
    classes: tuple[str, ...]
    resolved_at: datetime


@dataclass(frozen=True)
class ItemPrelabels:
    item_id: str
    prelabels: Prelabelled
    resolution: Resolved


class PrelabelStore:
    def __init__(self, db: AsyncDatabase[Any]) -> None:
        self.items = db[ITEM_PRELABELS]

    @staticmethod
    def _owner(tenant: str, project_id: str, item_id: str) -> dict[str, Any]:
        return {"tenant": tenant, "project_id": project_id, "item_id": item_id}

    async def prelabelled(
        self, tenant: str, project_id: str, item_id: str, prelabels: Prelabelled
    ) -> None:
        """Keep what the model said about the item (the same values on a replay)."""
        document = {
            "model": prelabels.model,
            "version": prelabels.version,
            "labels": [{"class_id": c, "confidence": v} for c, v in prelabels.labels],
        }
        key = compound_id(tenant, item_id)
        for _ in range(2):  # two first writers of the item: the loser updates
            try:
                await self.items.update_one(
                    {"_id": key},
                    {
                        "$set": {"prelabels": document},
                        "$setOnInsert": self._owner(tenant, project_id, item_id),
                    },
                    upsert=True,
                )
                return
            except DuplicateKeyError:
                continue

    async def resolved(
        self, tenant: str, project_id: str, item_id: str, resolution: Resolved
    ) -> bool:
        """Keep the item's outcome when its revision is higher than the one held. False when
        it is not (a replay, or an older revision): nothing changes."""
        key = compound_id(tenant, item_id)
        document = {
            "revision": resolution.revision,
            "verdict": resolution.verdict,
            "classes": list(resolution.classes),
            "resolved_at": resolution.resolved_at,
        }
        while True:
            try:
                done = await self.items.update_one(
                    {
                        "_id": key,
                        "$or": [
                            {"resolution": None},
                            {"resolution.revision": {"$lt": resolution.revision}},
                        ],
                    },
                    {
                        "$set": {"resolution": document},
                        "$setOnInsert": self._owner(tenant, project_id, item_id),
                    },
                    upsert=True,
                )
                return bool(done.modified_count or done.upserted_id is not None)
            except DuplicateKeyError:
                # the item exists with this revision or a later one, or was inserted meanwhile
                held = await self.items.find_one({"_id": key}, {"resolution.revision": 1})
                revision = ((held or {}).get("resolution") or {}).get("revision")
                if revision is not None and revision >= resolution.revision:
                    return False

    async def of_project(
        self, tenant: str, project_id: str, *, version: str | None = None
    ) -> AsyncIterator[ItemPrelabels]:
        """The project's items that have both pre-labels and an outcome (of the model
        ``version``, when given)."""
        query: dict[str, Any] = {
            "tenant": tenant,
            "project_id": project_id,
            "prelabels": {"$ne": None},
            "resolution": {"$ne": None},
        }
        if version is not None:
            query["prelabels.version"] = version
        async for doc in self.items.find(query, {"item_id": 1, "prelabels": 1, "resolution": 1}):
            p, r = doc["prelabels"], doc["resolution"]
            yield ItemPrelabels(
                doc["item_id"],
                Prelabelled(
                    p["model"],
                    p["version"],
                    tuple((v["class_id"], v["confidence"]) for v in p["labels"]),
                ),
                Resolved(r["revision"], r["verdict"], tuple(r["classes"]), r["resolved_at"]),
            )

    async def has_project(self, tenant: str, project_id: str) -> bool:
        """Whether the tenant's project has an item with pre-labels."""
        found = await self.items.find_one(
            {"tenant": tenant, "project_id": project_id, "prelabels": {"$ne": None}}, {"_id": 1}
        )
        return found is not None
