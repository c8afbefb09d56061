"""Reading registered items: one, a page, or every resolved item of a project for export; and
the refused registration requests of an external id."""

from __future__ import annotations

import json
import tempfile
from collections.abc import AsyncIterator, Sequence
from typing import Any

from services.ingest import exports
from services.ingest.handlers.projects import Projects
from services.ingest.models import ItemStatus, ListPosition, MediaItem, MediaQuery, Rejections
from services.ingest.planning import item_id_for
from services.ingest.store import MediaStore
from shared.errors import FieldError
from shared.http.problems import Problem, not_found
from shared.taxonomy.cache import TaxonomyCache
from shared.taxonomy.coco import coco_categories

EXPORT_PAGE = 500
#: annotations of a COCO export kept in memory before they spill to a temporary file
SPOOL_BYTES = 8 * 1024 * 1024


class Items:
    def __init__(self, store: MediaStore, projects: Projects, taxonomy: TaxonomyCache) -> None:
        self.store = store
        self.projects = projects
        self.taxonomy = taxonomy

    async def get(self, tenant: str, item_id: str) -> MediaItem | None:
        return await self.store.get(tenant, item_id)

    async def by_external_id(self, tenant: str, external_id: str) -> MediaItem | None:
        return await self.store.get(tenant, item_id_for(tenant, external_id))

    async def rejections(self, tenant: str, external_id: str, *, limit: int) -> Rejections:
        """The tenant's refused requests of an external id, newest first: a 404 if it has none
        (another tenant's are not its own: a 404 too)."""
        found = await self.store.rejections_of(tenant, external_id, limit=limit)
        if not found:
            raise not_found(f"rejection of external id {external_id}")
        return Rejections(external_id=external_id, rejections=found)

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

    async def export_coco(self, tenant: str, project_id: str) -> AsyncIterator[bytes]:
        """Resolved items of an image project as a COCO document, categories from its taxonomy,
        streamed: checked first (404, 422), then written as it is read, in bounded memory."""
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
        categories = coco_categories(version.classes if version else [])
        by_name = {c["name"]: c["id"] for c in categories}
        category_of = {c.id: by_name[c.name] for c in version.classes} if version else {}
        return self._coco(tenant, project_id, categories, category_of)

    async def _coco(
        self,
        tenant: str,
        project_id: str,
        categories: Sequence[dict[str, Any]],
        category_of: dict[str, int],
    ) -> AsyncIterator[bytes]:
        # images go out as they are read; their annotations wait in a spool (memory up to
        # SPOOL_BYTES, then a temporary file) to follow them
        yield b'{"categories":' + _json(categories) + b',"images":['
        skipped, next_annotation, image_id = 0, 1, 0
        images = annotations = b""
        with tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES) as spool:
            async for item in self.resolved(tenant, project_id):
                image_id += 1
                image = exports.coco_image(item, image_id)
                if image is None:
                    continue
                yield images + _json(image)
                images = b","
                found, missed = exports.coco_item_annotations(
                    item, image_id, category_of, next_annotation
                )
                skipped += missed
                next_annotation += len(found)
                for annotation in found:
                    spool.write(annotations + _json(annotation))
                    annotations = b","
            yield b'],"annotations":['
            spool.seek(0)
            while chunk := spool.read(1 << 16):
                yield chunk
        yield b'],"info":' + _json(exports.coco_info(skipped)) + b"}"


def _json(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()
