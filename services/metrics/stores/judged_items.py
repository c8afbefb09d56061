"""Each judged item's entries: what a project's agreement is built from.

* ``judged_items``: ``_id`` ``<tenant>/<project>/<item>`` (parts escaped,
  :func:`compound_id`): ``entries``, per expert and rubric version the latest judgment of the
  item (:class:`~services.metrics.project_agreement.Entry`); ``applied``, the ids of the
  judgments taken; ``revision``; ``last_at``, the latest ``submitted_at`` (rolling windows
  read the items judged since a cutoff).

A write is conditional on the judgment not being applied and on the document's revision, so
a judgment applied already (a replayed or duplicated event, under any event id) changes
nothing and two writers never lose an update. Only the replica that owns the project's
partition of ``quorum.metrics.projects`` writes a project's items (docs/metrics.md "State and
scale").
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pymongo import ASCENDING, IndexModel
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from services.metrics.project_agreement import Entry, entry_document, entry_of, merged
from shared.mongo import CollectionIndexes

JUDGED_ITEMS = "judged_items"

INDEXES = (
    CollectionIndexes(
        JUDGED_ITEMS,
        (
            IndexModel(
                [("tenant", ASCENDING), ("project_id", ASCENDING), ("last_at", ASCENDING)],
                name="tenant_project_last_at",
            ),
        ),
    ),
)


def compound_id(*parts: str | int) -> str:
    """The parts joined with ``/``, each part's ``%`` and ``/`` escaped first."""
    return "/".join(str(p).replace("%", "%25").replace("/", "%2F") for p in parts)


@dataclass(frozen=True)
class Change:
    """An item's entries before and after a judgment was taken."""

    item_id: str
    before: list[Entry]
    after: list[Entry]


class JudgedItemStore:
    def __init__(self, db: AsyncDatabase[Any]) -> None:
        self.items = db[JUDGED_ITEMS]

    async def apply(
        self, tenant: str, project_id: str, item_id: str, entry: Entry
    ) -> Change | None:
        """Take the judgment once; None when it was taken before (nothing changes)."""
        key = compound_id(tenant, project_id, item_id)
        while True:
            doc = await self.items.find_one({"_id": key})
            if doc is None:
                try:
                    await self.items.insert_one(
                        {
                            "_id": key,
                            "tenant": tenant,
                            "project_id": project_id,
                            "item_id": item_id,
                            "entries": [entry_document(entry)],
                            "applied": [entry.judgment_id],
                            "revision": 1,
                            "last_at": entry.submitted_at,
                        }
                    )
                    return Change(item_id, [], [entry])
                except DuplicateKeyError:
                    continue  # written meanwhile: read it again
            if entry.judgment_id in doc["applied"]:
                return None
            before = [entry_of(e) for e in doc["entries"]]
            after = merged(before, entry)
            done = await self.items.update_one(
                {"_id": key, "revision": doc["revision"]},
                {
                    "$set": {
                        "entries": [entry_document(e) for e in after],
                        "last_at": max(doc["last_at"], entry.submitted_at),
                    },
                    "$push": {"applied": entry.judgment_id},
                    "$inc": {"revision": 1},
                },
            )
            if done.modified_count:
                return Change(item_id, before, after)

    async def of_project(
        self, tenant: str, project_id: str, *, since: datetime | None = None
    ) -> AsyncIterator[list[Entry]]:
        """Each judged item's entries (of the items judged at or after ``since``, if given)."""
        query: dict[str, Any] = {"tenant": tenant, "project_id": project_id}
        if since is not None:
            query["last_at"] = {"$gte": since}
        async for doc in self.items.find(query, {"entries": 1}):
            yield [entry_of(e) for e in doc["entries"]]

    async def items_of_project(
        self, tenant: str, project_id: str, *, since: datetime | None = None
    ) -> AsyncIterator[tuple[str, list[Entry]]]:
        """Each judged item's id and entries (as :meth:`of_project`)."""
        query: dict[str, Any] = {"tenant": tenant, "project_id": project_id}
        if since is not None:
            query["last_at"] = {"$gte": since}
        async for doc in self.items.find(query, {"item_id": 1, "entries": 1}):
            yield doc["item_id"], [entry_of(e) for e in doc["entries"]]

    async def has_project(self, tenant: str, project_id: str) -> bool:
        found = await self.items.find_one({"tenant": tenant, "project_id": project_id}, {"_id": 1})
        return found is not None
