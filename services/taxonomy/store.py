"""Taxonomy's MongoDB storage.

Collections: ``ontologies``; ``drafts`` (one per ontology, ``revision`` for
optimistic concurrency); ``versions`` (immutable once inserted, with the
``version_published`` event in the same insert); ``links`` (example links,
with ``example_linked``); ``candidates`` (from flagged judgments); ``usage``
(per item: pre-label classes and open work units, from consumed events).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING, IndexModel, ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from shared.events.envelope import Event
from shared.mongo import CollectionIndexes
from shared.outbox.entries import HIDE_OUTBOX, Outbox

ONTOLOGIES = "ontologies"
DRAFTS = "drafts"
VERSIONS = "versions"
LINKS = "links"
CANDIDATES = "candidates"
USAGE = "usage"

INDEXES = (
    CollectionIndexes(
        ONTOLOGIES, (IndexModel([("tenant", ASCENDING), ("_id", ASCENDING)], name="tenant_id"),)
    ),
    CollectionIndexes(
        VERSIONS,
        (
            IndexModel(
                [("tenant", ASCENDING), ("ontology_id", ASCENDING), ("version", ASCENDING)],
                unique=True,
                name="ontology_version",
            ),
        ),
    ),
    CollectionIndexes(
        LINKS,
        (IndexModel([("tenant", ASCENDING), ("ontology_id", ASCENDING)], name="ontology_links"),),
    ),
    CollectionIndexes(
        CANDIDATES,
        (
            IndexModel(
                [("tenant", ASCENDING), ("ontology_id", ASCENDING), ("status", ASCENDING)],
                name="ontology_status",
            ),
        ),
    ),
    CollectionIndexes(
        USAGE,
        (IndexModel([("tenant", ASCENDING), ("ontology_id", ASCENDING)], name="ontology_usage"),),
    ),
)
OUTBOX_COLLECTIONS = (VERSIONS, LINKS)


class StaleRevision(Exception):
    """The draft changed since the revision the client sent."""


class TaxonomyStore:
    def __init__(self, db: AsyncDatabase[Any], outbox: Outbox) -> None:
        self.outbox = outbox
        self.ontologies = db[ONTOLOGIES]
        self.drafts = db[DRAFTS]
        self.versions = db[VERSIONS]
        self.links = db[LINKS]
        self.candidates = db[CANDIDATES]
        self.usage = db[USAGE]

    # ontologies -------------------------------------------------------------

    async def insert_ontology(self, doc: dict[str, Any]) -> None:
        await self.ontologies.insert_one(doc)

    async def ontology(self, tenant: str, ontology_id: str) -> dict[str, Any] | None:
        return await self.ontologies.find_one({"_id": ontology_id, "tenant": tenant})

    async def list_ontologies(
        self, tenant: str, *, after: str | None, limit: int
    ) -> list[dict[str, Any]]:
        query: dict[str, Any] = {"tenant": tenant}
        if after is not None:
            query["_id"] = {"$gt": after}
        return await self.ontologies.find(query).sort("_id", ASCENDING).limit(limit).to_list()

    # drafts -----------------------------------------------------------------

    async def draft(self, tenant: str, ontology_id: str) -> dict[str, Any] | None:
        return await self.drafts.find_one({"_id": ontology_id, "tenant": tenant})

    async def drafts_of(self, tenant: str, ontology_ids: Sequence[str]) -> dict[str, int]:
        cursor = self.drafts.find(
            {"tenant": tenant, "_id": {"$in": list(ontology_ids)}}, {"revision": 1}
        )
        return {doc["_id"]: doc["revision"] async for doc in cursor}

    async def create_draft(self, doc: dict[str, Any]) -> bool:
        """False when the ontology already has a draft."""
        try:
            await self.drafts.insert_one(doc)
        except DuplicateKeyError:
            return False
        return True

    async def save_draft(
        self, tenant: str, ontology_id: str, revision: int, fields: dict[str, Any]
    ) -> dict[str, Any]:
        """Write the draft only if it is still at ``revision``; the revision goes up by one."""
        doc = await self.drafts.find_one_and_update(
            {"_id": ontology_id, "tenant": tenant, "revision": revision},
            {"$set": fields, "$inc": {"revision": 1}},
            return_document=ReturnDocument.AFTER,
        )
        if doc is None:
            raise StaleRevision
        return dict(doc)

    async def delete_draft(self, tenant: str, ontology_id: str, revision: int) -> bool:
        result = await self.drafts.delete_one(
            {"_id": ontology_id, "tenant": tenant, "revision": revision}
        )
        return result.deleted_count == 1

    # versions ---------------------------------------------------------------

    async def insert_version(self, doc: dict[str, Any], events: Sequence[Event[Any]]) -> None:
        """The version and its ``version_published`` event, in one write."""
        await self.versions.insert_one(self.outbox.new_document(doc, events))
        self.outbox.written()

    async def version(self, tenant: str, ontology_id: str, number: int) -> dict[str, Any] | None:
        return await self.versions.find_one(
            {"tenant": tenant, "ontology_id": ontology_id, "version": number}, HIDE_OUTBOX
        )

    async def latest_version(self, tenant: str, ontology_id: str) -> dict[str, Any] | None:
        docs = (
            await self.versions.find({"tenant": tenant, "ontology_id": ontology_id}, HIDE_OUTBOX)
            .sort("version", DESCENDING)
            .limit(1)
            .to_list()
        )
        return docs[0] if docs else None

    async def all_versions(self, tenant: str, ontology_id: str) -> list[dict[str, Any]]:
        return (
            await self.versions.find({"tenant": tenant, "ontology_id": ontology_id}, HIDE_OUTBOX)
            .sort("version", ASCENDING)
            .to_list()
        )

    async def latest_numbers(self, tenant: str, ontology_ids: Sequence[str]) -> dict[str, int]:
        cursor = await self.versions.aggregate(
            [
                {"$match": {"tenant": tenant, "ontology_id": {"$in": list(ontology_ids)}}},
                {"$group": {"_id": "$ontology_id", "latest": {"$max": "$version"}}},
            ]
        )
        return {doc["_id"]: doc["latest"] async for doc in cursor}

    async def published_class_ids(self, tenant: str, ontology_id: str) -> set[str]:
        ids = await self.versions.distinct(
            "classes.id", {"tenant": tenant, "ontology_id": ontology_id}
        )
        return set(ids)

    async def deprecate_version(
        self,
        tenant: str,
        ontology_id: str,
        number: int,
        fields: dict[str, Any],
        events: Sequence[Event[Any]],
    ) -> dict[str, Any] | None:
        """Mark a published version deprecated (once: None if it already was)."""
        doc = await self.versions.find_one_and_update(
            {
                "tenant": tenant,
                "ontology_id": ontology_id,
                "version": number,
                "status": "published",
            },
            self.outbox.with_events({"$set": fields}, events),
            projection=HIDE_OUTBOX,
            return_document=ReturnDocument.AFTER,
        )
        if doc is not None:
            self.outbox.written()
        return doc

    # example links ----------------------------------------------------------

    async def insert_link(self, doc: dict[str, Any], events: Sequence[Event[Any]]) -> bool:
        """False when a link with this id exists already (a repeated accept)."""
        try:
            await self.links.insert_one(self.outbox.new_document(doc, events))
        except DuplicateKeyError:
            return False
        self.outbox.written()
        return True

    async def links_of(self, tenant: str, ontology_id: str) -> list[dict[str, Any]]:
        return (
            await self.links.find({"tenant": tenant, "ontology_id": ontology_id}, HIDE_OUTBOX)
            .sort("_id", ASCENDING)
            .to_list()
        )

    async def link(self, tenant: str, link_id: str) -> dict[str, Any] | None:
        return await self.links.find_one({"_id": link_id, "tenant": tenant}, HIDE_OUTBOX)

    async def delete_link(self, tenant: str, ontology_id: str, link_id: str) -> bool:
        result = await self.links.delete_one(
            {"_id": link_id, "tenant": tenant, "ontology_id": ontology_id}
        )
        return result.deleted_count == 1

    # candidates -------------------------------------------------------------

    async def add_candidate(self, doc: dict[str, Any]) -> None:
        """Idempotent: a judgment makes at most one candidate."""
        await self.candidates.update_one({"_id": doc["_id"]}, {"$setOnInsert": doc}, upsert=True)

    async def candidates_of(
        self, tenant: str, ontology_id: str, status: str | None, *, after: str | None, limit: int
    ) -> list[dict[str, Any]]:
        query: dict[str, Any] = {"tenant": tenant, "ontology_id": ontology_id}
        if status is not None:
            query["status"] = status
        if after is not None:
            query["_id"] = {"$gt": after}
        return await self.candidates.find(query).sort("_id", ASCENDING).limit(limit).to_list()

    async def candidate(
        self, tenant: str, ontology_id: str, candidate_id: str
    ) -> dict[str, Any] | None:
        return await self.candidates.find_one(
            {"_id": candidate_id, "tenant": tenant, "ontology_id": ontology_id}
        )

    async def decide_candidate(
        self, tenant: str, candidate_id: str, fields: dict[str, Any]
    ) -> dict[str, Any] | None:
        """Record a decision on a pending candidate; None if it was decided already."""
        return await self.candidates.find_one_and_update(
            {"_id": candidate_id, "tenant": tenant, "status": "pending"},
            {"$set": fields},
            return_document=ReturnDocument.AFTER,
        )

    # usage (from consumed events) ---------------------------------------------

    async def record_prelabels(
        self,
        item_id: str,
        tenant: str,
        ontology_id: str,
        version: int,
        counts: dict[str, int],
        at: datetime,
    ) -> None:
        await self.usage.update_one(
            {"_id": item_id},
            {
                "$set": {
                    "tenant": tenant,
                    "ontology_id": ontology_id,
                    "version": version,
                    "labels": [{"c": c, "n": n} for c, n in sorted(counts.items())],
                    "registered_at": at,
                },
                "$setOnInsert": {"open_units": [], "closed_units": []},
            },
            upsert=True,
        )

    async def open_unit(self, item_id: str, tenant: str, unit_id: str) -> None:
        await self.usage.update_one(
            {"_id": item_id},
            {"$setOnInsert": {"tenant": tenant, "open_units": [], "closed_units": []}},
            upsert=True,
        )
        # a redelivered "created" after the unit's judgment must not reopen it
        await self.usage.update_one(
            {"_id": item_id, "closed_units": {"$ne": unit_id}},
            {"$addToSet": {"open_units": unit_id}},
        )

    async def close_unit(self, item_id: str, tenant: str, unit_id: str) -> None:
        await self.usage.update_one(
            {"_id": item_id},
            {
                "$setOnInsert": {"tenant": tenant},
                "$pull": {"open_units": unit_id},
                "$addToSet": {"closed_units": unit_id},
            },
            upsert=True,
        )

    async def resolve_item(self, item_id: str, tenant: str) -> None:
        await self.usage.update_one(
            {"_id": item_id},
            {"$set": {"resolved": True}, "$setOnInsert": {"tenant": tenant}},
            upsert=True,
        )

    async def usage_of(
        self, tenant: str, ontology_id: str, class_ids: Sequence[str]
    ) -> dict[str, dict[str, int]]:
        """Per class: pre-label instances, and items with open work that carry it."""
        out = {cid: {"prelabels": 0, "open_work_items": 0} for cid in class_ids}
        wanted = set(class_ids)
        cursor = self.usage.find(
            {"tenant": tenant, "ontology_id": ontology_id, "labels.c": {"$in": list(class_ids)}},
            {"labels": 1, "open_units": 1, "resolved": 1},
        )
        async for doc in cursor:
            is_open = bool(doc.get("open_units")) and not doc.get("resolved")
            for entry in doc.get("labels") or ():
                if entry["c"] in wanted:
                    out[entry["c"]]["prelabels"] += entry["n"]
                    if is_open:
                        out[entry["c"]]["open_work_items"] += 1
        return out

    async def link_counts(
        self, tenant: str, ontology_id: str, class_ids: Sequence[str]
    ) -> dict[str, int]:
        cursor = await self.links.aggregate(
            [
                {
                    "$match": {
                        "tenant": tenant,
                        "ontology_id": ontology_id,
                        "class_id": {"$in": list(class_ids)},
                    }
                },
                {"$group": {"_id": "$class_id", "n": {"$sum": 1}}},
            ]
        )
        counts = {cid: 0 for cid in class_ids}
        async for doc in cursor:
            counts[doc["_id"]] = doc["n"]
        return counts
