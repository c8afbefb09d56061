"""Ingest's use cases. HTTP routes and the Kafka entry point call the same
:meth:`Ingest.register_many`, so both run the same validation and storage."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from pydantic import ValidationError

from services.ingest import validation
from services.ingest.models import BatchResult, ItemStatus, MediaItem
from services.ingest.store import MediaStore, content_key, item_id_for
from shared.clock import now_ms
from shared.contracts.media import (
    MEDIA_REGISTERED,
    MEDIA_REJECTED,
    REGISTRATION_REQUESTED,
    MediaRegisteredV1,
    MediaRegistration,
    MediaRejectedV1,
    RegistrationRequest,
    RejectionReason,
)
from shared.contracts.spec import EventSpec
from shared.contracts.taxonomy import VERSION_PUBLISHED, VersionPublishedV1
from shared.contracts.vocabulary import TaxonomyRef
from shared.contracts.work import (
    ITEM_RESOLVED,
    PROJECT_CHANGED,
    WORK_CREATED,
    WORK_LEASED,
    ItemResolvedV1,
    ProjectChangedV1,
    WorkUnitEventV1,
)
from shared.errors import FieldError
from shared.events.envelope import Event, make_event
from shared.events.trace import child_traceparent
from shared.http.problems import Problem, not_found
from shared.kafka.consumer import BatchHandler, Handler, PermanentError
from shared.logging import get_logger
from shared.outbox.entries import new_document
from shared.runtime import Runtime
from shared.taxonomy.cache import TaxonomyCache
from shared.taxonomy.coco import coco_categories

log = get_logger(__name__)
SOURCE = "/quorum/ingest"
#: How long registrations may use a project read before (a project closed through another
#: replica is refused at most this much later; through this one, at once).
PROJECT_CACHE_S = 1.0
PROJECT_CACHE_SIZE = 10_000

#: A consumed registration request: valid, or (leniently read) bad data to reject.
Request = MediaRegistration | RegistrationRequest
Outcome = Literal["created", "existing", "rejected", "conflict"]


@dataclass
class Registered:
    """One registration's outcome; the stored document is read as an item only when asked
    (a batch answers with ids, and validating a thousand items back is not free)."""

    outcome: Outcome
    doc: dict[str, Any] | None = None
    errors: list[FieldError] = field(default_factory=list)

    @property
    def created(self) -> bool:
        return self.outcome == "created"

    @property
    def item_id(self) -> str | None:
        return self.doc["_id"] if self.doc else None

    @property
    def duplicate_of(self) -> str | None:
        return self.doc.get("duplicate_of") if self.doc else None

    @property
    def item(self) -> MediaItem | None:
        return _item(self.doc) if self.doc else None


def _item(doc: dict[str, Any]) -> MediaItem:
    return MediaItem.model_validate({**doc, "item_id": doc["_id"]})


def _prefixed(errors: Sequence[FieldError], prefix: str) -> list[FieldError]:
    return [FieldError(field=f"{prefix}{e.field}", message=e.message) for e in errors]


def _field_errors(exc: ValidationError) -> list[FieldError]:
    """Each failing field of a pydantic error, as ``media.image.width``."""
    return [
        FieldError(field=".".join(str(p) for p in err["loc"]), message=err["msg"])
        for err in exc.errors()
    ]


def _registration_errors(request: RegistrationRequest) -> list[FieldError]:
    """Every reason a request's data is not a valid registration."""
    try:
        MediaRegistration.model_validate(request.model_dump())
    except ValidationError as exc:
        return _field_errors(exc)
    # decoded leniently only because it did not validate; should it now, say so plainly
    return [FieldError(field="", message="the registration could not be read")]


def _conflict(external_id: str) -> list[FieldError]:
    return [
        FieldError(
            field="external_id",
            message=f"external id {external_id} is already registered with other content "
            "(checksum differs); use a new external id for new content",
        )
    ]


def _per_item(value: str | Sequence[str | None] | None, count: int) -> Sequence[str | None]:
    if value is None or isinstance(value, str):
        return [value] * count
    if len(value) != count:
        raise ValueError(f"{len(value)} values for {count} registrations")
    return value


def request_hash(body: Any) -> str:
    raw = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(raw.encode()).hexdigest()


class Ingest:
    def __init__(self, store: MediaStore, taxonomy: TaxonomyCache, runtime: Runtime) -> None:
        self.store = store
        self.taxonomy = taxonomy
        self.runtime = runtime
        #: (tenant, project id) -> (monotonic expiry, project or None); see :meth:`_project`
        self._projects: dict[tuple[str, str], tuple[float, dict[str, Any] | None]] = {}

    # registration (HTTP and Kafka) ---------------------------------------------------

    async def register_many(
        self,
        tenant: str,
        registrations: Sequence[MediaRegistration],
        *,
        request_id: str | Sequence[str | None] | None,
        traceparent: str | Sequence[str | None] | None = None,
    ) -> list[Registered]:
        """Validate and store registrations, one outcome each, in their order.

        Re-sending a registration returns the stored item and publishes nothing;
        the same external id with other content is a conflict. ``request_id`` and
        ``traceparent`` are one for all (an HTTP request) or one per registration
        (events consumed together).
        """
        request_ids = _per_item(request_id, len(registrations))
        traceparents = _per_item(traceparent, len(registrations))
        results: list[Registered | None] = [None] * len(registrations)
        projects: dict[str, dict[str, Any] | None] = {}
        taxonomies: dict[str, VersionPublishedV1 | None] = {}
        valid: list[int] = []
        for index, registration in enumerate(registrations):
            project_id = registration.project_id
            if project_id not in projects:  # once per project of the call
                projects[project_id] = await self._project(tenant, project_id)
                taxonomies[project_id] = await self._taxonomy_of(tenant, projects[project_id])
            errors = validation.all_errors(
                registration, projects[project_id], taxonomies[project_id]
            )
            if errors:
                results[index] = Registered("rejected", errors=list(errors))
            else:
                valid.append(index)
        # No lookup first: the insert itself finds an external id registered before (its
        # item id is taken), and only those refused are read (most registrations are new).
        item_ids = {i: item_id_for(tenant, registrations[i].external_id) for i in valid}
        fresh: set[str] = set()  # external ids of this call
        repeats: list[int] = []  # later mentions of one of them in the same call
        to_store: list[int] = []
        for index in valid:
            registration = registrations[index]
            if registration.external_id in fresh:
                repeats.append(index)
            else:
                fresh.add(registration.external_id)
                to_store.append(index)
        refs: dict[str, TaxonomyRef | None] = {}
        for project_id, project in projects.items():
            ref = project.get("taxonomy") if project else None
            refs[project_id] = TaxonomyRef.model_validate(ref) if ref else None
        checksums = {i: validation.checksum(registrations[i]) for i in to_store}
        keys = {i: content_key(tenant, registrations[i].project_id, checksums[i]) for i in to_store}
        stored: dict[str, dict[str, Any]] = {}  # external id -> its item
        owners: dict[str, str] = {}  # content key -> the item that holds it first
        created = 0
        # each item is inserted with its media.registered event in the same write (outbox)
        for attempt in range(1, 4):
            # The first item of each content claims it (a unique key of the media
            # collection); items with content already claimed are stored as duplicates,
            # in a later round when the claim is made in this one.
            if attempt > 1:
                unknown = {keys[i] for i in to_store} - owners.keys()
                owners.update(await self.store.content_owners(unknown))
            wave: list[tuple[int, str | None]] = []  # (index, duplicate_of)
            claiming: set[str] = set()
            later: list[int] = []
            for index in to_store:
                owner = owners.get(keys[index])
                if owner is not None:
                    wave.append((index, owner))
                elif keys[index] in claiming:
                    later.append(index)
                else:
                    claiming.add(keys[index])
                    wave.append((index, None))
            docs, outgoing = [], []
            for index, duplicate_of in wave:
                doc, event = self._new_item(
                    tenant,
                    registrations[index],
                    refs[registrations[index].project_id],
                    checksums[index],
                    duplicate_of,
                    content=None if duplicate_of else keys[index],
                    item_id=item_ids[index],
                    request_id=request_ids[index],
                    traceparent=traceparents[index],
                )
                docs.append(doc)
                outgoing.append(new_document(doc, [event]))
            refused = await self.store.insert_many(outgoing)
            # refused: an item with the same id (the same external id, registered before
            # or concurrently) or with the same content (claimed before) is stored
            winners = await self.store.by_ids([docs[p]["_id"] for p in refused])
            for position, (index, _) in enumerate(wave):
                doc = docs[position]
                if position not in refused:
                    created += 1
                    results[index] = Registered("created", doc=doc)
                    stored[doc["external_id"]] = doc
                    if "content_key" in doc:
                        owners[doc["content_key"]] = doc["_id"]
                    continue
                if (winner := winners.get(doc["_id"])) is not None:
                    results[index] = self._resend(winner, doc["checksum"])
                    stored[doc["external_id"]] = winner
                else:
                    later.append(index)
            to_store = sorted(later)
            if not to_store:
                break
        if to_store:
            raise RuntimeError("registrations kept colliding with concurrent ones; retry")
        for index in repeats:
            registration = registrations[index]
            results[index] = self._resend(
                stored[registration.external_id], validation.checksum(registration)
            )
        if created:
            self.runtime.wake_relay()
            log.info("media registered", count=created)
        return [r for r in results if r is not None]

    async def _project(self, tenant: str, project_id: str) -> dict[str, Any] | None:
        """A project as registrations see it: read at most every ``PROJECT_CACHE_S`` (a
        change consumed here is seen at once; one consumed by another replica, within it)."""
        key = (tenant, project_id)
        now = time.monotonic()
        cached = self._projects.get(key)
        if cached is not None and cached[0] > now:
            return cached[1]
        project = await self.store.project(tenant, project_id)
        if len(self._projects) >= PROJECT_CACHE_SIZE:
            self._projects.clear()
        self._projects[key] = (now + PROJECT_CACHE_S, project)
        return project

    async def _taxonomy_of(
        self, tenant: str, project: dict[str, Any] | None
    ) -> VersionPublishedV1 | None:
        ref = project.get("taxonomy") if project else None
        if not ref:
            return None
        return await self.taxonomy.fetch(tenant, ref["ontology_id"], ref["version"])

    def _new_item(
        self,
        tenant: str,
        registration: MediaRegistration,
        taxonomy: TaxonomyRef | None,
        checksum: str,
        duplicate_of: str | None,
        *,
        content: str | None,
        item_id: str,
        request_id: str | None,
        traceparent: str | None,
    ) -> tuple[dict[str, Any], Event[MediaRegisteredV1]]:
        now = now_ms()
        # Every part was validated as the registration was read: assembled, not validated again.
        payload = MediaRegisteredV1.model_construct(
            item_id=item_id,
            tenant=tenant,
            external_id=registration.external_id,
            project_id=registration.project_id,
            modality=registration.modality,
            media=registration.media,
            parts=registration.parts,
            capture=registration.capture,
            prelabels=registration.prelabels,
            taxonomy=taxonomy,
            duplicate_of=duplicate_of,
            request_id=request_id,
            registered_at=now,
        )
        event = make_event(
            MEDIA_REGISTERED,
            payload,
            source=SOURCE,
            tenant=tenant,
            traceparent=traceparent,
            time=now,
        )
        doc = {
            "_id": item_id,
            # JSON mode is the cheap way to storable values; the one time queries range
            # over stays a real datetime
            **payload.model_dump(mode="json", exclude={"item_id"}, exclude_none=True),
            "registered_at": now,
            "checksum": checksum,
            "status": ItemStatus.queued.value,
        }
        if content is not None:
            doc["content_key"] = content  # the first item with this content claims it
        return doc, event

    @staticmethod
    def _resend(existing: dict[str, Any], checksum: str) -> Registered:
        if existing.get("checksum") != checksum:
            return Registered("conflict", errors=_conflict(existing["external_id"]))
        return Registered("existing", doc=existing)

    async def register(
        self,
        tenant: str,
        registration: MediaRegistration,
        *,
        request_id: str | None,
        traceparent: str | None = None,
    ) -> Registered:
        """One registration over HTTP: a refusal is a 422 (409 for a conflict) problem."""
        (result,) = await self.register_many(
            tenant, [registration], request_id=request_id, traceparent=traceparent
        )
        if result.outcome == "rejected":
            raise Problem(
                422,
                "Unprocessable Content",
                "the registration was refused: " + "; ".join(e.message for e in result.errors[:5]),
                errors=_prefixed(result.errors, "body."),
            )
        if result.outcome == "conflict":
            raise Problem(
                409, "Conflict", result.errors[0].message, errors=_prefixed(result.errors, "body.")
            )
        return result

    async def register_batch(
        self,
        tenant: str,
        bodies: Sequence[dict[str, Any] | MediaRegistration],
        *,
        request_id: str | None,
        traceparent: str | None,
    ) -> list[BatchResult]:
        """Up to 1,000 registrations, each validated on its own (or already validated);
        per-item outcomes."""
        parsed: list[MediaRegistration] = []
        positions: list[int] = []
        results: dict[int, BatchResult] = {}
        for index, body in enumerate(bodies):
            if isinstance(body, MediaRegistration):
                parsed.append(body)
                positions.append(index)
                continue
            try:
                parsed.append(MediaRegistration.model_validate(body))
                positions.append(index)
            except ValidationError as exc:
                results[index] = BatchResult(
                    index=index,
                    outcome="rejected",
                    errors=_prefixed(_field_errors(exc), f"body.items.{index}."),
                )
        outcomes = await self.register_many(
            tenant, parsed, request_id=request_id, traceparent=traceparent
        )
        for index, outcome in zip(positions, outcomes, strict=True):
            results[index] = BatchResult(
                index=index,
                outcome=outcome.outcome,
                item_id=outcome.item_id,
                duplicate_of=outcome.duplicate_of,
                errors=_prefixed(outcome.errors, f"body.items.{index}.") or None,
            )
        return [results[i] for i in range(len(bodies))]

    # reads ---------------------------------------------------------------------------

    async def get(self, tenant: str, item_id: str) -> MediaItem | None:
        doc = await self.store.get(tenant, item_id)
        return _item(doc) if doc else None

    async def by_external_id(self, tenant: str, external_id: str) -> MediaItem | None:
        doc = await self.store.by_external_id(tenant, external_id)
        return _item(doc) if doc else None

    async def list(
        self,
        tenant: str,
        filters: dict[str, Any],
        *,
        after: tuple[datetime, str] | None,
        limit: int,
    ) -> list[MediaItem]:
        docs = await self.store.list(tenant, filters, after=after, limit=limit)
        return [_item(d) for d in docs]

    async def resolved_items(self, tenant: str, project_id: str) -> AsyncIterator[MediaItem]:
        """Every resolved item of a project, oldest first, in pages (bounded memory)."""
        after: tuple[datetime, str] | None = None
        while True:
            docs = await self.store.list(
                tenant,
                {"project_id": project_id, "status": ItemStatus.resolved.value},
                after=after,
                limit=500,
                oldest_first=True,
            )
            for doc in docs:
                yield _item(doc)
            if len(docs) < 500:
                return
            after = (docs[-1]["registered_at"], docs[-1]["_id"])

    async def project(self, tenant: str, project_id: str) -> dict[str, Any] | None:
        return await self.store.project(tenant, project_id)

    async def export_coco(self, tenant: str, project_id: str) -> dict[str, Any]:
        """Resolved items of an image project as COCO annotations, categories from its taxonomy."""
        project = await self.store.project(tenant, project_id)
        if project is None:
            raise not_found(f"project {project_id}")
        if project["modality"] != "image":
            raise Problem(
                422,
                "Unprocessable Content",
                f"COCO export is for image projects; {project_id} is {project['modality']}: "
                "use format=jsonl",
                errors=[FieldError(field="query.format", message="coco needs an image project")],
            )
        taxonomy = await self._taxonomy_of(tenant, project)
        classes = taxonomy.classes if taxonomy else []
        items = [item async for item in self.resolved_items(tenant, project_id)]
        return coco_annotations(items, coco_categories(classes), {c.id: c.name for c in classes})

    # idempotency keys ------------------------------------------------------------------

    async def replay(self, tenant: str, key: str, digest: str) -> dict[str, Any] | None:
        """The stored outcome of an earlier request with this key; 422 if it was another body."""
        record = await self.store.idempotency_record(tenant, key)
        if record is None:
            return None
        if record["request_hash"] != digest:
            raise Problem(
                422,
                "Unprocessable Content",
                "this Idempotency-Key was used for a different request; use a new key",
                errors=[FieldError(field="header.idempotency-key", message="reused")],
            )
        return record

    async def remember(self, tenant: str, key: str, digest: str, outcome: dict[str, Any]) -> None:
        await self.store.remember_idempotency(
            tenant, key, {"request_hash": digest, "created_at": now_ms(), **outcome}
        )

    # consumed events ----------------------------------------------------------------------

    async def on_registration_requested(self, event: Event[Request]) -> None:
        """A client's CloudEvent on ``quorum.media.requests``: registered, or a rejection event."""
        if await self.on_registration_requests([event]):
            raise PermanentError(
                "registration request without a tenant: set the CloudEvents extension 'tenant'"
            )

    async def on_registration_requests(
        self, events: Sequence[Event[Request]]
    ) -> Sequence[Event[Request]]:
        """Many requests of one partition at once: one pass of reads and writes per tenant.

        Valid data arrives as a :class:`MediaRegistration` (validated as it was decoded);
        anything else as a :class:`RegistrationRequest`, answered with a rejection naming
        every bad field. Returns the events without a tenant: :meth:`on_registration_requested`
        dead-letters them one by one.
        """
        leftovers: list[Event[Request]] = []
        by_tenant: dict[str, list[tuple[Event[Request], MediaRegistration]]] = {}
        for event in events:
            tenant, data = event.tenant, event.data
            if not tenant:
                leftovers.append(event)
            elif isinstance(data, MediaRegistration):
                by_tenant.setdefault(tenant, []).append((event, data))
            else:
                await self._reject(event, tenant, _registration_errors(data))
        for tenant, pairs in by_tenant.items():
            results = await self.register_many(
                tenant,
                [registration for _, registration in pairs],
                request_id=[event.id for event, _ in pairs],
                traceparent=[child_traceparent(event.traceparent) for event, _ in pairs],
            )
            for (event, _), result in zip(pairs, results, strict=True):
                if result.outcome in ("rejected", "conflict"):
                    await self._reject(event, tenant, result.errors)
        return leftovers

    async def _reject(
        self, event: Event[Request], tenant: str, errors: Sequence[FieldError]
    ) -> None:
        now = now_ms()
        data = event.data
        project_id = (
            data.project_id
            if isinstance(data, MediaRegistration)
            else (data.model_extra or {}).get("project_id")
        )
        payload = MediaRejectedV1(
            external_id=data.external_id,
            tenant=tenant,
            project_id=project_id if isinstance(project_id, str) else None,
            request_id=event.id,
            reasons=[RejectionReason(field=f"data.{e.field}", message=e.message) for e in errors],
            rejected_at=now,
        )
        rejected = make_event(
            MEDIA_REJECTED,
            payload,
            source=SOURCE,
            tenant=tenant,
            traceparent=child_traceparent(event.traceparent),
        )
        doc = {"_id": f"rej_{event.id}", **payload.model_dump(mode="json")}
        doc["rejected_at"] = now
        if await self.store.reject(doc, [rejected]):
            self.runtime.wake_relay()
            log.info("registration rejected", external_id=payload.external_id, reasons=len(errors))

    async def on_project_changed(self, event: Event[ProjectChangedV1]) -> None:
        project = event.data
        await self.store.upsert_project(
            {
                "_id": project.project_id,
                "tenant": project.tenant,
                "name": project.name,
                "modality": project.modality.value,
                "taxonomy": project.taxonomy.model_dump() if project.taxonomy else None,
                "status": project.status.value,
                "revision": project.revision,
                "changed_at": project.changed_at,
            }
        )
        self._projects.pop((project.tenant, project.project_id), None)  # seen at once here

    async def on_review_started(self, event: Event[WorkUnitEventV1]) -> None:
        unit = event.data
        await self.store.advance_status(
            unit.item_id,
            unit.tenant,
            [ItemStatus.queued.value],
            {"status": ItemStatus.in_review.value, "review_started_at": unit.at},
        )

    async def on_item_resolved(self, event: Event[ItemResolvedV1]) -> None:
        resolved = event.data
        await self.store.advance_status(
            resolved.item_id,
            resolved.tenant,
            [ItemStatus.queued.value, ItemStatus.in_review.value],
            {
                "status": ItemStatus.resolved.value,
                "final_labels": [label.model_dump(mode="json") for label in resolved.final_labels],
                "resolution": {
                    "method": resolved.method.value,
                    "judgment_ids": resolved.judgment_ids,
                    "agreement": resolved.agreement,
                    "severity": resolved.severity.value,
                    "ratings": resolved.ratings,
                    "resolved_at": resolved.resolved_at,
                },
            },
        )

    def batch_consumers(self) -> dict[EventSpec[Any], BatchHandler]:
        return {REGISTRATION_REQUESTED: self.on_registration_requests}

    def consumers(self) -> dict[EventSpec[Any], Handler]:
        return {
            REGISTRATION_REQUESTED: self.on_registration_requested,
            PROJECT_CHANGED: self.on_project_changed,
            VERSION_PUBLISHED: self.taxonomy.apply,
            WORK_CREATED: self.on_review_started,
            WORK_LEASED: self.on_review_started,
            ITEM_RESOLVED: self.on_item_resolved,
        }


def _polygon_area(points: Sequence[tuple[float, float]]) -> float:
    area = 0.0
    for (x1, y1), (x2, y2) in zip(points, [*points[1:], points[0]], strict=True):
        area += x1 * y2 - x2 * y1
    return abs(area) / 2


def _rle_box(size: Sequence[int], counts: Sequence[int]) -> tuple[list[float], int]:
    """bbox and area of an uncompressed COCO RLE (column-major runs, zeros first)."""
    height = size[0]
    xs: list[int] = []
    ys: list[int] = []
    position, area = 0, 0
    for run, value in enumerate(counts):
        if run % 2 == 1 and value:
            area += value
            for pixel in (position, position + value - 1):
                xs.append(pixel // height)
                ys.append(pixel % height)
            if position // height != (position + value - 1) // height:
                ys.extend((0, height - 1))  # the run wraps into the next column: every row
        position += value
    if not xs:
        return [0.0, 0.0, 0.0, 0.0], 0
    return [
        float(min(xs)),
        float(min(ys)),
        float(max(xs) - min(xs) + 1),
        float(max(ys) - min(ys) + 1),
    ], area


def coco_annotations(
    items: Sequence[MediaItem], categories: Sequence[dict[str, Any]], class_names: dict[str, str]
) -> dict[str, Any]:
    """A COCO detection document of resolved image items and their final labels."""
    coco_id = {c["name"]: c["id"] for c in categories}
    images: list[dict[str, Any]] = []
    annotations: list[dict[str, Any]] = []
    skipped = 0
    for image_id, item in enumerate(items, start=1):
        media = item.media
        if media is None or media.modality != "image":
            continue
        images.append(
            {
                "id": image_id,
                "file_name": str(media.uri),
                "width": media.width,
                "height": media.height,
                "quorum_item_id": item.item_id,
                "external_id": item.external_id,
            }
        )
        for label in item.final_labels or ():
            geometry = label.geometry
            category = coco_id.get(class_names.get(label.class_id, ""))
            if geometry is None or category is None:
                skipped += 1
                continue
            annotation: dict[str, Any] = {
                "id": len(annotations) + 1,
                "image_id": image_id,
                "category_id": category,
                "iscrowd": 0,
            }
            if geometry.kind == "box":
                annotation["bbox"] = [geometry.x, geometry.y, geometry.width, geometry.height]
                annotation["area"] = geometry.width * geometry.height
            elif geometry.kind == "polygon":
                xs = [p[0] for p in geometry.points]
                ys = [p[1] for p in geometry.points]
                annotation["segmentation"] = [[v for point in geometry.points for v in point]]
                annotation["bbox"] = [min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys)]
                annotation["area"] = _polygon_area(geometry.points)
            else:
                annotation["segmentation"] = {
                    "size": list(geometry.size),
                    "counts": geometry.counts,
                }
                annotation["iscrowd"] = 1
                if isinstance(geometry.counts, list):
                    annotation["bbox"], annotation["area"] = _rle_box(
                        geometry.size, geometry.counts
                    )
            if label.attributes:
                annotation["attributes"] = label.attributes
            annotations.append(annotation)
    return {
        "info": {"description": "Quorum export of resolved items", "skipped_labels": skipped},
        "images": images,
        "annotations": annotations,
        "categories": list(categories),
    }
