"""Published versions: publishing a draft, deprecating, reading, diffs between any two,
label translation and export."""

from __future__ import annotations

import asyncio
from typing import Any

from services.taxonomy import formats, ontology
from services.taxonomy.handlers.drafts import DraftRef, Drafts
from services.taxonomy.handlers.ontologies import Ontologies
from services.taxonomy.models import (
    Diff,
    ImportFormat,
    StoredVersion,
    TranslatedLabel,
    TranslateIn,
    TranslateOut,
    Untranslatable,
    Version,
    VersionStatus,
    VersionSummary,
)
from services.taxonomy.store import TaxonomyStore
from shared.auth.principal import Principal
from shared.clock import Clock, now_ms
from shared.contracts.taxonomy import (
    VERSION_DEPRECATED,
    VERSION_PUBLISHED,
    MappingEntry,
    VersionDeprecatedV1,
    VersionMapping,
    VersionPublishedV1,
)
from shared.errors import FieldError
from shared.events.envelope import make_event
from shared.http.problems import Problem, not_found
from shared.logging import get_logger
from shared.taxonomy.translation import OntologyVersions, UnknownVersion

log = get_logger(__name__)
SOURCE = "/quorum/taxonomy"


class Versions:
    def __init__(
        self,
        store: TaxonomyStore,
        ontologies: Ontologies,
        drafts: Drafts,
        clock: Clock = now_ms,
    ) -> None:
        self.store = store
        self.ontologies = ontologies
        self.drafts = drafts
        self.clock = clock

    async def publish(self, ref: DraftRef) -> Version:
        """The draft as the next version, immutable, with its mapping from the previous one."""
        principal, ontology_id = ref.principal, ref.ontology_id
        record = await self.ontologies.require(principal, ontology_id)
        draft = await self.drafts.load(ref)
        errors = await asyncio.to_thread(ontology.check_classes, draft.classes)
        if errors:
            raise Problem(422, "Unprocessable Content", "the draft breaks a rule", errors=errors)
        if not draft.classes:
            raise Problem(422, "Unprocessable Content", "an empty draft cannot be published")
        latest = await self.store.latest_version(principal.tenant, ontology_id)
        latest_number = latest.number if latest else 0
        if latest_number != draft.base_version:
            raise Problem(
                409,
                "Conflict",
                f"version {latest_number} was published after this draft started from "
                f"version {draft.base_version}; discard the draft and start a new one",
            )
        before = latest.snapshot.classes if latest else []
        changes, content_hash = await asyncio.to_thread(
            lambda: (
                ontology.diff(before, draft.classes, draft.lineage),
                ontology.content_hash(draft.classes),
            )
        )
        if latest is not None and not changes:
            raise Problem(
                422, "Unprocessable Content", f"the draft does not change version {latest_number}"
            )
        number = latest_number + 1
        snapshot = VersionPublishedV1(
            ontology_id=ontology_id,
            tenant=principal.tenant,
            name=record.name,
            version=number,
            content_hash=content_hash,
            classes=draft.classes,
            mapping=(
                VersionMapping(from_version=latest_number, to_version=number, changes=changes)
                if latest
                else None
            ),
            published_at=self.clock(),
        )
        version = StoredVersion(
            snapshot=snapshot,
            status=VersionStatus.published,
            published_by=principal.subject,
            draft_revision=ref.revision,
        )
        event = make_event(VERSION_PUBLISHED, snapshot, source=SOURCE, tenant=principal.tenant)
        if not await self.store.insert_version(version, [event]):
            existing = await self.store.version(principal.tenant, ontology_id, number)
            if existing is None or existing.draft_revision != ref.revision:
                raise Problem(409, "Conflict", f"version {number} was published meanwhile")
            version = existing  # a retry after a crash between publishing and clearing the draft
        await self.store.delete_draft(principal.tenant, ontology_id, ref.revision)
        log.info("version published", ontology_id=ontology_id, version=number)
        return version.view()

    async def deprecate(
        self, principal: Principal, ontology_id: str, number: int, note: str
    ) -> Version:
        """New work should move to a later version; deprecating again changes nothing."""
        await self.ontologies.require(principal, ontology_id)
        deprecated = VersionDeprecatedV1(
            ontology_id=ontology_id,
            tenant=principal.tenant,
            version=number,
            note=note,
            deprecated_at=self.clock(),
        )
        event = make_event(VERSION_DEPRECATED, deprecated, source=SOURCE, tenant=principal.tenant)
        version = await self.store.deprecate_version(deprecated, [event])
        if version is None:
            version = await self.store.version(principal.tenant, ontology_id, number)
            if version is None:
                raise not_found(f"version {number} of ontology {ontology_id}")
        return version.view()

    async def get(self, principal: Principal, ontology_id: str, number: int) -> Version:
        await self.ontologies.require(principal, ontology_id)
        version = await self.store.version(principal.tenant, ontology_id, number)
        if version is None:
            raise not_found(f"version {number} of ontology {ontology_id}")
        return version.view()

    async def list(
        self, principal: Principal, ontology_id: str, *, after: int | None, limit: int
    ) -> list[VersionSummary]:
        """The published versions, oldest first, after version ``after``."""
        await self.ontologies.require(principal, ontology_id)
        found = await self.store.all_versions(
            principal.tenant, ontology_id, after=after, limit=limit
        )
        return [
            VersionSummary(
                version=v.number,
                content_hash=v.snapshot.content_hash,
                status=v.status,
                classes=len(v.snapshot.classes),
                published_at=v.snapshot.published_at,
            )
            for v in found
        ]

    async def catalog(self, principal: Principal, ontology_id: str) -> OntologyVersions:
        """Every published version of the ontology, for translation."""
        versions = OntologyVersions()
        for version in await self.store.all_versions(principal.tenant, ontology_id):
            versions.add(version.snapshot)
        return versions

    async def diff(
        self, principal: Principal, ontology_id: str, from_version: int, to_version: int
    ) -> Diff:
        """Changes between any two versions: the declared merges and splits of each step
        between, and the class-by-class comparison of the two ends."""
        await self.ontologies.require(principal, ontology_id)
        versions = {
            v.number: v.snapshot
            for v in await self.store.all_versions(principal.tenant, ontology_id)
        }
        for number, name in ((from_version, "from"), (to_version, "to")):
            if number not in versions:
                raise Problem(
                    404,
                    "Not Found",
                    f"version {number} of ontology {ontology_id} does not exist",
                    errors=[FieldError(field=f"query.{name}", message="no such version")],
                )
        low, high = sorted((from_version, to_version))
        declared: list[MappingEntry] = []
        for number in range(low + 1, high + 1):
            mapping = versions[number].mapping
            for entry in mapping.changes if mapping else ():
                if entry.kind not in ("merged", "split"):
                    continue
                if from_version > to_version:  # backwards: a merge reads as a split
                    entry = MappingEntry(
                        kind="split" if entry.kind == "merged" else "merged",
                        from_class_ids=entry.to_class_ids,
                        to_class_ids=entry.from_class_ids,
                        note=entry.note,
                    )
                declared.append(entry)
        return Diff(
            ontology_id=ontology_id,
            from_version=from_version,
            to_version=to_version,
            changes=ontology.diff(
                versions[from_version].classes, versions[to_version].classes, declared
            ),
        )

    async def translate(
        self, principal: Principal, ontology_id: str, body: TranslateIn
    ) -> TranslateOut:
        """Labels from one version to another, through the versions between."""
        await self.ontologies.require(principal, ontology_id)
        catalog = await self.catalog(principal, ontology_id)
        try:
            results = await asyncio.to_thread(
                catalog.translate_many,
                [label.class_id for label in body.labels],
                body.from_version,
                body.to_version,
            )
        except UnknownVersion as exc:
            raise Problem(
                404,
                "Not Found",
                f"{exc} in ontology {ontology_id}",
                errors=[FieldError(field="body.from_version / body.to_version", message=str(exc))],
            ) from exc
        translated, untranslatable = [], []
        for index, label in enumerate(body.labels):
            outcome = results[label.class_id]
            if outcome.class_id is None:
                untranslatable.append(
                    Untranslatable(
                        index=index, class_id=label.class_id, reason=outcome.reason or ""
                    )
                )
            else:
                data = label.model_dump()
                data["class_id"] = outcome.class_id
                translated.append(
                    TranslatedLabel(index=index, label=data, notes=list(outcome.notes))
                )
        return TranslateOut(
            from_version=body.from_version,
            to_version=body.to_version,
            translated=translated,
            untranslatable=untranslatable,
        )

    async def export(
        self, principal: Principal, ontology_id: str, number: int, fmt: ImportFormat
    ) -> dict[str, Any]:
        version = await self.get(principal, ontology_id, number)
        if fmt is ImportFormat.coco:
            return formats.classes_to_coco(version.classes)
        return formats.classes_to_custom(version.classes)
