"""Taxonomy's MongoDB storage: the only place that knows its documents.

Collections: ``ontologies``; ``drafts`` (one per ontology, ``revision`` for optimistic
concurrency); ``versions`` (immutable once inserted, with the ``version_published`` event in
the same insert); ``links`` (example links, with ``example_linked``); ``candidates`` (from
flagged judgments); ``usage`` (per item: pre-label classes and open work units, from
consumed events).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING, IndexModel, ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DocumentTooLarge, DuplicateKeyError

from services.taxonomy.models import (
    Candidate,
    CandidateStatus,
    ClassUsage,
    Decision,
    Draft,
    OntologyRecord,
    StoredVersion,
    VersionStatus,
)
from shared.contracts.taxonomy import (
    ClassSnapshot,
    ExampleLinkedV1,
    MappingEntry,
    VersionDeprecatedV1,
    VersionPublishedV1,
)
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


class DraftTooLarge(ValueError):
    """The draft would be larger than a MongoDB document can be."""


def _ontology(doc: dict[str, Any]) -> OntologyRecord:
    return OntologyRecord.model_validate({**doc, "ontology_id": doc["_id"]})


def _draft(doc: dict[str, Any]) -> Draft:
    return Draft.model_validate(
        {**doc, "ontology_id": doc["_id"], "lineage": doc.get("lineage", [])}
    )


def _version(doc: dict[str, Any]) -> StoredVersion:
    return StoredVersion(
        snapshot=VersionPublishedV1.model_validate(doc),
        status=doc["status"],
        published_by=doc["published_by"],
        draft_revision=doc.get("draft_revision"),
        deprecated_at=doc.get("deprecated_at"),
        deprecation_note=doc.get("deprecation_note"),
    )


def _link(doc: dict[str, Any]) -> ExampleLinkedV1:
    return ExampleLinkedV1.model_validate({**doc, "link_id": doc["_id"]})


def _candidate(doc: dict[str, Any]) -> Candidate:
    return Candidate.model_validate({**doc, "candidate_id": doc["_id"]})


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

    async def insert_ontology(self, ontology: OntologyRecord) -> None:
        doc = ontology.model_dump(mode="json", exclude={"ontology_id"})
        doc["created_at"] = ontology.created_at
        await self.ontologies.insert_one({"_id": ontology.ontology_id, **doc})

    async def ontology(self, tenant: str, ontology_id: str) -> OntologyRecord | None:
        doc = await self.ontologies.find_one({"_id": ontology_id, "tenant": tenant})
        return _ontology(doc) if doc else None

    async def list_ontologies(
        self, tenant: str, *, after: str | None, limit: int
    ) -> list[OntologyRecord]:
        query: dict[str, Any] = {"tenant": tenant}
        if after is not None:
            query["_id"] = {"$gt": after}
        docs = await self.ontologies.find(query).sort("_id", ASCENDING).limit(limit).to_list()
        return [_ontology(doc) for doc in docs]

    # drafts -----------------------------------------------------------------

    async def draft(self, tenant: str, ontology_id: str) -> Draft | None:
        doc = await self.drafts.find_one({"_id": ontology_id, "tenant": tenant})
        return _draft(doc) if doc else None

    async def draft_revisions(self, tenant: str, ontology_ids: Sequence[str]) -> dict[str, int]:
        cursor = self.drafts.find(
            {"tenant": tenant, "_id": {"$in": list(ontology_ids)}}, {"revision": 1}
        )
        return {doc["_id"]: doc["revision"] async for doc in cursor}

    async def create_draft(self, tenant: str, draft: Draft) -> bool:
        """False when the ontology already has a draft."""
        doc = {"_id": draft.ontology_id, "tenant": tenant, **draft.model_dump(mode="json")}
        del doc["ontology_id"]
        doc["updated_at"] = draft.updated_at
        try:
            await self.drafts.insert_one(doc)
        except DuplicateKeyError:
            return False
        return True

    async def save_draft(
        self,
        tenant: str,
        ontology_id: str,
        revision: int,
        *,
        classes: Sequence[ClassSnapshot],
        lineage: Sequence[MappingEntry],
        at: datetime,
        by: str,
    ) -> Draft:
        """Write the draft only if it is still at ``revision``; the revision goes up by one."""
        try:
            doc = await self.drafts.find_one_and_update(
                {"_id": ontology_id, "tenant": tenant, "revision": revision},
                {
                    "$set": {
                        "classes": [c.model_dump(mode="json") for c in classes],
                        "lineage": [e.model_dump(mode="json") for e in lineage],
                        "updated_at": at,
                        "updated_by": by,
                    },
                    "$inc": {"revision": 1},
                },
                return_document=ReturnDocument.AFTER,
            )
        except DocumentTooLarge as exc:
            raise DraftTooLarge(str(exc)) from exc
        if doc is None:
            raise StaleRevision
        return _draft(doc)

    async def delete_draft(self, tenant: str, ontology_id: str, revision: int) -> bool:
        result = await self.drafts.delete_one(
            {"_id": ontology_id, "tenant": tenant, "revision": revision}
        )
        return result.deleted_count == 1

    # versions ---------------------------------------------------------------

    async def insert_version(
        self, version: StoredVersion, events: Sequence[Event[VersionPublishedV1]]
    ) -> bool:
        """The version and its ``version_published`` event, in one write; False when the
        number is taken."""
        snapshot = version.snapshot
        doc = {
            "_id": f"{snapshot.ontology_id}:v{snapshot.version}",
            **snapshot.model_dump(mode="json"),
            "published_at": snapshot.published_at,
            "status": version.status.value,
            "published_by": version.published_by,
            "draft_revision": version.draft_revision,
        }
        try:
            await self.versions.insert_one(self.outbox.new_document(doc, events))
        except DuplicateKeyError:
            return False
        self.outbox.written()
        return True

    async def version(self, tenant: str, ontology_id: str, number: int) -> StoredVersion | None:
        doc = await self.versions.find_one(
            {"tenant": tenant, "ontology_id": ontology_id, "version": number}, HIDE_OUTBOX
        )
        return _version(doc) if doc else None

    async def latest_version(self, tenant: str, ontology_id: str) -> StoredVersion | None:
        docs = (
            await self.versions.find({"tenant": tenant, "ontology_id": ontology_id}, HIDE_OUTBOX)
            .sort("version", DESCENDING)
            .limit(1)
            .to_list()
        )
        return _version(docs[0]) if docs else None

    async def all_versions(
        self, tenant: str, ontology_id: str, *, after: int | None = None, limit: int = 0
    ) -> list[StoredVersion]:
        """The ontology's versions, oldest first, after version ``after``; at most ``limit``
        (0: all)."""
        query: dict[str, Any] = {"tenant": tenant, "ontology_id": ontology_id}
        if after is not None:
            query["version"] = {"$gt": after}
        docs = (
            await self.versions.find(query, HIDE_OUTBOX)
            .sort("version", ASCENDING)
            .limit(limit)
            .to_list()
        )
        return [_version(doc) for doc in docs]

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
        self, deprecated: VersionDeprecatedV1, events: Sequence[Event[VersionDeprecatedV1]]
    ) -> StoredVersion | None:
        """Mark a published version deprecated (once: None if it already was, or is not)."""
        doc = await self.versions.find_one_and_update(
            {
                "tenant": deprecated.tenant,
                "ontology_id": deprecated.ontology_id,
                "version": deprecated.version,
                "status": VersionStatus.published.value,
            },
            self.outbox.with_events(
                {
                    "$set": {
                        "status": VersionStatus.deprecated.value,
                        "deprecated_at": deprecated.deprecated_at,
                        "deprecation_note": deprecated.note,
                    }
                },
                events,
            ),
            projection=HIDE_OUTBOX,
            return_document=ReturnDocument.AFTER,
        )
        if doc is None:
            return None
        self.outbox.written()
        return _version(doc)

    # example links ----------------------------------------------------------

    async def insert_link(
        self, link: ExampleLinkedV1, events: Sequence[Event[ExampleLinkedV1]]
    ) -> bool:
        """False when a link with this id exists already (a repeated accept)."""
        doc = {
            "_id": link.link_id,
            **link.model_dump(mode="json", exclude={"link_id"}),
            "linked_at": link.linked_at,
        }
        try:
            await self.links.insert_one(self.outbox.new_document(doc, events))
        except DuplicateKeyError:
            return False
        self.outbox.written()
        return True

    async def links_of(
        self, tenant: str, ontology_id: str, *, after: str | None = None, limit: int = 0
    ) -> list[ExampleLinkedV1]:
        """The ontology's example links by link id, after ``after``; at most ``limit`` (0:
        all)."""
        query: dict[str, Any] = {"tenant": tenant, "ontology_id": ontology_id}
        if after is not None:
            query["_id"] = {"$gt": after}
        docs = (
            await self.links.find(query, HIDE_OUTBOX).sort("_id", ASCENDING).limit(limit).to_list()
        )
        return [_link(doc) for doc in docs]

    async def link(self, tenant: str, link_id: str) -> ExampleLinkedV1 | None:
        doc = await self.links.find_one({"_id": link_id, "tenant": tenant}, HIDE_OUTBOX)
        return _link(doc) if doc else None

    async def delete_link(self, tenant: str, ontology_id: str, link_id: str) -> bool:
        result = await self.links.delete_one(
            {"_id": link_id, "tenant": tenant, "ontology_id": ontology_id}
        )
        return result.deleted_count == 1

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

    # candidates -------------------------------------------------------------

    async def add_candidate(self, tenant: str, candidate: Candidate) -> None:
        """Idempotent: a judgment makes at most one candidate."""
        doc = {"tenant": tenant, **candidate.model_dump(mode="json", exclude={"candidate_id"})}
        doc["created_at"] = candidate.created_at
        await self.candidates.update_one(
            {"_id": candidate.candidate_id}, {"$setOnInsert": doc}, upsert=True
        )

    async def candidates_of(
        self,
        tenant: str,
        ontology_id: str,
        status: CandidateStatus | None,
        *,
        after: str | None,
        limit: int,
    ) -> list[Candidate]:
        query: dict[str, Any] = {"tenant": tenant, "ontology_id": ontology_id}
        if status is not None:
            query["status"] = status.value
        if after is not None:
            query["_id"] = {"$gt": after}
        docs = await self.candidates.find(query).sort("_id", ASCENDING).limit(limit).to_list()
        return [_candidate(doc) for doc in docs]

    async def candidate(self, tenant: str, ontology_id: str, candidate_id: str) -> Candidate | None:
        doc = await self.candidates.find_one(
            {"_id": candidate_id, "tenant": tenant, "ontology_id": ontology_id}
        )
        return _candidate(doc) if doc else None

    async def decide_candidate(
        self, tenant: str, candidate_id: str, decision: Decision
    ) -> Candidate | None:
        """Record a decision on a pending candidate; None if it was decided already."""
        doc = await self.candidates.find_one_and_update(
            {"_id": candidate_id, "tenant": tenant, "status": CandidateStatus.pending.value},
            {
                "$set": {
                    "status": decision.status.value,
                    "decided_by": decision.by,
                    "decided_at": decision.at,
                    "decision_note": decision.note,
                    "link_id": decision.link_id,
                }
            },
            return_document=ReturnDocument.AFTER,
        )
        return _candidate(doc) if doc else None

    # usage (from consumed events) ---------------------------------------------

    async def note_item(self, item_id: str, tenant: str) -> None:
        """A registered item, and its tenant (example links may name only the tenant's)."""
        await self.usage.update_one(
            {"_id": item_id},
            {"$set": {"registered": True}, "$setOnInsert": {"tenant": tenant}},
            upsert=True,
        )

    async def item_known(self, tenant: str, item_id: str) -> bool:
        found = await self.usage.find_one(
            {"_id": item_id, "tenant": tenant, "registered": True}, {"_id": 1}
        )
        return found is not None

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
    ) -> dict[str, ClassUsage]:
        """Per class: pre-label instances, and items with open work that carry it."""
        prelabels = dict.fromkeys(class_ids, 0)
        open_items = dict.fromkeys(class_ids, 0)
        cursor = self.usage.find(
            {"tenant": tenant, "ontology_id": ontology_id, "labels.c": {"$in": list(class_ids)}},
            {"labels": 1, "open_units": 1, "resolved": 1},
        )
        async for doc in cursor:
            is_open = bool(doc.get("open_units")) and not doc.get("resolved")
            for entry in doc.get("labels") or ():
                if entry["c"] in prelabels:
                    prelabels[entry["c"]] += entry["n"]
                    open_items[entry["c"]] += is_open
        return {
            cid: ClassUsage(prelabels=prelabels[cid], open_work_items=open_items[cid])
            for cid in class_ids
        }
