"""Ingest's domain and API models."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.contracts.media import MediaRegisteredV1, MediaRegistration, MediaRejectedV1
from shared.contracts.outcomes import NotReviewedReason
from shared.contracts.vocabulary import Label, Modality, Severity, TaxonomyRef
from shared.contracts.work import Escalation, ItemResolvedV1, Resolution, RubricRef, Verdict
from shared.errors import FieldError

MAX_BATCH = 1000


class ItemStatus(StrEnum):
    queued = "queued"
    in_review = "in_review"
    #: its project closed before it was resolved (a resolution arriving later still wins)
    not_reviewed = "not_reviewed"
    resolved = "resolved"


class NotReviewedInfo(BaseModel):
    """Why an item will not be reviewed."""

    reason: NotReviewedReason
    message: str
    project_revision: int
    at: datetime


class ResolutionInfo(BaseModel):
    """How the item was settled: the verdict, flags, severity and ratings of its outcome,
    how (consensus, a single judgment, adjudication and why), how much the judges agreed,
    and from which judgments. Labels are the item's ``final_labels``. Names no expert."""

    method: Resolution
    verdict: Verdict | None = Field(
        None,
        description="accept: the pre-labels stand (they are the final labels); correct: the "
        "final labels are the corrected ones; reject / infeasible: no final labels",
    )
    flags: list[str] = Field(default_factory=list)
    flag_counts: dict[str, int] = Field(
        default_factory=dict, description="flag -> how many judges raised it"
    )
    severity: Severity = Severity.none
    ratings: dict[str, float] = Field(
        default_factory=dict, description="dimension -> median of the judges' points"
    )
    rating_spread: dict[str, float] = Field(
        default_factory=dict, description="dimension -> max - min of the judges' points"
    )
    agreement: float | None = None
    figures: dict[str, float] = Field(default_factory=dict, description="agreement per field")
    escalation: list[Escalation] = Field(
        default_factory=list, description="why the item went to adjudication"
    )
    rubric: RubricRef | None = None
    taxonomy: TaxonomyRef | None = None
    judgment_ids: list[str]
    revision: int = 1
    revision_reason: str | None = None
    resolved_at: datetime

    @classmethod
    def of(cls, resolved: ItemResolvedV1) -> ResolutionInfo:
        return cls(
            method=resolved.method,
            verdict=resolved.verdict,
            flags=resolved.flags,
            flag_counts=resolved.flag_counts,
            severity=resolved.severity,
            ratings=resolved.ratings,
            rating_spread=resolved.rating_spread,
            agreement=resolved.agreement,
            figures=resolved.figures,
            escalation=resolved.escalation,
            rubric=resolved.rubric_ref,
            taxonomy=resolved.taxonomy,
            judgment_ids=resolved.judgment_ids,
            revision=resolved.revision,
            revision_reason=resolved.revision_reason,
            resolved_at=resolved.resolved_at,
        )


class MediaItem(MediaRegisteredV1):
    """A registered media item as clients see it: what ``media.registered`` carried, and
    how its review is going."""

    status: ItemStatus
    review_started_at: datetime | None = None
    final_labels: list[Label] | None = None
    resolution: ResolutionInfo | None = None
    not_reviewed: NotReviewedInfo | None = None


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


class Rejections(BaseModel):
    """The refused registration requests of one external id (from its tenant's Kafka topic),
    newest first, each with every reason."""

    external_id: str
    rejections: list[MediaRejectedV1]
