"""Rubric versions: one immutable document each, ``_id`` ``<tenant>/<rubric id>/<version>``;
the unique ``_id`` makes two concurrent new versions take distinct numbers."""

from __future__ import annotations

from typing import Any

from pymongo import ASCENDING, DESCENDING, IndexModel
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from services.assignment.models.rubrics import RubricVersion
from shared.mongo import CollectionIndexes, compound_id

RUBRICS = "rubric_versions"

INDEXES = (
    CollectionIndexes(
        RUBRICS,
        (
            IndexModel(
                [("tenant", ASCENDING), ("rubric_id", ASCENDING), ("version", DESCENDING)],
                name="tenant_rubric_version",
            ),
        ),
    ),
)


class VersionTaken(Exception):
    """Another version of that number was stored first."""


def _version(doc: dict[str, Any]) -> RubricVersion:
    return RubricVersion.model_validate(
        {k: v for k, v in doc.items() if k not in ("_id", "tenant")}
    )


class RubricStore:
    def __init__(self, db: AsyncDatabase[Any]) -> None:
        self.versions = db[RUBRICS]

    async def insert(self, tenant: str, version: RubricVersion) -> None:
        doc = {
            "_id": compound_id(tenant, version.rubric_id, version.version),
            "tenant": tenant,
            **version.model_dump(mode="json"),
            "created_at": version.created_at,
        }
        try:
            await self.versions.insert_one(doc)
        except DuplicateKeyError as exc:
            raise VersionTaken(version.version) from exc

    async def get(self, tenant: str, rubric_id: str, version: int) -> RubricVersion | None:
        doc = await self.versions.find_one({"_id": compound_id(tenant, rubric_id, version)})
        return _version(doc) if doc else None

    async def numbers(self, tenant: str, rubric_id: str) -> list[int]:
        """The rubric's version numbers, oldest first (none: no such rubric)."""
        cursor = self.versions.find(
            {"tenant": tenant, "rubric_id": rubric_id}, {"version": 1}
        ).sort("version", ASCENDING)
        return [doc["version"] async for doc in cursor]

    async def latest_page(
        self, tenant: str, *, after: str | None, limit: int
    ) -> list[tuple[RubricVersion, list[int]]]:
        """Up to ``limit`` rubrics in id order after ``after``: the latest version of each and
        all their numbers."""
        query: dict[str, Any] = {"tenant": tenant}
        if after is not None:
            query["rubric_id"] = {"$gt": after}
        cursor = self.versions.find(query).sort([("rubric_id", ASCENDING), ("version", DESCENDING)])
        page: list[tuple[RubricVersion, list[int]]] = []
        async for doc in cursor:
            if page and page[-1][0].rubric_id == doc["rubric_id"]:
                page[-1][1].insert(0, doc["version"])
                continue
            if len(page) == limit:
                break
            page.append((_version(doc), [doc["version"]]))
        return page
