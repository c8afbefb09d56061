"""Items known to assignment."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel

from shared.contracts.vocabulary import Modality


class ReviewState(StrEnum):
    pending = "pending"
    in_review = "in_review"
    resolved = "resolved"


class ReviewItem(BaseModel):
    """A media item known to assignment, waiting for or under review."""

    item_id: str
    tenant: str
    project_id: str
    modality: Modality
    state: ReviewState
    registered_at: datetime
