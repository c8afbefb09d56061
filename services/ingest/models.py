"""Ingest's domain and API models."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.contracts.media import MediaRegisteredV1, MediaRegistration
from shared.contracts.vocabulary import Label, Modality, Severity
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


class MediaItem(MediaRegisteredV1):
    """A registered media item as clients see it: what ``media.registered`` carried, and
    how its review is going."""

    status: ItemStatus
    review_started_at: datetime | None = None
    final_labels: list[Label] | None = None
    resolution: ResolutionInfo | None = None


@dataclass(frozen=True)
class MediaQuery:
    """Which items of a tenant to list; ``None`` leaves a field unfiltered."""

    project_id: str | None = None
    modality: Modality | None = None
    status: ItemStatus | None = None
    registered_from: datetime | None = None  # inclusive
    registered_to: datetime | None = None  # exclusive


#: Where a page of items ends, to start the next one after it: (registered_at, item_id).
ListPosition = tuple[datetime, str]


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
