"""Ingest's MongoDB storage: the only place that knows its documents.

* ``media``: items, each inserted with its ``media.registered`` event and its client's
  ``outcome.registered`` in its outbox. The first item of each content in a project holds
  its ``content_key`` (unique): later ones with that content name it in ``duplicate_of``.
  Each later step of an item that its client is told of (resolved, not reviewed) is written
  with its outcome event.
* ``rejections``: refused Kafka requests, with their ``media.rejected`` and
  ``outcome.rejected`` events, read back by external id.
* ``projects``: the newest revision of each project, from ``project.changed``.
* ``taxonomy_versions`` (through :class:`shared.taxonomy.cache.TaxonomyCache`) and
  ``idempotency`` (through :class:`shared.http.idempotency.IdempotencyRecords`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING, IndexModel, UpdateOne
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError, DuplicateKeyError

from services.ingest.models import (
    ItemStatus,
    ListPosition,
    MediaItem,
    MediaQuery,
    NotReviewedInfo,
    ResolutionInfo,
)
from shared.contracts.media import MediaRejectedV1
from shared.contracts.work import ItemResolvedV1, ProjectChangedV1
from shared.events.envelope import Event
from shared.http import idempotency
from shared.mongo import DUPLICATE_KEY, CollectionIndexes
from shared.outbox.entries import HIDE_OUTBOX, Outbox

MEDIA = "media"
REJECTIONS = "rejections"
PROJECTS = "projects"

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
        REJECTIONS,
        (
            IndexModel(
                [("tenant", ASCENDING), ("external_id", ASCENDING), ("rejected_at", DESCENDING)],
                name="tenant_external_id",
            ),
        ),
    ),
    idempotency.INDEXES,
)
#: An item not yet resolved: what a closing project leaves unreviewed.
UNRESOLVED = (ItemStatus.queued, ItemStatus.in_review)
OUTBOX_COLLECTIONS = (MEDIA, REJECTIONS)


@dataclass(frozen=True)
class NewItem:
    """An item to insert with its events (``media.registered``, and its client's outcome);
    ``content_key`` is set on the item that owns its content (the first with it)."""

    item: MediaItem
    events: Sequence[Event[Any]]
    content_key: str | None


def _item(doc: dict[str, Any]) -> MediaItem:
    return MediaItem.model_validate({**doc, "item_id": doc["_id"]})


class MediaStore:
    def __init__(self, db: AsyncDatabase[Any], outbox: Outbox) -> None:
        self.media = db[MEDIA]
        self.rejections = db[REJECTIONS]
        self.outbox = outbox

    # registering --------------------------------------------------------------------

    async def insert_items(self, items: Sequence[NewItem]) -> set[str]:
        """Insert items with their events; the ids of those refused (the id is taken, or the
        content is owned by another item)."""
        if not items:
            return set()
        docs = []
        for new in items:
            doc = {
                "_id": new.item.item_id,
                # JSON mode is the cheap way to storable values; the one time queries range
                # over stays a real datetime
                **new.item.model_dump(mode="json", exclude={"item_id"}, exclude_none=True),
                "registered_at": new.item.registered_at,
            }
            if new.content_key is not None:
                doc["content_key"] = new.content_key
            docs.append(self.outbox.new_document(doc, new.events))
        refused: set[str] = set()
        try:
            await self.media.insert_many(docs, ordered=False)
        except BulkWriteError as exc:
            errors = exc.details.get("writeErrors", [])
            if any(err.get("code") != DUPLICATE_KEY for err in errors):
                raise
            refused = {docs[err["index"]]["_id"] for err in errors}
        if len(refused) < len(docs):
            self.outbox.written()
        return refused

    async def content_owners(self, keys: Collection[str]) -> dict[str, str]:
        """content key -> the item that owns that content."""
        found = self.media.find({"content_key": {"$in": list(keys)}}, {"content_key": 1})
        return {doc["content_key"]: doc["_id"] async for doc in found}

    async def items(self, tenant: str, item_ids: Collection[str]) -> dict[str, MediaItem]:
        """The tenant's stored items among these ids, by id."""
        found = self.media.find({"_id": {"$in": list(item_ids)}, "tenant": tenant}, HIDE_OUTBOX)
        return {doc["_id"]: _item(doc) async for doc in found}

    async def reject(self, rejection: MediaRejectedV1, events: Sequence[Event[Any]]) -> bool:
        """Store a refused request with its events; False if it was already."""
        doc = {
            "_id": f"rej_{rejection.request_id}",
            **rejection.model_dump(mode="json"),
            "rejected_at": rejection.rejected_at,
        }
        try:
            await self.rejections.insert_one(self.outbox.new_document(doc, events))
        except DuplicateKeyError:
            return False
        self.outbox.written()
        return True

    async def rejections_of(
        self, tenant: str, external_id: str, *, limit: int
    ) -> list[MediaRejectedV1]:
        """The tenant's refused requests of an external id, newest first."""
        docs = (
            await self.rejections.find(
                {"tenant": tenant, "external_id": external_id}, {**HIDE_OUTBOX, "_id": 0}
            )
            .sort([("rejected_at", DESCENDING), ("_id", DESCENDING)])
            .limit(limit)
            .to_list()
        )
        return [MediaRejectedV1.model_validate(doc) for doc in docs]

    # reading ------------------------------------------------------------------------

    async def get(self, tenant: str, item_id: str) -> MediaItem | None:
        doc = await self.media.find_one({"_id": item_id, "tenant": tenant}, HIDE_OUTBOX)
        return _item(doc) if doc is not None else None

    async def list(
        self,
        tenant: str,
        query: MediaQuery,
        *,
        after: ListPosition | None,
        limit: int,
        oldest_first: bool = False,
    ) -> list[MediaItem]:
        """Items of the tenant matching ``query``, newest first (or oldest), after ``after``."""
        filters: dict[str, Any] = {"tenant": tenant}
        if query.project_id is not None:
            filters["project_id"] = query.project_id
        if query.modality is not None:
            filters["modality"] = query.modality.value
        if query.status is not None:
            filters["status"] = query.status.value
        window: dict[str, datetime] = {}
        if query.registered_from is not None:
            window["$gte"] = query.registered_from
        if query.registered_to is not None:
            window["$lt"] = query.registered_to
        if window:
            filters["registered_at"] = window
        direction = ASCENDING if oldest_first else DESCENDING
        if after is not None:
            op = "$gt" if oldest_first else "$lt"
            moment, item_id = after
            filters = {
                "$and": [
                    filters,
                    {
                        "$or": [
                            {"registered_at": {op: moment}},
                            {"registered_at": moment, "_id": {op: item_id}},
                        ]
                    },
                ]
            }
        docs = (
            await self.media.find(filters, HIDE_OUTBOX)
            .sort([("registered_at", direction), ("_id", direction)])
            .limit(limit)
            .to_list()
        )
        return [_item(doc) for doc in docs]

    # review progress ------------------------------------------------------------------

    async def mark_in_review(self, tenant: str, item_id: str, at: datetime) -> bool:
        """A queued item's review started; False if it was not queued."""
        return await self._advance(
            tenant,
            item_id,
            [ItemStatus.queued],
            {"status": ItemStatus.in_review.value, "review_started_at": at},
        )

    async def mark_resolved(
        self, resolved: ItemResolvedV1, events: Sequence[Event[Any]] = ()
    ) -> bool:
        """An item's outcome; False if it has this revision of it or a later one already.
        An outcome ops revised (a later ``revision``) replaces the one the item has."""
        fields = {
            "status": ItemStatus.resolved.value,
            "final_labels": [label.model_dump(mode="json") for label in resolved.final_labels],
            "resolution": {
                **ResolutionInfo.of(resolved).model_dump(mode="json"),
                "resolved_at": resolved.resolved_at,
            },
        }
        # a resolution decided before its project closed may arrive after the close: it wins
        before = [*UNRESOLVED, ItemStatus.not_reviewed]
        if resolved.revision == 1:
            return await self._advance(resolved.tenant, resolved.item_id, before, fields, events)
        result = await self.media.update_one(
            {
                "_id": resolved.item_id,
                "tenant": resolved.tenant,
                "$or": [
                    {"status": {"$in": [s.value for s in before]}},
                    {"resolution.revision": {"$lt": resolved.revision}},
                    {"status": ItemStatus.resolved.value, "resolution.revision": None},
                ],
            },
            self.outbox.with_events({"$set": fields}, events),
        )
        return self._advanced(result.modified_count, events) == 1

    async def unresolved(
        self, tenant: str, project_id: str, *, after: str | None, limit: int
    ) -> Sequence[tuple[str, str]]:
        """(item id, external id) of a project's items not yet resolved, by item id, after
        ``after``."""
        filters: dict[str, Any] = {
            "tenant": tenant,
            "project_id": project_id,
            "status": {"$in": [s.value for s in UNRESOLVED]},
        }
        if after is not None:
            filters["_id"] = {"$gt": after}
        docs = (
            await self.media.find(filters, {"external_id": 1})
            .sort("_id", ASCENDING)
            .limit(limit)
            .to_list()
        )
        return [(doc["_id"], doc["external_id"]) for doc in docs]

    async def mark_not_reviewed(
        self, tenant: str, info: NotReviewedInfo, events: Mapping[str, Sequence[Event[Any]]]
    ) -> int:
        """Items (by id, each with its events) that will not be reviewed, in one bulk write:
        each only if it is still unresolved. How many were marked."""
        if not events:
            return 0
        fields = {
            "status": ItemStatus.not_reviewed.value,
            "not_reviewed": {**info.model_dump(mode="json"), "at": info.at},
        }
        unresolved = [s.value for s in UNRESOLVED]
        result = await self.media.bulk_write(
            [
                UpdateOne(
                    {"_id": item_id, "tenant": tenant, "status": {"$in": unresolved}},
                    self.outbox.with_events({"$set": fields}, item_events),
                )
                for item_id, item_events in events.items()
            ],
            ordered=False,
        )
        return self._advanced(result.modified_count, events)

    async def _advance(
        self,
        tenant: str,
        item_id: str,
        before: Sequence[ItemStatus],
        fields: dict[str, Any],
        events: Sequence[Event[Any]] = (),
    ) -> bool:
        """Move an item forward (never back): only from one of ``before``."""
        result = await self.media.update_one(
            {"_id": item_id, "tenant": tenant, "status": {"$in": [s.value for s in before]}},
            self.outbox.with_events({"$set": fields}, events),
        )
        return self._advanced(result.modified_count, events) == 1

    def _advanced(self, modified: int, events: Collection[Any]) -> int:
        if modified and events:
            self.outbox.written()
        return modified


class ProjectStore:
    """What ingest knows of each project: its newest ``project.changed``, keyed by tenant and
    project id (two tenants may name a project alike; an event of one never touches the
    other's)."""

    def __init__(self, db: AsyncDatabase[Any]) -> None:
        self.projects = db[PROJECTS]

    async def keep_newest(self, project: ProjectChangedV1) -> None:
        """Store a revision unless a newer one (or this one) is stored, whatever the order
        the events come in."""
        doc = project.model_dump(mode="json", exclude={"project_id", "tenant"})
        doc["revision"] = project.revision
        # a newer (or the same) revision stored already makes the upsert hit the _id: no change
        with contextlib.suppress(DuplicateKeyError):
            await self.projects.update_one(
                {
                    "_id": _project_key(project.tenant, project.project_id),
                    "revision": {"$lt": project.revision},
                },
                {"$set": doc},
                upsert=True,
            )

    async def get(self, tenant: str, project_id: str) -> ProjectChangedV1 | None:
        doc = await self.projects.find_one({"_id": _project_key(tenant, project_id)})
        if doc is None:
            return None
        return ProjectChangedV1.model_validate({**doc, **doc["_id"]})


def _project_key(tenant: str, project_id: str) -> dict[str, str]:
    return {"tenant": tenant, "project_id": project_id}
