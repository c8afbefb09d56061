"""Registering media: one pipeline behind ``POST /v1/media``, the batch route and the Kafka
registration requests, so all three run the same validation and storage."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import ValidationError

from services.ingest import partial, validation
from services.ingest.handlers.projects import Projects
from services.ingest.models import BatchResult, ItemStatus, MediaItem
from services.ingest.planning import Entry, RegistrationPlan, checksum, content_key, item_id_for
from services.ingest.store import MediaStore, NewItem
from shared.clock import Clock, now_ms
from shared.contracts.media import (
    MEDIA_REGISTERED,
    MEDIA_REJECTED,
    MediaRegisteredV1,
    MediaRegistration,
    MediaRejectedV1,
    RegistrationRequest,
    RejectionReason,
)
from shared.contracts.outcomes import (
    OUTCOME_REGISTERED,
    OUTCOME_REJECTED,
    ItemRegisteredOutcomeV1,
)
from shared.contracts.taxonomy import VersionPublishedV1
from shared.contracts.work import ProjectChangedV1
from shared.errors import FieldError
from shared.events.envelope import Event, make_event
from shared.events.trace import child_traceparent
from shared.http.problems import Problem
from shared.kafka.consumer import PermanentError
from shared.logging import get_logger
from shared.taxonomy.cache import TaxonomyCache

log = get_logger(__name__)
SOURCE = "/quorum/ingest"

#: A consumed registration request: valid, or (leniently read) bad data to reject.
Request = MediaRegistration | RegistrationRequest
#: What registrations of one call check against, per project: the project and its version.
Context = tuple[ProjectChangedV1 | None, VersionPublishedV1 | None]


@dataclass
class Registered:
    """One registration's outcome, with the stored item unless it was refused."""

    outcome: Literal["created", "existing", "rejected", "conflict"]
    item: MediaItem | None = None
    errors: list[FieldError] = field(default_factory=list)

    @property
    def created(self) -> bool:
        return self.outcome == "created"


def _prefixed(errors: Sequence[FieldError], prefix: str) -> list[FieldError]:
    """``errors`` under ``prefix`` (``body.``): one about the whole data is at ``body``."""
    return [
        FieldError(field=f"{prefix}{e.field}" if e.field else prefix.rstrip("."), message=e.message)
        for e in errors
    ]


#: Data decoded leniently only because it did not validate, but that validates now.
UNREADABLE = [FieldError(field="", message="the registration could not be read")]


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


class Registrations:
    def __init__(
        self,
        store: MediaStore,
        projects: Projects,
        taxonomy: TaxonomyCache,
        clock: Clock = now_ms,
    ) -> None:
        self.store = store
        self.projects = projects
        self.taxonomy = taxonomy
        self.clock = clock

    async def register_many(
        self,
        tenant: str,
        registrations: Sequence[MediaRegistration],
        *,
        request_id: str | Sequence[str | None] | None,
        traceparent: str | Sequence[str | None] | None = None,
    ) -> list[Registered]:
        """Validate and store registrations, one outcome each, in their order.

        Re-sending a registration returns the stored item and publishes nothing; the same
        external id with other content is a conflict. ``request_id`` and ``traceparent`` are
        one for all (an HTTP request) or one per registration (events consumed together).
        """
        request_ids = _per_item(request_id, len(registrations))
        traceparents = _per_item(traceparent, len(registrations))
        contexts = await self._contexts(tenant, [r.project_id for r in registrations])
        results: list[Registered | None] = [None] * len(registrations)
        valid: list[int] = []
        for index, registration in enumerate(registrations):
            errors = validation.all_errors(registration, *contexts[registration.project_id])
            if errors:
                results[index] = Registered("rejected", errors=list(errors))
            else:
                valid.append(index)
        entries = []
        for index in valid:
            registration = registrations[index]
            content = checksum(registration)
            entries.append(
                Entry(
                    external_id=registration.external_id,
                    item_id=item_id_for(tenant, registration.external_id),
                    content_key=content_key(tenant, registration.project_id, content),
                    checksum=content,
                )
            )
        plan = RegistrationPlan(entries)
        items: dict[str, MediaItem] = {}  # item id -> the stored item, made here or found
        while not plan.done:
            if unknown := plan.unknown_owners():
                plan.learn_owners(await self.store.content_owners(unknown))
            wave = plan.wave()
            new = [
                self._new_item(
                    tenant,
                    registrations[valid[placement.index]],
                    contexts[registrations[valid[placement.index]].project_id][0],
                    entries[placement.index],
                    placement.duplicate_of,
                    request_id=request_ids[valid[placement.index]],
                    traceparent=traceparents[valid[placement.index]],
                )
                for placement in wave
            ]
            refused = await self.store.insert_items(new)
            found = await self.store.items(tenant, refused) if refused else {}
            plan.settle(wave, refused, {i: checksum(item) for i, item in found.items()})
            items.update(found)
            items.update((n.item.item_id, n.item) for n in new if n.item.item_id not in refused)
        created = 0
        for position, index in enumerate(valid):
            outcome = plan.outcome(position)
            if outcome.kind == "conflict":
                errors = _conflict(registrations[index].external_id)
                results[index] = Registered("conflict", errors=errors)
            else:
                results[index] = Registered(outcome.kind, item=items[outcome.item_id])
                created += outcome.kind == "created"
        if created:
            log.info("media registered", count=created)
        return [r for r in results if r is not None]

    async def refusals(self, tenant: str, bodies: Sequence[Any]) -> list[list[FieldError]]:
        """Every error of each body that is not a valid registration, at once: its schema
        errors and the rule errors its readable rest shows (:mod:`services.ingest.partial`)."""
        readings = [partial.read(body) for body in bodies]
        contexts = await self._contexts(tenant, [r.project_id for r in readings if r.project_id])
        return [
            partial.every_error(reading, *contexts.get(reading.project_id or "", (None, None)))
            or UNREADABLE
            for reading in readings
        ]

    async def _contexts(self, tenant: str, project_ids: Sequence[str]) -> dict[str, Context]:
        """The project and taxonomy version of each project of the call, read once each."""
        contexts: dict[str, Context] = {}
        for project_id in project_ids:
            if project_id in contexts:
                continue
            project = await self.projects.current(tenant, project_id)
            ref = project.taxonomy if project else None
            version = (
                await self.taxonomy.fetch(tenant, ref.ontology_id, ref.version) if ref else None
            )
            contexts[project_id] = (project, version)
        return contexts

    def _new_item(
        self,
        tenant: str,
        registration: MediaRegistration,
        project: ProjectChangedV1 | None,
        entry: Entry,
        duplicate_of: str | None,
        *,
        request_id: str | None,
        traceparent: str | None,
    ) -> NewItem:
        now = self.clock()
        # Every part was validated as the registration was read: assembled, not validated again.
        payload = MediaRegisteredV1.model_construct(
            item_id=entry.item_id,
            tenant=tenant,
            external_id=registration.external_id,
            project_id=registration.project_id,
            modality=registration.modality,
            media=registration.media,
            parts=registration.parts,
            capture=registration.capture,
            prelabels=registration.prelabels,
            taxonomy=project.taxonomy if project else None,
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
        # its client's outcome: the same facts, without the media and pre-labels it sent
        outcome = make_event(
            OUTCOME_REGISTERED,
            ItemRegisteredOutcomeV1.model_construct(
                item_id=payload.item_id,
                tenant=tenant,
                external_id=payload.external_id,
                project_id=payload.project_id,
                modality=payload.modality,
                taxonomy=payload.taxonomy,
                duplicate_of=duplicate_of,
                request_id=request_id,
                registered_at=now,
            ),
            source=SOURCE,
            tenant=tenant,
            traceparent=event.traceparent,
            time=now,
        )
        item = MediaItem.model_construct(**dict(payload), status=ItemStatus.queued)
        return NewItem(item, [event, outcome], None if duplicate_of else entry.content_key)

    # HTTP ---------------------------------------------------------------------------------

    async def read_body(self, tenant: str, raw: bytes) -> MediaRegistration:
        """The body of ``POST /v1/media`` as a registration; else a 422 problem naming every
        error at once: the schema's, and the rules' that its readable rest shows."""
        try:
            return MediaRegistration.model_validate_json(raw)
        except ValidationError as exc:
            invalid = exc
        try:
            data = json.loads(raw)
        except ValueError:  # not JSON: the parser's error is all there is
            errors = partial.field_errors(invalid)
        else:
            (errors,) = await self.refusals(tenant, [data])
        problems = _prefixed(errors, "body.")
        raise Problem(
            422,
            "Unprocessable Content",
            "invalid request: " + ", ".join(e.field for e in problems[:10]),
            errors=problems,
        )

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
        per-item outcomes. An invalid item's errors are all named at once (:meth:`refusals`)."""
        parsed: list[MediaRegistration] = []
        positions: list[int] = []
        invalid: dict[int, dict[str, Any]] = {}
        results: dict[int, BatchResult] = {}
        for index, body in enumerate(bodies):
            if isinstance(body, MediaRegistration):
                parsed.append(body)
                positions.append(index)
                continue
            try:
                parsed.append(MediaRegistration.model_validate(body))
                positions.append(index)
            except ValidationError:
                invalid[index] = body
        refusals = await self.refusals(tenant, list(invalid.values()))
        for index, errors in zip(invalid, refusals, strict=True):
            results[index] = BatchResult(
                index=index, outcome="rejected", errors=_prefixed(errors, f"body.items.{index}.")
            )
        outcomes = await self.register_many(
            tenant, parsed, request_id=request_id, traceparent=traceparent
        )
        for index, outcome in zip(positions, outcomes, strict=True):
            results[index] = BatchResult(
                index=index,
                outcome=outcome.outcome,
                item_id=outcome.item.item_id if outcome.item else None,
                duplicate_of=outcome.item.duplicate_of if outcome.item else None,
                errors=_prefixed(outcome.errors, f"body.items.{index}.") or None,
            )
        return [results[i] for i in range(len(bodies))]

    # Kafka --------------------------------------------------------------------------------

    async def register_request(self, event: Event[Request]) -> None:
        """One client CloudEvent of its tenant's ``quorum.media.requests.<tenant>``: registered,
        or a rejection event."""
        if await self.register_requests([event]):
            raise PermanentError(
                "registration request without a tenant: publish it to the tenant's topic, "
                "quorum.media.requests.<tenant>"
            )

    async def register_requests(self, events: Sequence[Event[Request]]) -> Sequence[Event[Request]]:
        """Many requests of one partition at once: one pass of reads and writes per tenant.

        Valid data arrives as a :class:`MediaRegistration` (validated as it was decoded);
        anything else as a :class:`RegistrationRequest`, answered with a rejection naming
        every bad field and every rule its readable rest breaks. Returns the events without a
        tenant: :meth:`register_request` dead-letters them one by one.
        """
        untenanted: list[Event[Request]] = []
        by_tenant: dict[str, list[tuple[Event[Request], MediaRegistration]]] = {}
        unreadable: dict[str, list[Event[Request]]] = {}
        for event in events:
            tenant, data = event.tenant, event.data
            if not tenant:
                untenanted.append(event)
            elif isinstance(data, MediaRegistration):
                by_tenant.setdefault(tenant, []).append((event, data))
            else:
                unreadable.setdefault(tenant, []).append(event)
        for tenant, bad in unreadable.items():
            refusals = await self.refusals(tenant, [event.data.model_dump() for event in bad])
            for event, errors in zip(bad, refusals, strict=True):
                await self._reject(event, tenant, errors)
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
        return untenanted

    async def _reject(
        self, event: Event[Request], tenant: str, errors: Sequence[FieldError]
    ) -> None:
        data = event.data
        project_id = (
            data.project_id
            if isinstance(data, MediaRegistration)
            else (data.model_extra or {}).get("project_id")
        )
        rejection = MediaRejectedV1(
            external_id=data.external_id,
            tenant=tenant,
            project_id=project_id if isinstance(project_id, str) else None,
            request_id=event.id,
            reasons=RejectionReason.all_of([(f"data.{e.field}", e.message) for e in errors]),
            rejected_at=self.clock(),
        )
        traceparent = child_traceparent(event.traceparent)
        # on quorum.media, and on the tenant's outcome topic for its client
        rejected = [
            make_event(spec, rejection, source=SOURCE, tenant=tenant, traceparent=traceparent)
            for spec in (MEDIA_REJECTED, OUTCOME_REJECTED)
        ]
        if await self.store.reject(rejection, rejected):
            log.info("registration rejected", external_id=data.external_id, reasons=len(errors))
