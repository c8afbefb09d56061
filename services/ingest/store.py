"""Ingest's MongoDB storage.

``media`` (items, each inserted with its ``media.registered`` event in the same write; the
first item of each content in a project holds its ``content_key``, unique, for duplicate flags),
``rejections`` (Kafka requests refused, with their ``media.rejected`` events),
``projects`` (what ingest knows from ``project.changed``), ``idempotency``
(HTTP ``Idempotency-Key`` records) and, through :class:`TaxonomyCache`, the
published taxonomy versions.
"""

from __future__ import annotations

import contextlib
import hashlib
import uuid
from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING, IndexModel, ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError, DuplicateKeyError

from shared.events.envelope import Event
from shared.mongo import DUPLICATE_KEY, CollectionIndexes, find_in
from shared.outbox.entries import HIDE_OUTBOX, new_document

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
                [("tenant", ASCENDING), ("registered_at", DESCENDING), ("_id", DESCENDING)],
                name="tenant_registered",
            ),
            IndexModel(
                [("content_key", ASCENDING)], unique=True, sparse=True, name="content_first"
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


#: Item ids are derived from (tenant, external id): looking an external id up is a read by
#: ``_id``, and two registrations of one external id can only ever make one item.
ITEM_NAMESPACE = uuid.UUID("6f0d5d1e-3a52-4d0c-9a57-6d1f0b7b7c11")


_NAMESPACE_BYTES = ITEM_NAMESPACE.bytes


def item_id_for(tenant: str, external_id: str) -> str:
    """``str(uuid.uuid5(ITEM_NAMESPACE, tenant + US + external_id))``, without the UUID object."""
    digest = bytearray(
        hashlib.sha1(
            _NAMESPACE_BYTES + f"{tenant}\x1f{external_id}".encode(), usedforsecurity=False
        ).digest()[:16]
    )
    digest[6] = (digest[6] & 0x0F) | 0x50  # version 5
    digest[8] = (digest[8] & 0x3F) | 0x80  # RFC 4122 variant
    h = digest.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def content_key(tenant: str, project_id: str, checksum: str) -> str:
    """What makes two items duplicates: the same content in the same project. The first
    item with a content holds its key (a unique index); later ones name it in
    ``duplicate_of``."""
    return f"{tenant}\x1f{project_id}\x1f{checksum}"


class MediaStore:
    def __init__(self, db: AsyncDatabase[Any]) -> None:
        self.media = db[MEDIA]
        self.rejections = db[REJECTIONS]
        self.projects = db[PROJECTS]
        self.idempotency = db[IDEMPOTENCY]

    # media ------------------------------------------------------------------

    async def insert_many(self, docs: Sequence[dict[str, Any]]) -> set[int]:
        """Insert items (each with its event in its outbox); return
        the indexes that hit a duplicate key."""
        if not docs:
            return set()
        try:
            await self.media.insert_many(docs, ordered=False)
        except BulkWriteError as exc:
            errors = exc.details.get("writeErrors", [])
            if any(err.get("code") != DUPLICATE_KEY for err in errors):
                raise
            return {err["index"] for err in errors}
        return set()

    async def by_external_id(self, tenant: str, external_id: str) -> dict[str, Any] | None:
        return await self.media.find_one({"_id": item_id_for(tenant, external_id)}, HIDE_OUTBOX)

    async def by_ids(self, item_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """The stored items among these ids (see :func:`item_id_for`), by id."""
        return {doc["_id"]: doc async for doc in find_in(self.media, item_ids, HIDE_OUTBOX)}

    async def content_owners(self, keys: Collection[str]) -> dict[str, str]:
        """content key -> the item that holds that content first (see :func:`content_key`)."""
        found = find_in(self.media, list(keys), {"content_key": 1}, field="content_key")
        return {doc["content_key"]: doc["_id"] async for doc in found}

    async def get(self, tenant: str, item_id: str) -> dict[str, Any] | None:
        # by _id alone, the tenant checked here: the local server scans for any other filter
        doc = await self.media.find_one({"_id": item_id}, HIDE_OUTBOX)
        return doc if doc is not None and doc.get("tenant") == tenant else None

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
