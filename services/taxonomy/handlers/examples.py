"""Example links: media items linked as examples of a class, seen from any later version."""

from __future__ import annotations

import uuid

from services.taxonomy.handlers.ontologies import Ontologies
from services.taxonomy.handlers.versions import SOURCE, Versions
from services.taxonomy.models import Example, ExampleIn
from services.taxonomy.store import TaxonomyStore
from shared.auth.principal import Principal
from shared.clock import Clock, now_ms
from shared.contracts.taxonomy import EXAMPLE_LINKED, ExampleLinkedV1, Provenance
from shared.errors import FieldError
from shared.events.envelope import make_event
from shared.http.problems import Problem, not_found
from shared.taxonomy.translation import UnknownVersion

#: Example links read at once while a page of those seen from a version is gathered.
LINKS_READ = 500


def _view(link: ExampleLinkedV1, current_class_id: str | None) -> Example:
    return Example.model_validate({**link.model_dump(), "current_class_id": current_class_id})


class Examples:
    def __init__(
        self,
        store: TaxonomyStore,
        ontologies: Ontologies,
        versions: Versions,
        clock: Clock = now_ms,
    ) -> None:
        self.store = store
        self.ontologies = ontologies
        self.versions = versions
        self.clock = clock

    async def link(
        self,
        principal: Principal,
        ontology_id: str,
        number: int,
        class_id: str,
        body: ExampleIn,
        *,
        provenance: Provenance | None = None,
        link_id: str | None = None,
    ) -> Example:
        """Link an item as an example of a class of a version; linking again under the same
        ``link_id`` gives the link made first."""
        version = await self.versions.get(principal, ontology_id, number)
        if not await self.store.item_known(principal.tenant, body.item_id):
            raise Problem(
                404,
                "Not Found",
                f"no item {body.item_id} in your tenant (taxonomy learns of an item a moment "
                "after it is registered)",
                errors=[FieldError(field="body.item_id", message="no such item")],
            )
        if not any(c.id == class_id for c in version.classes):
            raise Problem(
                404,
                "Not Found",
                f"no class {class_id} in version {number}",
                errors=[FieldError(field="path.class_id", message="no such class")],
            )
        link = ExampleLinkedV1(
            link_id=link_id or f"lnk_{uuid.uuid4().hex[:16]}",
            ontology_id=ontology_id,
            tenant=principal.tenant,
            version=number,
            class_id=class_id,
            item_id=body.item_id,
            region=body.region,
            segment=body.segment,
            polarity=body.polarity,
            note=body.note,
            provenance=provenance or Provenance(source="manual", actor=principal.subject),
            linked_at=self.clock(),
        )
        event = make_event(EXAMPLE_LINKED, link, source=SOURCE, tenant=principal.tenant)
        if not await self.store.insert_link(link, [event]):
            link = await self.store.link(principal.tenant, link.link_id) or link
        return _view(link, None)

    async def of_version(
        self,
        principal: Principal,
        ontology_id: str,
        number: int,
        class_id: str | None,
        *,
        after: str | None,
        limit: int,
    ) -> list[Example]:
        """Links as seen from version ``number``, by link id after ``after``: each carried
        through the version mappings (those that map to no class there, or to another than
        ``class_id``, left out); at most ``limit``."""
        await self.ontologies.require(principal, ontology_id)
        catalog = await self.versions.catalog(principal, ontology_id)
        if catalog.get(number) is None:
            raise not_found(f"version {number} of ontology {ontology_id}")
        out: list[Example] = []
        while len(out) < limit:
            read = await self.store.links_of(
                principal.tenant, ontology_id, after=after, limit=LINKS_READ
            )
            for link in read:
                after = link.link_id
                try:
                    moved = catalog.translate(link.class_id, link.version, number)
                except UnknownVersion:
                    continue
                if moved.class_id is None or (class_id is not None and moved.class_id != class_id):
                    continue
                out.append(_view(link, moved.class_id))
                if len(out) == limit:
                    break
            if len(read) < LINKS_READ:
                break
        return out

    async def unlink(self, principal: Principal, ontology_id: str, link_id: str) -> None:
        await self.ontologies.require(principal, ontology_id)
        if not await self.store.delete_link(principal.tenant, ontology_id, link_id):
            raise not_found(f"example link {link_id}")
