"""Each item's values per expert, per field: what the agreement figures are computed from.

* ``item_ratings``: ``_id`` ``<tenant>/<project>/<field>/<rubric version>/<item>`` (parts
  escaped, :func:`compound_id`): per expert, the value of their latest judgment on the item
  that gives the field a value (``values``: ``expert_id``, ``value``, ``judgment_id``,
  ``submitted_at``; later is by ``submitted_at``, then judgment id), and ``judgments``, the
  ids of the judgments applied. A write is conditional on the judgment not being applied
  and on the document's ``revision``: a judgment applied already (a replayed or duplicated
  event, even under a new event id) changes nothing, and two writers never lose an update.
  The field :data:`LATEST` records each expert's latest judgment on the item whatever it
  says: a presence field (``flag.*``, ``class.*``) is true for an expert when that judgment
  raised it, false otherwise.

One document per judged (field, item) of a project: reading a project costs O(its items x
fields). The rubric version is ``0`` for judgments without a rubric reference.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pymongo import ASCENDING, IndexModel
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from shared.mongo import CollectionIndexes

ITEM_RATINGS = "item_ratings"
#: the pseudo-field of each expert's latest judgment on an item
LATEST = "@latest"
#: the rubric version of judgments without a rubric reference
NO_RUBRIC = 0

INDEXES = (
    CollectionIndexes(
        ITEM_RATINGS,
        (
            IndexModel(
                [
                    ("tenant", ASCENDING),
                    ("project_id", ASCENDING),
                    ("field", ASCENDING),
                    ("rubric_version", ASCENDING),
                ],
                name="tenant_project_field_version",
            ),
        ),
    ),
)


def compound_id(*parts: str | int) -> str:
    """The parts joined with ``/``, each part's ``%`` and ``/`` escaped first."""
    return "/".join(str(p).replace("%", "%25").replace("/", "%2F") for p in parts)


@dataclass(frozen=True)
class Rating:
    """One expert's value on one item."""

    expert_id: str
    value: Any
    judgment_id: str
    submitted_at: datetime

    @property
    def order(self) -> tuple[datetime, str]:
        return (self.submitted_at, self.judgment_id)


@dataclass(frozen=True)
class ItemRatings:
    field: str
    rubric_version: int
    item_id: str
    values: tuple[Rating, ...]


def _rating(doc: dict[str, Any]) -> Rating:
    return Rating(doc["expert_id"], doc["value"], doc["judgment_id"], doc["submitted_at"])


def _doc(r: Rating) -> dict[str, Any]:
    return {
        "expert_id": r.expert_id,
        "value": r.value,
        "judgment_id": r.judgment_id,
        "submitted_at": r.submitted_at,
    }


class RatingStore:
    def __init__(self, db: AsyncDatabase[Any]) -> None:
        self.ratings = db[ITEM_RATINGS]

    async def record(
        self,
        tenant: str,
        project_id: str,
        field: str,
        rubric_version: int,
        item_id: str,
        rating: Rating,
    ) -> bool:
        """The rating, once per judgment: it replaces the expert's value when it is later.
        False when the judgment was applied to this document before (nothing changes)."""
        key = compound_id(tenant, project_id, field, rubric_version, item_id)
        while True:
            doc = await self.ratings.find_one({"_id": key})
            if doc is None:
                try:
                    await self.ratings.insert_one(
                        {
                            "_id": key,
                            "tenant": tenant,
                            "project_id": project_id,
                            "field": field,
                            "rubric_version": rubric_version,
                            "item_id": item_id,
                            "values": [_doc(rating)],
                            "judgments": [rating.judgment_id],
                            "revision": 1,
                        }
                    )
                    return True
                except DuplicateKeyError:
                    continue  # written meanwhile: read it again
            if rating.judgment_id in doc["judgments"]:
                return False
            values = [_rating(v) for v in doc["values"]]
            earlier = next((v for v in values if v.expert_id == rating.expert_id), None)
            if earlier is None:
                values.append(rating)
            elif earlier.order < rating.order:
                values[values.index(earlier)] = rating
            done = await self.ratings.update_one(
                {"_id": key, "revision": doc["revision"], "judgments": {"$ne": rating.judgment_id}},
                {
                    "$set": {"values": [_doc(v) for v in values]},
                    "$push": {"judgments": rating.judgment_id},
                    "$inc": {"revision": 1},
                },
            )
            if done.modified_count:
                return True

    async def of_project(
        self,
        tenant: str,
        project_id: str,
        *,
        fields: list[str] | None = None,
        rubric_version: int | None = None,
    ) -> AsyncIterator[ItemRatings]:
        """The project's item documents (of ``fields`` and the rubric version, when given)."""
        query: dict[str, Any] = {"tenant": tenant, "project_id": project_id}
        if fields is not None:
            query["field"] = {"$in": fields}
        if rubric_version is not None:
            query["rubric_version"] = rubric_version
        projection = {"field": 1, "rubric_version": 1, "item_id": 1, "values": 1}
        async for doc in self.ratings.find(query, projection):
            yield ItemRatings(
                doc["field"],
                doc["rubric_version"],
                doc["item_id"],
                tuple(_rating(v) for v in doc["values"]),
            )

    async def has_project(self, tenant: str, project_id: str) -> bool:
        found = await self.ratings.find_one(
            {"tenant": tenant, "project_id": project_id}, {"_id": 1}
        )
        return found is not None
