"""Drafts: the editable next version of an ontology, edited at a revision (optimistic
concurrency: an edit names the revision it read, and a stale one changes nothing)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import NoReturn

from services.taxonomy import formats, ontology
from services.taxonomy.handlers.ontologies import Ontologies
from services.taxonomy.models import (
    ClassIn,
    ClassPatch,
    Diff,
    Draft,
    ImportFormat,
    ImportResult,
    MergeIn,
    SplitIn,
)
from services.taxonomy.store import StaleRevision, TaxonomyStore
from shared.auth.principal import Principal
from shared.clock import Clock, now_ms
from shared.contracts.taxonomy import ClassSnapshot
from shared.errors import FieldError
from shared.http.problems import Problem, not_found


@dataclass(frozen=True)
class DraftRef:
    """The draft of ``ontology_id`` at the ``revision`` its editor last read."""

    principal: Principal
    ontology_id: str
    revision: int


class DraftChanged(Exception):
    """The draft is no longer at the revision the edit names; ``current`` is where it is."""

    def __init__(self, ontology_id: str, current: int) -> None:
        super().__init__(f"the draft of {ontology_id} is at revision {current}")
        self.current = current


#: An edit of the working draft (raises :class:`ontology.Invalid` naming what is wrong).
Edit = Callable[[ontology.WorkingDraft], object]


class Drafts:
    def __init__(self, store: TaxonomyStore, ontologies: Ontologies, clock: Clock = now_ms) -> None:
        self.store = store
        self.ontologies = ontologies
        self.clock = clock

    async def get(self, principal: Principal, ontology_id: str) -> Draft:
        await self.ontologies.require(principal, ontology_id)
        draft = await self.store.draft(principal.tenant, ontology_id)
        if draft is None:
            raise not_found(f"a draft of ontology {ontology_id} (start one with POST .../draft)")
        return draft

    async def start(self, principal: Principal, ontology_id: str) -> Draft:
        """A draft from the latest published version; 409 if one is open."""
        await self.ontologies.require(principal, ontology_id)
        latest = await self.store.latest_version(principal.tenant, ontology_id)
        draft = Draft(
            ontology_id=ontology_id,
            base_version=latest.number if latest else None,
            revision=1,
            classes=latest.snapshot.classes if latest else [],
            lineage=[],
            updated_at=self.clock(),
            updated_by=principal.subject,
        )
        if not await self.store.create_draft(principal.tenant, draft):
            raise Problem(
                409,
                "Conflict",
                f"ontology {ontology_id} already has a draft; edit it, publish it or discard it",
            )
        return draft

    async def discard(self, ref: DraftRef) -> None:
        await self.ontologies.require(ref.principal, ref.ontology_id)
        if not await self.store.delete_draft(ref.principal.tenant, ref.ontology_id, ref.revision):
            await self._missing_or_changed(ref)

    async def _missing_or_changed(self, ref: DraftRef) -> NoReturn:
        current = await self.store.draft(ref.principal.tenant, ref.ontology_id)
        if current is None:
            raise not_found(f"a draft of ontology {ref.ontology_id}")
        raise DraftChanged(ref.ontology_id, current.revision)

    async def load(self, ref: DraftRef) -> ontology.WorkingDraft:
        """The draft at ``ref.revision`` to edit (callers have checked the ontology)."""
        tenant = ref.principal.tenant
        draft = await self.store.draft(tenant, ref.ontology_id)
        if draft is None:
            raise not_found(
                f"a draft of ontology {ref.ontology_id} (start one with POST .../draft)"
            )
        if draft.revision != ref.revision:
            raise DraftChanged(ref.ontology_id, draft.revision)
        base = (
            await self.store.version(tenant, ref.ontology_id, draft.base_version)
            if draft.base_version
            else None
        )
        return ontology.WorkingDraft(
            base_version=draft.base_version or 0,
            classes=list(draft.classes),
            lineage=list(draft.lineage),
            base_ids=frozenset(c.id for c in base.snapshot.classes) if base else frozenset(),
            published_ids=frozenset(await self.store.published_class_ids(tenant, ref.ontology_id)),
        )

    async def edit(self, ref: DraftRef, edit: Edit) -> Draft:
        """Apply ``edit`` to the draft at the client's revision and store it. The edit runs in
        a worker thread: other requests are served meanwhile."""
        await self.ontologies.require(ref.principal, ref.ontology_id)
        working = await self.load(ref)
        await asyncio.to_thread(edit, working)  # an import checks thousands of rows: off the loop
        try:
            return await self.store.save_draft(
                ref.principal.tenant,
                ref.ontology_id,
                ref.revision,
                classes=working.classes,
                lineage=working.lineage,
                at=self.clock(),
                by=ref.principal.subject,
            )
        except StaleRevision:
            await self._missing_or_changed(ref)

    async def add_class(self, ref: DraftRef, body: ClassIn) -> Draft:
        return await self.edit(
            ref, lambda d: ontology.add_class(d, body.snapshot(), id_given=body.id is not None)
        )

    async def update_class(self, ref: DraftRef, class_id: str, body: ClassPatch) -> Draft:
        return await self.edit(ref, lambda d: ontology.update_class(d, class_id, body.changes()))

    async def remove_class(self, ref: DraftRef, class_id: str) -> Draft:
        return await self.edit(ref, lambda d: ontology.remove_class(d, class_id))

    async def merge(self, ref: DraftRef, body: MergeIn) -> Draft:
        return await self.edit(
            ref,
            lambda d: ontology.merge(
                d,
                body.from_class_ids,
                into_id=body.into_class_id,
                into_new=body.into.snapshot() if body.into else None,
                id_given=bool(body.into and body.into.id),
                note=body.note,
            ),
        )

    async def split(self, ref: DraftRef, body: SplitIn) -> Draft:
        def split(draft: ontology.WorkingDraft) -> None:
            source = draft.get(body.from_class_id)
            default_parent = source.parent_id if source else None  # new classes stay beside it
            targets = [
                (
                    new.snapshot(
                        parent_id=new.parent_id
                        if "parent_id" in new.model_fields_set
                        else default_parent
                    ),
                    new.id is not None,
                )
                for new in body.into
            ]
            ontology.split(
                draft,
                body.from_class_id,
                into_ids=body.into_class_ids,
                into_new=targets,
                note=body.note,
            )

        return await self.edit(ref, split)

    async def import_classes(self, ref: DraftRef, raw: bytes, fmt: ImportFormat) -> ImportResult:
        """Replace the draft's classes with an imported document (every bad row named)."""

        def replace(draft: ontology.WorkingDraft) -> None:
            retired = draft.published_ids - draft.base_ids
            classes = formats.import_classes(raw, fmt, taken_ids=draft.published_ids)
            reused = [
                FieldError(
                    field=f"classes.{i}.id",
                    message=f"class id {c.id!r} belonged to a removed class; ids are never reused",
                )
                for i, c in enumerate(classes)
                if c.id in retired
            ]
            if reused:
                raise formats.ImportErrors(reused)
            draft.classes = classes
            draft.lineage = []

        draft = await self.edit(ref, replace)
        before = await self.base_classes(ref.principal, ref.ontology_id, draft.base_version)
        return ImportResult(
            classes=len(draft.classes),
            draft_revision=draft.revision,
            changes=ontology.diff(before, draft.classes, []),
        )

    async def diff(self, principal: Principal, ontology_id: str) -> Diff:
        """What the draft changes in the version it started from."""
        draft = await self.get(principal, ontology_id)
        before = await self.base_classes(principal, ontology_id, draft.base_version)
        return Diff(
            ontology_id=ontology_id,
            from_version=draft.base_version,
            to_version=None,
            changes=ontology.diff(before, draft.classes, draft.lineage),
        )

    async def base_classes(
        self, principal: Principal, ontology_id: str, base_version: int | None
    ) -> list[ClassSnapshot]:
        if not base_version:
            return []
        base = await self.store.version(principal.tenant, ontology_id, base_version)
        return list(base.snapshot.classes) if base else []
