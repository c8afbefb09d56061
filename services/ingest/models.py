"""Ingest's domain and API models."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.contracts.media import (
    BundlePart,
    CaptureMetadata,
    MediaFile,
    MediaRegistration,
    PreLabels,
)
from shared.contracts.vocabulary import Label, Modality, Severity, TaxonomyRef
from shared.contracts.work import Resolution
from shared.errors import FieldError

MAX_BATCH = 1000


class ItemStatus(StrEnum):
    queued = "queued"
    in_review = "in_review"
    resolved = "resolved"


class ResolutionInfo(BaseModel):
    """How the final labels were decided, and from which judgments."""

    method: Resolution
    judgment_ids: list[str]
    agreement: float | None = None
    severity: Severity = Severity.none
    ratings: dict[str, float] = Field(default_factory=dict)
    resolved_at: datetime


class MediaItem(BaseModel):
    """A registered media item as clients see it."""

    item_id: str
    tenant: str
    external_id: str
    project_id: str
    modality: Modality
    media: MediaFile | None = None
    parts: list[BundlePart] | None = None
    capture: CaptureMetadata | None = None
    prelabels: PreLabels | None = None
    taxonomy: TaxonomyRef | None = None
    duplicate_of: str | None = Field(
        None, description="an earlier item of the project with exactly the same content"
    )
    status: ItemStatus
    registered_at: datetime
    review_started_at: datetime | None = None
    final_labels: list[Label] | None = None
    resolution: ResolutionInfo | None = None


class BatchIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    items: list[dict[str, Any]] = Field(
        min_length=1,
        max_length=MAX_BATCH,
        description="registrations (the body of POST /v1/media), each validated on its own",
    )


class RegistrationBatch(BaseModel):
    """A batch whose every item is a valid registration: read in one pass (the common case);
    any other body is read as :class:`BatchIn`, item by item."""

    model_config = ConfigDict(extra="forbid")
    items: list[MediaRegistration] = Field(min_length=1, max_length=MAX_BATCH)


class BatchResult(BaseModel):
    """One item's outcome; GET /v1/media/{item_id} has the whole item."""

    index: int
    outcome: Literal["created", "existing", "rejected", "conflict"]
    item_id: str | None = None
    duplicate_of: str | None = None
    errors: list[FieldError] | None = None


class BatchOut(BaseModel):
    created: int
    existing: int
    rejected: int
    results: list[BatchResult]
