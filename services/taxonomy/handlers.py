"""Taxonomy's use cases, called by the HTTP routes and the Kafka consumers."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any, NoReturn

from pymongo.errors import DuplicateKeyError

from services.taxonomy import formats, models, ontology
from services.taxonomy.store import StaleRevision, TaxonomyStore
from shared.auth.principal import Principal
from shared.clock import now_ms
from shared.contracts.media import MEDIA_REGISTERED, MediaRegisteredV1
from shared.contracts.spec import EventSpec
from shared.contracts.taxonomy import (
    EXAMPLE_LINKED,
    VERSION_DEPRECATED,
    VERSION_PUBLISHED,
    ClassSnapshot,
    ExampleLinkedV1,
    MappingEntry,
    Provenance,
    VersionDeprecatedV1,
    VersionMapping,
    VersionPublishedV1,
)
from shared.contracts.work import (
    ITEM_RESOLVED,
    JUDGMENT_SUBMITTED,
    WORK_CREATED,
    ItemResolvedV1,
    JudgmentSubmittedV1,
    WorkUnitEventV1,
)
from shared.errors import FieldError
from shared.events.envelope import Event, make_event
from shared.http.problems import Problem, not_found
from shared.kafka.consumer import Handler
from shared.logging import get_logger
from shared.runtime import Runtime
from shared.taxonomy.translation import OntologyVersions, UnknownVersion

log = get_logger(__name__)
SOURCE = "/quorum/taxonomy"
#: Judgment flags that make the judged item a candidate example.
CANDIDATE_FLAGS = frozenset({"edge_case", "rare_class", "ambiguous"})


def etag(revision: int) -> str:
    return f'"r{revision}"'


def revision_from(if_match: str | None) -> int:
    """The draft revision an ``If-Match`` header names; 428 without one."""
    if not if_match:
        raise Problem(
            428,
            "Precondition Required",
            "draft edits need If-Match with the draft's ETag (GET the draft first)",
            errors=[FieldError(field="header.if-match", message="missing")],
        )
    value = if_match.strip().removeprefix("W/")
    if value.startswith('"r') and value.endswith('"') and value[2:-1].isdigit():
        return int(value[2:-1])
    raise Problem(
        412,
        "Precondition Failed",
        "If-Match does not name a revision of this draft; GET the draft and retry with its ETag",
        errors=[FieldError(field="header.if-match", message="not an ETag of this draft")],
    )


def _invalid(exc: ontology.Invalid | formats.ImportErrors) -> Problem:
    status = exc.status if isinstance(exc, ontology.Invalid) else 422
    title = {404: "Not Found", 409: "Conflict"}.get(status, "Unprocessable Content")
    return Problem(status, title, str(exc)[:2000], errors=exc.errors)


def _version_model(doc: dict[str, Any]) -> models.Version:
    mapping = doc.get("mapping") or {}
    return models.Version(
        ontology_id=doc["ontology_id"],
        name=doc["name"],
        version=doc["version"],
        content_hash=doc["content_hash"],
        status=doc["status"],
        classes=doc["classes"],
        mapping=mapping.get("changes", []),
        published_at=doc["published_at"],
        published_by=doc["published_by"],
        deprecated_at=doc.get("deprecated_at"),
        deprecation_note=doc.get("deprecation_note"),
    )


def _snapshot(doc: dict[str, Any]) -> VersionPublishedV1:
    return VersionPublishedV1(
        ontology_id=doc["ontology_id"],
        tenant=doc["tenant"],
        name=doc["name"],
        version=doc["version"],
        content_hash=doc["content_hash"],
        classes=doc["classes"],
        mapping=doc.get("mapping"),
        published_at=doc["published_at"],
    )


def _draft_model(doc: dict[str, Any]) -> models.Draft:
    return models.Draft(
        ontology_id=doc["_id"],
        base_version=doc.get("base_version"),
        revision=doc["revision"],
        classes=doc["classes"],
        lineage=doc.get("lineage", []),
        updated_at=doc["updated_at"],
        updated_by=doc["updated_by"],
    )


class Taxonomy:
    def __init__(self, store: TaxonomyStore, runtime: Runtime) -> None:
        self.store = store
        self.runtime = runtime

    # ontologies ---------------------------------------------------------------

    async def create_ontology(
        self, principal: Principal, body: models.OntologyIn
    ) -> models.Ontology:
        now = now_ms()
        ontology_id = f"ont_{uuid.uuid4().hex[:16]}"
        doc = {
            "_id": ontology_id,
            "tenant": principal.tenant,
            "name": body.name,
            "description": body.description,
            "kind": body.kind.value,
            "created_at": now,
            "created_by": principal.subject,
        }
        await self.store.insert_ontology(doc)
        await self.store.create_draft(self._new_draft(principal, ontology_id, None, [], now))
        log.info("ontology created", ontology_id=ontology_id)
        return self._ontology_model(doc, latest=None, draft_revision=1)

    def _new_draft(
        self,
        principal: Principal,
        ontology_id: str,
        base_version: int | None,
        classes: list[dict[str, Any]],
        now: datetime,
    ) -> dict[str, Any]:
        return {
            "_id": ontology_id,
            "tenant": principal.tenant,
            "base_version": base_version,
            "revision": 1,
            "classes": classes,
            "lineage": [],
            "updated_at": now,
            "updated_by": principal.subject,
        }

    @staticmethod
    def _ontology_model(
        doc: dict[str, Any], *, latest: int | None, draft_revision: int | None
    ) -> models.Ontology:
        return models.Ontology(
            ontology_id=doc["_id"],
            tenant=doc["tenant"],
            name=doc["name"],
            description=doc["description"],
            kind=doc["kind"],
            latest_version=latest,
            draft_revision=draft_revision,
            created_at=doc["created_at"],
        )

    async def _require_ontology(self, principal: Principal, ontology_id: str) -> dict[str, Any]:
        """The ontology, or 404: another tenant's, or (for readers) one never published."""
        doc = await self.store.ontology(principal.tenant, ontology_id)
        if doc is None:
            raise not_found(f"ontology {ontology_id}")
        if (
            not principal.is_staff
            and await self.store.latest_version(principal.tenant, ontology_id) is None
        ):
            raise not_found(f"ontology {ontology_id}")
        return doc

    async def get_ontology(self, principal: Principal, ontology_id: str) -> models.Ontology:
        doc = await self._require_ontology(principal, ontology_id)
        latest = await self.store.latest_version(principal.tenant, ontology_id)
        draft = (
            await self.store.draft(principal.tenant, ontology_id) if principal.is_staff else None
        )
        return self._ontology_model(
            doc,
            latest=latest["version"] if latest else None,
            draft_revision=draft["revision"] if draft else None,
        )

    async def list_ontologies(
        self, principal: Principal, *, after: str | None, limit: int
    ) -> tuple[list[models.Ontology], str | None]:
        out: list[models.Ontology] = []
        cursor = after
        while len(out) < limit:
            docs = await self.store.list_ontologies(principal.tenant, after=cursor, limit=limit)
            if not docs:
                return out, None
            ids = [d["_id"] for d in docs]
            latest = await self.store.latest_numbers(principal.tenant, ids)
            drafts = await self.store.drafts_of(principal.tenant, ids) if principal.is_staff else {}
            for doc in docs:
                cursor = doc["_id"]
                if not principal.is_staff and doc["_id"] not in latest:
                    continue
                out.append(
                    self._ontology_model(
                        doc, latest=latest.get(doc["_id"]), draft_revision=drafts.get(doc["_id"])
                    )
                )
                if len(out) == limit:
                    return out, cursor
            if len(docs) < limit:
                return out, None
        return out, cursor

    # drafts -------------------------------------------------------------------

    async def get_draft(self, principal: Principal, ontology_id: str) -> models.Draft:
        await self._require_ontology(principal, ontology_id)
        doc = await self.store.draft(principal.tenant, ontology_id)
        if doc is None:
            raise not_found(f"a draft of ontology {ontology_id} (start one with POST .../draft)")
        return _draft_model(doc)

    async def start_draft(self, principal: Principal, ontology_id: str) -> models.Draft:
        await self._require_ontology(principal, ontology_id)
        latest = await self.store.latest_version(principal.tenant, ontology_id)
        now = now_ms()
        doc = self._new_draft(
            principal,
            ontology_id,
            latest["version"] if latest else None,
            latest["classes"] if latest else [],
            now,
        )
        if not await self.store.create_draft(doc):
            raise Problem(
                409,
                "Conflict",
                f"ontology {ontology_id} already has a draft; edit it, publish it or discard it",
            )
        return _draft_model(doc)

    async def discard_draft(
        self, principal: Principal, ontology_id: str, if_match: str | None
    ) -> None:
        revision = revision_from(if_match)
        await self._require_ontology(principal, ontology_id)
        if not await self.store.delete_draft(principal.tenant, ontology_id, revision):
            await self._raise_missing_or_stale(principal, ontology_id)

    async def _raise_missing_or_stale(self, principal: Principal, ontology_id: str) -> NoReturn:
        current = await self.store.draft(principal.tenant, ontology_id)
        if current is None:
            raise not_found(f"a draft of ontology {ontology_id}")
        raise Problem(
            412,
            "Precondition Failed",
            f"the draft changed (now revision {current['revision']}); GET it, reapply your "
            "change and retry with the new ETag",
            headers={"ETag": etag(current["revision"])},
        )

    async def _load_draft(
        self, principal: Principal, ontology_id: str, revision: int
    ) -> ontology.Draft:
        """The draft at ``revision`` (callers have checked the ontology), or 404 / 412."""
        doc = await self.store.draft(principal.tenant, ontology_id)
        if doc is None:
            raise not_found(f"a draft of ontology {ontology_id} (start one with POST .../draft)")
        if doc["revision"] != revision:
            await self._raise_missing_or_stale(principal, ontology_id)
        base = (
            await self.store.version(principal.tenant, ontology_id, doc["base_version"])
            if doc.get("base_version")
            else None
        )
        return ontology.Draft(
            base_version=doc.get("base_version") or 0,
            classes=[ClassSnapshot.model_validate(c) for c in doc["classes"]],
            lineage=[MappingEntry.model_validate(e) for e in doc.get("lineage", [])],
            base_ids=frozenset(c["id"] for c in base["classes"]) if base else frozenset(),
            published_ids=frozenset(
                await self.store.published_class_ids(principal.tenant, ontology_id)
            ),
        )

    async def edit_draft(
        self,
        principal: Principal,
        ontology_id: str,
        if_match: str | None,
        edit: Callable[[ontology.Draft], Any],
    ) -> tuple[models.Draft, Any]:
        """Apply ``edit`` to the draft at the client's revision and store it, or 412."""
        revision = revision_from(if_match)
        await self._require_ontology(principal, ontology_id)
        draft = await self._load_draft(principal, ontology_id, revision)
        try:
            result = edit(draft)
        except ontology.Invalid as exc:
            raise _invalid(exc) from exc
        except formats.ImportErrors as exc:
            raise _invalid(exc) from exc
        fields = {
            "classes": [c.model_dump(mode="json") for c in draft.classes],
            "lineage": [e.model_dump(mode="json") for e in draft.lineage],
            "updated_at": now_ms(),
            "updated_by": principal.subject,
        }
        try:
            doc = await self.store.save_draft(principal.tenant, ontology_id, revision, fields)
        except StaleRevision:
            await self._raise_missing_or_stale(principal, ontology_id)
        return _draft_model(doc), result

    async def add_class(
        self, principal: Principal, ontology_id: str, if_match: str | None, body: models.ClassIn
    ) -> models.Draft:
        def edit(draft: ontology.Draft) -> None:
            ontology.add_class(draft, body.snapshot(), id_given=body.id is not None)

        return (await self.edit_draft(principal, ontology_id, if_match, edit))[0]

    async def update_class(
        self,
        principal: Principal,
        ontology_id: str,
        if_match: str | None,
        class_id: str,
        body: models.ClassPatch,
    ) -> models.Draft:
        def edit(draft: ontology.Draft) -> None:
            ontology.update_class(draft, class_id, body.changes())

        return (await self.edit_draft(principal, ontology_id, if_match, edit))[0]

    async def remove_class(
        self, principal: Principal, ontology_id: str, if_match: str | None, class_id: str
    ) -> models.Draft:
        def edit(draft: ontology.Draft) -> None:
            ontology.remove_class(draft, class_id)

        return (await self.edit_draft(principal, ontology_id, if_match, edit))[0]

    async def merge_classes(
        self, principal: Principal, ontology_id: str, if_match: str | None, body: models.MergeIn
    ) -> models.Draft:
        def edit(draft: ontology.Draft) -> None:
            ontology.merge(
                draft,
                body.from_class_ids,
                into_id=body.into_class_id,
                into_new=body.into.snapshot() if body.into else None,
                id_given=bool(body.into and body.into.id),
                note=body.note,
            )

        return (await self.edit_draft(principal, ontology_id, if_match, edit))[0]

    async def split_class(
        self, principal: Principal, ontology_id: str, if_match: str | None, body: models.SplitIn
    ) -> models.Draft:
        def edit(draft: ontology.Draft) -> None:
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

        return (await self.edit_draft(principal, ontology_id, if_match, edit))[0]

    # publishing ---------------------------------------------------------------

    async def draft_diff(self, principal: Principal, ontology_id: str) -> models.Diff:
        current = await self.get_draft(principal, ontology_id)
        before = await self._base_classes(principal, ontology_id, current.base_version)
        return models.Diff(
            ontology_id=ontology_id,
            from_version=current.base_version,
            to_version=None,
            changes=ontology.diff(before, current.classes, current.lineage),
        )

    async def _base_classes(
        self, principal: Principal, ontology_id: str, base_version: int | None
    ) -> list[ClassSnapshot]:
        if not base_version:
            return []
        base = await self.store.version(principal.tenant, ontology_id, base_version)
        return [ClassSnapshot.model_validate(c) for c in base["classes"]] if base else []

    async def publish(
        self, principal: Principal, ontology_id: str, if_match: str | None
    ) -> models.Version:
        revision = revision_from(if_match)
        onto = await self._require_ontology(principal, ontology_id)
        draft = await self._load_draft(principal, ontology_id, revision)
        errors = ontology.check_classes(draft.classes)
        if errors:
            raise Problem(422, "Unprocessable Content", "the draft breaks a rule", errors=errors)
        if not draft.classes:
            raise Problem(422, "Unprocessable Content", "an empty draft cannot be published")
        latest = await self.store.latest_version(principal.tenant, ontology_id)
        latest_number = latest["version"] if latest else 0
        if latest_number != draft.base_version:
            raise Problem(
                409,
                "Conflict",
                f"version {latest_number} was published after this draft started from "
                f"version {draft.base_version}; discard the draft and start a new one",
            )
        before = [ClassSnapshot.model_validate(c) for c in latest["classes"]] if latest else []
        changes = ontology.diff(before, draft.classes, draft.lineage)
        if latest is not None and not changes:
            raise Problem(
                422, "Unprocessable Content", f"the draft does not change version {latest_number}"
            )
        number = latest_number + 1
        now = now_ms()
        mapping = (
            VersionMapping(from_version=latest_number, to_version=number, changes=changes)
            if latest
            else None
        )
        payload = VersionPublishedV1(
            ontology_id=ontology_id,
            tenant=principal.tenant,
            name=onto["name"],
            version=number,
            content_hash=ontology.content_hash(draft.classes),
            classes=draft.classes,
            mapping=mapping,
            published_at=now,
        )
        event = make_event(VERSION_PUBLISHED, payload, source=SOURCE, tenant=principal.tenant)
        doc = {
            "_id": f"{ontology_id}:v{number}",
            **payload.model_dump(mode="json"),
            "published_at": now,
            "status": models.VersionStatus.published.value,
            "published_by": principal.subject,
            "draft_revision": revision,
        }
        try:
            await self.store.insert_version(doc, [event])
        except DuplicateKeyError:
            existing = await self.store.version(principal.tenant, ontology_id, number)
            if existing is None or existing.get("draft_revision") != revision:
                raise Problem(
                    409, "Conflict", f"version {number} was published meanwhile"
                ) from None
            doc = existing  # a retry after a crash between publishing and clearing the draft
        await self.store.delete_draft(principal.tenant, ontology_id, revision)
        log.info("version published", ontology_id=ontology_id, version=number)
        return _version_model(doc)

    async def deprecate(
        self, principal: Principal, ontology_id: str, number: int, note: str
    ) -> models.Version:
        await self._require_ontology(principal, ontology_id)
        now = now_ms()
        event = make_event(
            VERSION_DEPRECATED,
            VersionDeprecatedV1(
                ontology_id=ontology_id,
                tenant=principal.tenant,
                version=number,
                note=note,
                deprecated_at=now,
            ),
            source=SOURCE,
            tenant=principal.tenant,
        )
        doc = await self.store.deprecate_version(
            principal.tenant,
            ontology_id,
            number,
            {"status": "deprecated", "deprecated_at": now, "deprecation_note": note},
            [event],
        )
        if doc is None:
            doc = await self.store.version(principal.tenant, ontology_id, number)
            if doc is None:
                raise not_found(f"version {number} of ontology {ontology_id}")
        return _version_model(doc)

    async def version(self, principal: Principal, ontology_id: str, number: int) -> models.Version:
        await self._require_ontology(principal, ontology_id)
        doc = await self.store.version(principal.tenant, ontology_id, number)
        if doc is None:
            raise not_found(f"version {number} of ontology {ontology_id}")
        return _version_model(doc)

    async def versions(self, principal: Principal, ontology_id: str) -> list[models.VersionSummary]:
        await self._require_ontology(principal, ontology_id)
        return [
            models.VersionSummary(
                version=d["version"],
                content_hash=d["content_hash"],
                status=d["status"],
                classes=len(d["classes"]),
                published_at=d["published_at"],
            )
            for d in await self.store.all_versions(principal.tenant, ontology_id)
        ]

    async def catalog(self, principal: Principal, ontology_id: str) -> OntologyVersions:
        versions = OntologyVersions()
        for doc in await self.store.all_versions(principal.tenant, ontology_id):
            versions.add(_snapshot(doc))
        return versions

    async def diff_versions(
        self, principal: Principal, ontology_id: str, from_version: int, to_version: int
    ) -> models.Diff:
        """Changes between any two versions: the declared merges/splits of each step between,
        and the class-by-class comparison of the two ends."""
        await self._require_ontology(principal, ontology_id)
        docs = {
            d["version"]: d for d in await self.store.all_versions(principal.tenant, ontology_id)
        }
        for number, name in ((from_version, "from"), (to_version, "to")):
            if number not in docs:
                raise Problem(
                    404,
                    "Not Found",
                    f"version {number} of ontology {ontology_id} does not exist",
                    errors=[FieldError(field=f"query.{name}", message="no such version")],
                )
        low, high = sorted((from_version, to_version))
        declared: list[MappingEntry] = []
        for number in range(low + 1, high + 1):
            for change in (docs[number].get("mapping") or {}).get("changes", []):
                if change["kind"] in ("merged", "split"):
                    entry = MappingEntry.model_validate(change)
                    if from_version > to_version:  # backwards: a merge reads as a split
                        entry = MappingEntry(
                            kind="split" if entry.kind == "merged" else "merged",
                            from_class_ids=entry.to_class_ids,
                            to_class_ids=entry.from_class_ids,
                            note=entry.note,
                        )
                    declared.append(entry)
        before = [ClassSnapshot.model_validate(c) for c in docs[from_version]["classes"]]
        after = [ClassSnapshot.model_validate(c) for c in docs[to_version]["classes"]]
        return models.Diff(
            ontology_id=ontology_id,
            from_version=from_version,
            to_version=to_version,
            changes=ontology.diff(before, after, declared),
        )

    async def translate(
        self, principal: Principal, ontology_id: str, body: models.TranslateIn
    ) -> models.TranslateOut:
        await self._require_ontology(principal, ontology_id)
        catalog = await self.catalog(principal, ontology_id)
        try:
            results = catalog.translate_many(
                (label.class_id for label in body.labels), body.from_version, body.to_version
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
                    models.Untranslatable(
                        index=index, class_id=label.class_id, reason=outcome.reason or ""
                    )
                )
            else:
                data = label.model_dump()
                data["class_id"] = outcome.class_id
                translated.append(
                    models.TranslatedLabel(index=index, label=data, notes=list(outcome.notes))
                )
        return models.TranslateOut(
            from_version=body.from_version,
            to_version=body.to_version,
            translated=translated,
            untranslatable=untranslatable,
        )

    async def impact(self, principal: Principal, ontology_id: str) -> models.Impact:
        """What publishing the draft would touch: links, open work and pre-labels per class."""
        current = await self.get_draft(principal, ontology_id)
        before = await self._base_classes(principal, ontology_id, current.base_version)
        changes = ontology.diff(before, current.classes, current.lineage)
        names = {c.id: c.name for c in before}
        kinds: dict[str, list[str]] = {}
        for change in changes:
            if change.kind == "added":
                continue
            for cid in change.from_class_ids:
                kinds.setdefault(cid, []).append(change.kind)
        ids = sorted(kinds)
        links = await self.store.link_counts(principal.tenant, ontology_id, ids) if ids else {}
        usage = await self.store.usage_of(principal.tenant, ontology_id, ids) if ids else {}
        classes = [
            models.ClassImpact(
                class_id=cid,
                name=names.get(cid, cid),
                changes=kinds[cid],
                example_links=links.get(cid, 0),
                open_work_items=usage.get(cid, {}).get("open_work_items", 0),
                prelabels=usage.get(cid, {}).get("prelabels", 0),
            )
            for cid in ids
        ]
        return models.Impact(
            ontology_id=ontology_id,
            base_version=current.base_version,
            draft_revision=current.revision,
            classes=classes,
            totals={
                "classes": len(classes),
                "example_links": sum(c.example_links for c in classes),
                "open_work_items": sum(c.open_work_items for c in classes),
                "prelabels": sum(c.prelabels for c in classes),
            },
        )

    # import / export ------------------------------------------------------------

    async def import_into_draft(
        self,
        principal: Principal,
        ontology_id: str,
        if_match: str | None,
        raw: bytes,
        fmt: models.ImportFormat,
    ) -> models.ImportResult:
        def replace(draft: ontology.Draft) -> None:
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

        draft_model, _ = await self.edit_draft(principal, ontology_id, if_match, replace)
        before = await self._base_classes(principal, ontology_id, draft_model.base_version)
        return models.ImportResult(
            classes=len(draft_model.classes),
            draft_revision=draft_model.revision,
            changes=ontology.diff(before, draft_model.classes, []),
        )

    async def export(
        self, principal: Principal, ontology_id: str, number: int, fmt: models.ImportFormat
    ) -> dict[str, Any]:
        version = await self.version(principal, ontology_id, number)
        if fmt is models.ImportFormat.coco:
            return formats.classes_to_coco(version.classes)
        return formats.classes_to_custom(version.classes)

    # example links ----------------------------------------------------------------

    async def link_example(
        self,
        principal: Principal,
        ontology_id: str,
        number: int,
        class_id: str,
        body: models.ExampleIn,
        *,
        provenance: Provenance | None = None,
        link_id: str | None = None,
    ) -> tuple[models.Example, bool]:
        version = await self.version(principal, ontology_id, number)
        if not any(c.id == class_id for c in version.classes):
            raise Problem(
                404,
                "Not Found",
                f"no class {class_id} in version {number}",
                errors=[FieldError(field="path.class_id", message="no such class")],
            )
        now = now_ms()
        payload = ExampleLinkedV1(
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
            linked_at=now,
        )
        event = make_event(EXAMPLE_LINKED, payload, source=SOURCE, tenant=principal.tenant)
        doc = {
            "_id": payload.link_id,
            **payload.model_dump(mode="json", exclude={"link_id"}),
            "linked_at": now,
        }
        created = await self.store.insert_link(doc, [event])
        if not created:
            existing = await self.store.link(principal.tenant, payload.link_id)
            if existing is not None:
                doc = existing
        return self._example(doc, None), created

    @staticmethod
    def _example(doc: dict[str, Any], current: str | None) -> models.Example:
        return models.Example.model_validate(
            {**doc, "link_id": doc["_id"], "current_class_id": current}
        )

    async def examples(
        self, principal: Principal, ontology_id: str, number: int, class_id: str | None
    ) -> list[models.Example]:
        """Links as seen from version ``number``: each carried through the version mappings."""
        await self._require_ontology(principal, ontology_id)
        catalog = await self.catalog(principal, ontology_id)
        if catalog.get(number) is None:
            raise not_found(f"version {number} of ontology {ontology_id}")
        out = []
        for doc in await self.store.links_of(principal.tenant, ontology_id):
            try:
                moved = catalog.translate(doc["class_id"], doc["version"], number)
            except UnknownVersion:
                continue
            if moved.class_id is None or (class_id is not None and moved.class_id != class_id):
                continue
            out.append(self._example(doc, moved.class_id))
        return out

    async def unlink_example(self, principal: Principal, ontology_id: str, link_id: str) -> None:
        await self._require_ontology(principal, ontology_id)
        if not await self.store.delete_link(principal.tenant, ontology_id, link_id):
            raise not_found(f"example link {link_id}")

    # candidates -------------------------------------------------------------------

    async def candidates(
        self,
        principal: Principal,
        ontology_id: str,
        status: models.CandidateStatus | None,
        *,
        after: str | None,
        limit: int,
    ) -> list[models.Candidate]:
        await self._require_ontology(principal, ontology_id)
        docs = await self.store.candidates_of(
            principal.tenant,
            ontology_id,
            status.value if status else None,
            after=after,
            limit=limit,
        )
        return [models.Candidate.model_validate({**d, "candidate_id": d["_id"]}) for d in docs]

    async def _pending_candidate(
        self, principal: Principal, ontology_id: str, candidate_id: str
    ) -> dict[str, Any]:
        await self._require_ontology(principal, ontology_id)
        doc = await self.store.candidate(principal.tenant, ontology_id, candidate_id)
        if doc is None:
            raise not_found(f"candidate {candidate_id}")
        if doc["status"] != models.CandidateStatus.pending.value:
            raise Problem(409, "Conflict", f"candidate {candidate_id} was {doc['status']} already")
        return doc

    async def accept_candidate(
        self, principal: Principal, ontology_id: str, candidate_id: str, body: models.AcceptIn
    ) -> models.Candidate:
        doc = await self._pending_candidate(principal, ontology_id, candidate_id)
        class_id = body.class_id
        if class_id is None:
            if len(set(doc["class_ids"])) != 1:
                raise Problem(
                    422,
                    "Unprocessable Content",
                    "the judgment labels several classes (or none): name the class",
                    errors=[FieldError(field="body.class_id", message="required here")],
                )
            class_id = doc["class_ids"][0]
        example, _ = await self.link_example(
            principal,
            ontology_id,
            doc["version"],
            class_id,
            models.ExampleIn(
                item_id=doc["item_id"],
                region=body.region,
                segment=body.segment,
                polarity=body.polarity,
                note=body.note or doc["justification"][:2000] or None,
            ),
            provenance=Provenance(
                source="judgment", judgment_id=doc["judgment_id"], actor=principal.subject
            ),
            link_id=f"lnk_{candidate_id}",  # a retried accept makes the same link
        )
        return await self._decide(principal, candidate_id, "accepted", body.note, example.link_id)

    async def reject_candidate(
        self, principal: Principal, ontology_id: str, candidate_id: str, note: str
    ) -> models.Candidate:
        await self._pending_candidate(principal, ontology_id, candidate_id)
        return await self._decide(principal, candidate_id, "rejected", note, None)

    async def _decide(
        self,
        principal: Principal,
        candidate_id: str,
        status: str,
        note: str | None,
        link_id: str | None,
    ) -> models.Candidate:
        doc = await self.store.decide_candidate(
            principal.tenant,
            candidate_id,
            {
                "status": status,
                "decided_by": principal.subject,
                "decided_at": now_ms(),
                "decision_note": note,
                "link_id": link_id,
            },
        )
        if doc is None:
            raise Problem(409, "Conflict", f"candidate {candidate_id} was decided meanwhile")
        return models.Candidate.model_validate({**doc, "candidate_id": doc["_id"]})

    # consumed events ----------------------------------------------------------------

    async def on_judgment(self, event: Event[JudgmentSubmittedV1]) -> None:
        judgment = event.data
        await self.store.close_unit(judgment.item_id, judgment.tenant, judgment.unit_id)
        flags = sorted(CANDIDATE_FLAGS.intersection(judgment.flags))
        if not flags:
            return
        if judgment.taxonomy is None:
            log.warning("flagged judgment has no taxonomy version; no candidate made")
            return
        await self.store.add_candidate(
            {
                "_id": f"cand_{judgment.judgment_id}",
                "tenant": judgment.tenant,
                "ontology_id": judgment.taxonomy.ontology_id,
                "version": judgment.taxonomy.version,
                "item_id": judgment.item_id,
                "judgment_id": judgment.judgment_id,
                "expert_id": judgment.expert_id,
                "class_ids": sorted({label.class_id for label in judgment.labels}),
                "flags": sorted(set(judgment.flags)),
                "justification": judgment.justification,
                "status": models.CandidateStatus.pending.value,
                "created_at": judgment.submitted_at,
            }
        )

    async def on_media_registered(self, event: Event[MediaRegisteredV1]) -> None:
        item = event.data
        if item.taxonomy is None or item.prelabels is None:
            return
        counts: dict[str, int] = {}
        for label in item.prelabels.labels:
            counts[label.class_id] = counts.get(label.class_id, 0) + 1
        await self.store.record_prelabels(
            item.item_id,
            item.tenant,
            item.taxonomy.ontology_id,
            item.taxonomy.version,
            counts,
            item.registered_at,
        )

    async def on_work_created(self, event: Event[WorkUnitEventV1]) -> None:
        await self.store.open_unit(event.data.item_id, event.data.tenant, event.data.unit_id)

    async def on_item_resolved(self, event: Event[ItemResolvedV1]) -> None:
        await self.store.resolve_item(event.data.item_id, event.data.tenant)

    def consumers(self) -> dict[EventSpec[Any], Handler]:
        return {
            JUDGMENT_SUBMITTED: self.on_judgment,
            MEDIA_REGISTERED: self.on_media_registered,
            WORK_CREATED: self.on_work_created,
            ITEM_RESOLVED: self.on_item_resolved,
        }
