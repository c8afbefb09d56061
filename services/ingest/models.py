"""Ingest's domain and API models."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel

from services.ingest.events import BundlePart, CaptureMetadata, MediaFile, PreLabels
from shared.vocabulary import Modality, TaxonomyRef


class ItemStatus(StrEnum):
    queued = "queued"
    in_review = "in_review"
    resolved = "resolved"


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
    duplicate_of: str | None = None
    status: ItemStatus
    registered_at: datetime
