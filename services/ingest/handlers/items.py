"""Reading registered items: one, a page, or every resolved item of a project for export."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from services.ingest import exports
from services.ingest.handlers.projects import Projects
from services.ingest.models import ItemStatus, ListPosition, MediaItem, MediaQuery
from services.ingest.planning import item_id_for
from services.ingest.store import MediaStore
from shared.errors import FieldError
from shared.http.problems import Problem, not_found
from shared.taxonomy.cache import TaxonomyCache
from shared.taxonomy.coco import coco_categories

EXPORT_PAGE = 500


class Items:
    def __init__(self, store: MediaStore, projects: Projects, taxonomy: TaxonomyCache) -> None:
        self.store = store
        self.projects = projects
        self.taxonomy = taxonomy

    async def get(self, tenant: str, item_id: str) -> MediaItem | None:
        return await self.store.get(tenant, item_id)

    async def by_external_id(self, tenant: str, external_id: str) -> MediaItem | None:
        return await self.store.get(tenant, item_id_for(tenant, external_id))

    async def list(
        self, tenant: str, query: MediaQuery, *, after: ListPosition | None, limit: int
    ) -> list[MediaItem]:
        return await self.store.list(tenant, query, after=after, limit=limit)

    async def resolved(self, tenant: str, project_id: str) -> AsyncIterator[MediaItem]:
        """Every resolved item of a project, oldest first, in pages (bounded memory)."""
        query = MediaQuery(project_id=project_id, status=ItemStatus.resolved)
        after: ListPosition | None = None
        while True:
            items = await self.store.list(
                tenant, query, after=after, limit=EXPORT_PAGE, oldest_first=True
            )
            for item in items:
                yield item
            if len(items) < EXPORT_PAGE:
                return
            after = (items[-1].registered_at, items[-1].item_id)

    async def require_project(self, tenant: str, project_id: str) -> None:
        if await self.projects.get(tenant, project_id) is None:
            raise not_found(f"project {project_id}")

    async def export_coco(self, tenant: str, project_id: str) -> dict[str, Any]:
        """Resolved items of an image project as COCO annotations, categories from its taxonomy."""
        project = await self.projects.get(tenant, project_id)
        if project is None:
            raise not_found(f"project {project_id}")
        if project.modality != "image":
            raise Problem(
                422,
                "Unprocessable Content",
                f"COCO export is for image projects; {project_id} is {project.modality}: "
                "use format=jsonl",
                errors=[FieldError(field="query.format", message="coco needs an image project")],
            )
        ref = project.taxonomy
        version = await self.taxonomy.fetch(tenant, ref.ontology_id, ref.version) if ref else None
        classes = version.classes if version else []
        items = [item async for item in self.resolved(tenant, project_id)]
        return exports.coco_annotations(
            items, coco_categories(classes), {c.id: c.name for c in classes}
        )
