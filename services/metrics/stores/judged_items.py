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

from pymongo import ASCENDING, IndexModel, InsertOne, UpdateOne
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError, DuplicateKeyError

from services.metrics.project_agreement import Entry, entry_document, entry_of, merged
from shared.mongo import CollectionIndexes, compound_id

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

    async def apply_many(
        self, tenant: str, project_id: str, taken: list[tuple[str, Entry]]
    ) -> tuple[list[Change], list[int]]:
        """Take a run of judgments (item id, entry) at once: one read of their items and one
        bulk write. Returns the changes stored, in order (a judgment taken before gives
        none), and the positions in ``taken`` of the judgments whose item was written
        meanwhile by someone else: nothing of theirs is stored (the caller takes them one by
        one with :meth:`apply`)."""
        keys = {item: compound_id(tenant, project_id, item) for item, _ in taken}
        docs = {
            doc["_id"]: doc
            async for doc in self.items.find({"_id": {"$in": list(set(keys.values()))}})
        }
        current: dict[str, list[Entry]] = {}
        applied: dict[str, set[str]] = {}
        for key, doc in docs.items():
            current[key] = [entry_of(e) for e in doc["entries"]]
            applied[key] = set(doc["applied"])
        changes: list[tuple[int, str, Change]] = []
        pushed: dict[str, list[str]] = {}
        last_at: dict[str, datetime] = {}
        for position, (item, entry) in enumerate(taken):
            key = keys[item]
            if entry.judgment_id in applied.setdefault(key, set()):
                continue
            before = current.get(key, [])
            after = merged(before, entry)
            current[key] = after
            applied[key].add(entry.judgment_id)
            pushed.setdefault(key, []).append(entry.judgment_id)
            at = last_at.get(key) or (docs[key]["last_at"] if key in docs else entry.submitted_at)
            last_at[key] = max(at, entry.submitted_at)
            changes.append((position, key, Change(item, before, after)))
        writes: list[InsertOne[Any] | UpdateOne] = []
        order: list[str] = []
        for key, ids in pushed.items():
            entries = [entry_document(e) for e in current[key]]
            doc = docs.get(key)
            if doc is None:
                item = next(c.item_id for _, k, c in changes if k == key)
                writes.append(
                    InsertOne(
                        {
                            "_id": key,
                            "tenant": tenant,
                            "project_id": project_id,
                            "item_id": item,
                            "entries": entries,
                            "applied": ids,
                            "revision": len(ids),
                            "last_at": last_at[key],
                        }
                    )
                )
            else:
                writes.append(
                    UpdateOne(
                        {"_id": key, "revision": doc["revision"]},
                        {
                            "$set": {"entries": entries, "last_at": last_at[key]},
                            "$push": {"applied": {"$each": ids}},
                            "$inc": {"revision": len(ids)},
                        },
                    )
                )
            order.append(key)
        failed: set[str] = set()
        if writes:
            try:
                result = await self.items.bulk_write(writes, ordered=False)
                if result.modified_count + result.inserted_count < len(writes):
                    failed = await self._unwritten(order, docs, pushed)
            except BulkWriteError as e:
                failed = {order[err["index"]] for err in e.details.get("writeErrors", [])}
                failed |= await self._unwritten(order, docs, pushed)
        stored = [c for _, key, c in changes if key not in failed]
        again = [position for position, key, _ in changes if key in failed]
        return stored, again

    async def _unwritten(
        self, order: list[str], docs: dict[str, Any], pushed: dict[str, list[str]]
    ) -> set[str]:
        """The items of a bulk write whose judgments are not all stored (a conditional update
        that matched nothing: the item changed meanwhile)."""
        found = {
            doc["_id"]: set(doc["applied"])
            async for doc in self.items.find({"_id": {"$in": order}}, {"applied": 1})
        }
        return {key for key in order if not set(pushed[key]) <= found.get(key, set())}

    async def items_of_project(
        self, tenant: str, project_id: str, *, since: datetime | None = None
    ) -> AsyncIterator[tuple[str, list[Entry]]]:
        """Each judged item's id and entries (of the items judged at or after ``since``)."""
        query: dict[str, Any] = {"tenant": tenant, "project_id": project_id}
        if since is not None:
            query["last_at"] = {"$gte": since}
        async for doc in self.items.find(query, {"item_id": 1, "entries": 1}):
            yield doc["item_id"], [entry_of(e) for e in doc["entries"]]

    async def of_project(
        self, tenant: str, project_id: str, *, since: datetime | None = None
    ) -> AsyncIterator[list[Entry]]:
        """Each judged item's entries (of the items judged at or after ``since``, if given)."""
        async for _, entries in self.items_of_project(tenant, project_id, since=since):
            yield entries

    async def projects_taken(self) -> list[tuple[str, str, int]]:
        """Every project with judged items: ``(tenant, project, judgments taken)`` (the sum of
        the items' revisions: it grows with every judgment taken)."""
        cursor = await self.items.aggregate(
            [
                {
                    "$group": {
                        "_id": {"tenant": "$tenant", "project_id": "$project_id"},
                        "taken": {"$sum": "$revision"},
                    }
                },
                {"$sort": {"_id.tenant": 1, "_id.project_id": 1}},
            ]
        )
        return [
            (doc["_id"]["tenant"], doc["_id"]["project_id"], int(doc["taken"]))
            async for doc in cursor
        ]

    async def has_project(self, tenant: str, project_id: str) -> bool:
        found = await self.items.find_one({"tenant": tenant, "project_id": project_id}, {"_id": 1})
        return found is not None
