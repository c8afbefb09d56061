"""Snapshots of each project's agreement tallies, written by the replica that owns the
project and read by every replica.

* ``agreement_projects``: ``_id`` ``<tenant>/<project>``: ``epoch``, raised by each replica
  that takes the project over (it fences the writes of an earlier owner), ``sequence``, raised
  by each snapshot, ``at``.
* ``agreement_tallies``: ``_id`` ``<tenant>/<project>/<view>/<field>``: the field's
  :class:`~services.metrics.agreement.Tally` in a view (``-1`` all rubric versions, else the
  version), as ``Tally.to_dict``, with the ``epoch`` of its writer and the ``sequence`` of the
  snapshot that wrote it (figures read from it are cached under it). A write is conditional
  on no later owner having written the document.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pymongo import ASCENDING, IndexModel, ReturnDocument, UpdateOne
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError, DuplicateKeyError

from services.metrics.agreement import Tally
from shared.mongo import CollectionIndexes, compound_id

PROJECTS = "agreement_projects"
TALLIES = "agreement_tallies"

INDEXES = (
    CollectionIndexes(
        TALLIES,
        (
            IndexModel(
                [("tenant", ASCENDING), ("project_id", ASCENDING), ("view", ASCENDING)],
                name="tenant_project_view",
            ),
        ),
    ),
)


class Fenced(Exception):
    """A later owner has taken the project over: this replica's snapshot is not written."""


@dataclass(frozen=True)
class StoredTally:
    field: str
    tally: Tally
    #: the snapshot that wrote it: a cache key
    key: tuple[str, int]


class TallyStore:
    def __init__(self, db: AsyncDatabase[Any]) -> None:
        self.projects = db[PROJECTS]
        self.tallies = db[TALLIES]

    async def claim(self, tenant: str, project_id: str) -> int:
        """Take the project over: an epoch later than every earlier owner's."""
        doc = await self.projects.find_one_and_update(
            {"_id": compound_id(tenant, project_id)},
            {
                "$inc": {"epoch": 1},
                "$setOnInsert": {"tenant": tenant, "project_id": project_id, "sequence": 0},
            },
            upsert=True,
            return_document=ReturnDocument.AFTER,
        )
        assert doc is not None  # upserted
        return int(doc["epoch"])

    async def write(
        self,
        tenant: str,
        project_id: str,
        epoch: int,
        changed: Mapping[int, Mapping[str, Tally]],
        at: datetime,
    ) -> int:
        """Store the changed tallies (view -> field -> tally) as one snapshot; its sequence.
        :class:`Fenced` when a later owner holds the project."""
        project_key = compound_id(tenant, project_id)
        doc = await self.projects.find_one_and_update(
            {"_id": project_key, "epoch": epoch},
            {"$inc": {"sequence": 1}, "$set": {"at": at}},
            return_document=ReturnDocument.AFTER,
        )
        if doc is None:
            raise Fenced(project_key)
        sequence = int(doc["sequence"])
        writes = [
            UpdateOne(
                {"_id": compound_id(tenant, project_id, view, field), "epoch": {"$lte": epoch}},
                {
                    "$set": {
                        "tenant": tenant,
                        "project_id": project_id,
                        "view": view,
                        "field": field,
                        "tally": tally.to_dict(),
                        "epoch": epoch,
                        "sequence": sequence,
                    }
                },
                upsert=True,
            )
            for view, fields in sorted(changed.items())
            for field, tally in sorted(fields.items())
        ]
        if writes:
            try:
                await self.tallies.bulk_write(writes, ordered=False)
            except (BulkWriteError, DuplicateKeyError) as e:
                raise Fenced(project_key) from e
        return sequence

    async def sequence(self, tenant: str, project_id: str) -> int | None:
        """The project's latest snapshot, None before its first."""
        doc = await self.projects.find_one(
            {"_id": compound_id(tenant, project_id)}, {"sequence": 1}
        )
        return None if doc is None or not doc.get("sequence") else int(doc["sequence"])

    async def of_view(
        self, tenant: str, project_id: str, view: int, fields: list[str] | None = None
    ) -> list[StoredTally]:
        query: dict[str, Any] = {"tenant": tenant, "project_id": project_id, "view": view}
        if fields is not None:
            query["field"] = {"$in": fields}
        return [
            StoredTally(doc["field"], Tally.from_dict(doc["tally"]), (doc["_id"], doc["sequence"]))
            async for doc in self.tallies.find(query)
        ]
