"""Projects' documents, ``_id`` ``<tenant>/<project id>``; each change is written at the
revision it was read at, together with its ``project.changed`` event (the outbox)."""

from __future__ import annotations

from typing import Any

from pymongo import ASCENDING, IndexModel
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from services.assignment.models.projects import Project
from shared.contracts.work import PROJECT_CHANGED, ProjectChangedV1
from shared.events.envelope import make_event
from shared.mongo import CollectionIndexes, compound_id
from shared.outbox.entries import HIDE_OUTBOX, Outbox

PROJECTS = "projects"
SOURCE = "/quorum/assignment"

INDEXES = (
    CollectionIndexes(
        PROJECTS,
        (IndexModel([("tenant", ASCENDING), ("project_id", ASCENDING)], name="tenant_project"),),
    ),
)
OUTBOX_COLLECTIONS = (PROJECTS,)


class ProjectExists(Exception):
    """A project of that id is already known to the tenant."""


def _key(tenant: str, project_id: str) -> str:
    return compound_id(tenant, project_id)


def _fields(project: Project) -> dict[str, Any]:
    doc = project.model_dump(mode="json")
    # datetimes stay BSON dates
    doc.update(created_at=project.created_at, changed_at=project.changed_at, due_at=project.due_at)
    return doc


def _project(doc: dict[str, Any]) -> Project:
    return Project.model_validate({k: v for k, v in doc.items() if k != "_id"})


class ProjectStore:
    def __init__(self, db: AsyncDatabase[Any], outbox: Outbox) -> None:
        self.projects = db[PROJECTS]
        self.outbox = outbox

    def _event(self, payload: ProjectChangedV1) -> list[Any]:
        return [make_event(PROJECT_CHANGED, payload, source=SOURCE, tenant=payload.tenant)]

    async def insert(self, project: Project, changed: ProjectChangedV1) -> None:
        doc = {"_id": _key(project.tenant, project.project_id), **_fields(project)}
        try:
            await self.projects.insert_one(self.outbox.new_document(doc, self._event(changed)))
        except DuplicateKeyError as exc:
            raise ProjectExists(project.project_id) from exc
        self.outbox.written()

    async def get(self, tenant: str, project_id: str) -> Project | None:
        doc = await self.projects.find_one({"_id": _key(tenant, project_id)}, HIDE_OUTBOX)
        return _project(doc) if doc else None

    async def many(self, tenant: str, project_ids: list[str]) -> list[Project]:
        """The tenant's projects of those ids (unknown ones left out)."""
        if not project_ids:
            return []
        keys = [_key(tenant, p) for p in project_ids]
        return [
            _project(doc) async for doc in self.projects.find({"_id": {"$in": keys}}, HIDE_OUTBOX)
        ]

    async def page(self, tenant: str, *, after: str | None, limit: int) -> list[Project]:
        query: dict[str, Any] = {"tenant": tenant}
        if after is not None:
            query["project_id"] = {"$gt": after}
        cursor = self.projects.find(query, HIDE_OUTBOX).sort("project_id", ASCENDING).limit(limit)
        return [_project(doc) async for doc in cursor]

    async def replace(self, project: Project, changed: ProjectChangedV1) -> bool:
        """Store ``project`` (at revision ``r + 1``) with its event if the stored one is still
        at revision ``r``; False when it changed meanwhile."""
        update = self.outbox.with_events({"$set": _fields(project)}, self._event(changed))
        result = await self.projects.update_one(
            {"_id": _key(project.tenant, project.project_id), "revision": project.revision - 1},
            update,
        )
        if result.modified_count != 1:
            return False
        self.outbox.written()
        return True
