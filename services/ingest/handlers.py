"""Ingest's use cases, called by the HTTP routes (and, later, the Kafka entry point)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pymongo.errors import DuplicateKeyError

from services.ingest.events import MEDIA_REGISTERED, MediaRegisteredV1, MediaRegistration
from services.ingest.models import ItemStatus, MediaItem
from services.ingest.store import MediaStore
from shared.events import make_event
from shared.http import FieldError, Problem
from shared.logging import get_logger
from shared.mongo import to_document
from shared.runtime import Runtime

log = get_logger(__name__)
SOURCE = "/quorum/ingest"


@dataclass
class Registered:
    item: MediaItem
    created: bool


def _checksum(registration: MediaRegistration) -> str:
    if registration.media is not None:
        return registration.media.sha256
    return ",".join(sorted(f"{p.name}={p.media.sha256}" for p in registration.parts or ()))


def _shape_errors(registration: MediaRegistration) -> list[FieldError]:
    errors = []
    if registration.modality == "multimodal":
        if not registration.parts:
            errors.append(FieldError(field="parts", message="a multimodal item needs parts"))
        if registration.media is not None:
            errors.append(
                FieldError(field="media", message="a multimodal item has parts, not media")
            )
    else:
        if registration.media is None:
            errors.append(
                FieldError(field="media", message=f"a {registration.modality} item needs media")
            )
        elif registration.media.modality != registration.modality:
            errors.append(
                FieldError(
                    field="media.modality",
                    message=f"media is {registration.media.modality}, item is {registration.modality}",
                )
            )
        if registration.parts:
            errors.append(FieldError(field="parts", message="only multimodal items have parts"))
    return errors


def _item(doc: dict[str, Any]) -> MediaItem:
    return MediaItem.model_validate({**doc, "item_id": doc["_id"]})


class Ingest:
    def __init__(self, store: MediaStore, runtime: Runtime) -> None:
        self.store = store
        self.runtime = runtime

    async def register(
        self,
        tenant: str,
        registration: MediaRegistration,
        *,
        request_id: str | None,
        traceparent: str | None = None,
    ) -> Registered:
        errors = _shape_errors(registration)
        if errors:
            raise Problem(
                422, "Unprocessable Content", "the registration is inconsistent", errors=errors
            )
        checksum = _checksum(registration)
        existing = await self.store.by_external_id(tenant, registration.external_id)
        if existing is not None:
            return self._resend(existing, checksum)
        now = datetime.now(UTC)
        item_id = str(uuid.uuid4())
        payload = MediaRegisteredV1(
            item_id=item_id,
            tenant=tenant,
            request_id=request_id,
            registered_at=now,
            **registration.model_dump(exclude_none=True),
        )
        event = make_event(
            MEDIA_REGISTERED,
            payload,
            source=SOURCE,
            tenant=tenant,
            traceparent=traceparent,
        )
        doc = {
            "_id": item_id,
            **to_document(payload.model_dump(exclude={"item_id"})),
            "checksum": checksum,
            "status": ItemStatus.queued.value,
        }
        try:
            await self.store.insert(doc, [event])
        except DuplicateKeyError:
            # a concurrent registration of the same external id won the race
            existing = await self.store.by_external_id(tenant, registration.external_id)
            if existing is None:
                raise
            return self._resend(existing, checksum)
        self.runtime.wake_relay()
        log.info("media registered", item_id=item_id, external_id=registration.external_id)
        return Registered(item=_item(doc), created=True)

    def _resend(self, existing: dict[str, Any], checksum: str) -> Registered:
        if existing.get("checksum") != checksum:
            raise Problem(
                409,
                "Conflict",
                f"external id {existing['external_id']} is already registered with other content "
                "(checksum differs); use a new external id for new content",
                errors=[
                    FieldError(
                        field="external_id", message="already registered with another checksum"
                    )
                ],
            )
        return Registered(item=_item(existing), created=False)

    async def get(self, tenant: str, item_id: str) -> MediaItem | None:
        doc = await self.store.get(tenant, item_id)
        return _item(doc) if doc else None
