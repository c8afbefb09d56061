"""Ingest's MongoDB storage.

``media`` (items, with their ``media.registered`` events in the same write),
``rejections`` (Kafka requests refused, with their ``media.rejected`` events),
``projects`` (what ingest knows from ``project.changed``), ``idempotency``
(HTTP ``Idempotency-Key`` records) and, through :class:`TaxonomyCache`, the
published taxonomy versions.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING, IndexModel, ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError, DuplicateKeyError

from shared.events import Event
from shared.mongo import CollectionIndexes
from shared.outbox import HIDE_OUTBOX, new_document

MEDIA = "media"
REJECTIONS = "rejections"
PROJECTS = "projects"
IDEMPOTENCY = "idempotency"
IDEMPOTENCY_TTL_S = 24 * 3600

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
            IndexModel(
                [("tenant", ASCENDING), ("registered_at", DESCENDING), ("_id", DESCENDING)],
                name="tenant_registered",
            ),
        ),
    ),
    CollectionIndexes(
        IDEMPOTENCY,
        (
            IndexModel(
                [("created_at", ASCENDING)], expireAfterSeconds=IDEMPOTENCY_TTL_S, name="ttl"
            ),
        ),
    ),
)
OUTBOX_COLLECTIONS = (MEDIA, REJECTIONS)


class MediaStore:
    def __init__(self, db: AsyncDatabase[Any]) -> None:
        self.media = db[MEDIA]
        self.rejections = db[REJECTIONS]
        self.projects = db[PROJECTS]
        self.idempotency = db[IDEMPOTENCY]

    # media ------------------------------------------------------------------

    async def insert(self, doc: dict[str, Any], events: Sequence[Event[Any]]) -> None:
        """Store a new item and the events its registration causes, in one write."""
        await self.media.insert_one(new_document(doc, events))

    async def insert_many(
        self, docs: Sequence[tuple[dict[str, Any], Sequence[Event[Any]]]]
    ) -> set[int]:
        """Insert items (each with its events); return the indexes that hit a duplicate key."""
        if not docs:
            return set()
        try:
            await self.media.insert_many([new_document(d, e) for d, e in docs], ordered=False)
        except BulkWriteError as exc:
            errors = exc.details.get("writeErrors", [])
            if any(err.get("code") != 11000 for err in errors):
                raise
            return {err["index"] for err in errors}
        return set()

    async def by_external_id(self, tenant: str, external_id: str) -> dict[str, Any] | None:
        return await self.media.find_one(
            {"tenant": tenant, "external_id": external_id}, HIDE_OUTBOX
        )

    async def by_external_ids(
        self, tenant: str, external_ids: Sequence[str]
    ) -> dict[str, dict[str, Any]]:
        cursor = self.media.find(
            {"tenant": tenant, "external_id": {"$in": list(external_ids)}}, HIDE_OUTBOX
        )
        return {doc["external_id"]: doc async for doc in cursor}

    async def first_with_checksums(
        self, tenant: str, project_id: str, checksums: Sequence[str]
    ) -> dict[str, str]:
        """checksum -> id of the earliest item of the project with that content."""
        cursor = self.media.find(
            {"tenant": tenant, "project_id": project_id, "checksum": {"$in": list(checksums)}},
            {"checksum": 1, "registered_at": 1},
        ).sort([("registered_at", ASCENDING), ("_id", ASCENDING)])
        first: dict[str, str] = {}
        async for doc in cursor:
            first.setdefault(doc["checksum"], doc["_id"])
        return first

    async def get(self, tenant: str, item_id: str) -> dict[str, Any] | None:
        return await self.media.find_one({"_id": item_id, "tenant": tenant}, HIDE_OUTBOX)

    async def list(
        self,
        tenant: str,
        filters: dict[str, Any],
        *,
        after: tuple[datetime, str] | None,
        limit: int,
        oldest_first: bool = False,
    ) -> list[dict[str, Any]]:
        query: dict[str, Any] = {"tenant": tenant, **filters}
        direction = ASCENDING if oldest_first else DESCENDING
        if after is not None:
            op = "$gt" if oldest_first else "$lt"
            moment, item_id = after
            query = {
                "$and": [
                    query,
                    {
                        "$or": [
                            {"registered_at": {op: moment}},
                            {"registered_at": moment, "_id": {op: item_id}},
                        ]
                    },
                ]
            }
        return (
            await self.media.find(query, HIDE_OUTBOX)
            .sort([("registered_at", direction), ("_id", direction)])
            .limit(limit)
            .to_list()
        )

    async def advance_status(
        self, item_id: str, tenant: str, from_statuses: Sequence[str], fields: dict[str, Any]
    ) -> bool:
        """Move an item forward (never back): only from one of ``from_statuses``."""
        result = await self.media.update_one(
            {"_id": item_id, "tenant": tenant, "status": {"$in": list(from_statuses)}},
            {"$set": fields},
        )
        return result.modified_count == 1

    # rejections (Kafka requests) --------------------------------------------------

    async def reject(self, doc: dict[str, Any], events: Sequence[Event[Any]]) -> bool:
        """Store a refused request with its ``media.rejected`` event; False if already stored."""
        try:
            await self.rejections.insert_one(new_document(doc, events))
        except DuplicateKeyError:
            return False
        return True

    # projects ---------------------------------------------------------------------

    async def upsert_project(self, doc: dict[str, Any]) -> None:
        """Keep the newest revision of a project, whatever order the events come in."""
        # a newer (or the same) revision stored already makes the upsert hit the _id: no change
        with contextlib.suppress(DuplicateKeyError):
            await self.projects.update_one(
                {"_id": doc["_id"], "revision": {"$lt": doc["revision"]}},
                {"$set": doc},
                upsert=True,
            )

    async def project(self, tenant: str, project_id: str) -> dict[str, Any] | None:
        return await self.projects.find_one({"_id": project_id, "tenant": tenant})

    # idempotency keys ---------------------------------------------------------------

    async def idempotency_record(self, tenant: str, key: str) -> dict[str, Any] | None:
        return await self.idempotency.find_one({"_id": f"{tenant}:{key}"})

    async def remember_idempotency(
        self, tenant: str, key: str, fields: dict[str, Any]
    ) -> dict[str, Any]:
        """Store the outcome of a keyed request; the first one stored wins."""
        doc = await self.idempotency.find_one_and_update(
            {"_id": f"{tenant}:{key}"},
            {"$setOnInsert": fields},
            upsert=True,
            return_document=ReturnDocument.AFTER,
        )
        assert doc is not None  # upserted
        return dict(doc)
